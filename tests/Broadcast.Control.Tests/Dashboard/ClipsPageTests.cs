using System.Security.Cryptography;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Clips;
using Broadcast.Control.Dashboard.Pages;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security;
using Broadcast.Control.Tests.Clips;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// The dashboard's clip forms: the channel page's mark in and out (program date-times from its preview) and the clips
/// page's "the last seconds", rename and delete, over a SQLite store with the media store stood in for.
/// </summary>
public sealed class ClipsPageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly FakeClipMedia _media = new();
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private ClipService _clips = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        _clips = new ClipService(new SqlClipRepository(_database), _media, _channels, new SqlRecordingRepository(_database),
            new ControlSettings { ClipMaxLength = TimeSpan.FromSeconds(60) }, TimeProvider.System, NullLogger<ClipService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private ClipsModel Page()
    {
        var page = new ClipsModel(_channels, _clips, new PublicUrls(new ControlSettings { PublicHttpBaseUrl = "https://watch.example.com/" }));
        page.PageContext = new Microsoft.AspNetCore.Mvc.RazorPages.PageContext { HttpContext = new DefaultHttpContext() };
        return page;
    }

    [Fact]
    public async Task Marked_in_and_out_on_the_channel_page_the_clip_is_cut_and_the_channel_page_says_so()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Match"))).Channel.Id;
        var page = Page();
        var result = await page.OnPostCreateAsync(id, lastSeconds: null, "2026-11-21T05:45:17.250Z", "2026-11-21T05:45:23.000Z", "The goal",
            back: "channel", CancellationToken.None);

        Assert.Equal($"/dashboard/channels/{id}", Assert.IsType<RedirectResult>(result).Url);
        var asked = Assert.Single(_media.Written);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 5, 45, 17, 250, TimeSpan.Zero), asked.From.At);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 5, 45, 23, TimeSpan.Zero), asked.To.At);
        var clip = Assert.Single((await _clips.ListAsync(id))!);
        Assert.Equal("The goal", clip.Title);
        Assert.Contains("The goal", page.Flash, StringComparison.Ordinal);
        Assert.Contains("0:08", page.Flash, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_last_seconds_are_cut_up_to_the_live_edge()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Match"))).Channel.Id;
        var result = await Page().OnPostCreateAsync(id, lastSeconds: 30, null, null, null, back: null, CancellationToken.None);

        Assert.Equal($"/dashboard/channels/{id}/clips", Assert.IsType<RedirectResult>(result).Url);
        var asked = Assert.Single(_media.Written);
        Assert.Equal((-30d, 0d), (asked.From.SecondsFromEnd, asked.To.SecondsFromEnd));
        Assert.Equal("Clip", Assert.Single((await _clips.ListAsync(id))!).Title);
    }

    [Fact]
    public async Task What_cannot_be_cut_is_said_and_nothing_is_made()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Match"))).Channel.Id;

        // No marks (the preview was not playing) or only one.
        var page = Page();
        await page.OnPostCreateAsync(id, null, "2026-11-21T05:45:17Z", null, null, "channel", CancellationToken.None);
        Assert.Contains("mark in and mark out", page.Flash, StringComparison.Ordinal);

        // Reversed, and longer than Clips:MaxSeconds: the service's own reasons.
        page = Page();
        await page.OnPostCreateAsync(id, null, "2026-11-21T05:45:23Z", "2026-11-21T05:45:17Z", null, "channel", CancellationToken.None);
        Assert.StartsWith("No clip was made:", page.Flash, StringComparison.Ordinal);
        page = Page();
        await page.OnPostCreateAsync(id, null, "2026-11-21T05:40:00Z", "2026-11-21T05:45:17Z", null, "channel", CancellationToken.None);
        Assert.StartsWith("No clip was made:", page.Flash, StringComparison.Ordinal);

        // Nothing of the range stored.
        _media.Refusal = new ClipRangeException("from", "Nothing of the range is stored: the broadcast's oldest segment is later.", conflict: true);
        page = Page();
        await page.OnPostCreateAsync(id, 30, null, null, null, null, CancellationToken.None);
        Assert.Contains("Nothing of the range is stored", page.Flash, StringComparison.Ordinal);

        page = Page();
        await page.OnPostCreateAsync(id, 0, null, null, null, null, CancellationToken.None);
        Assert.Contains("above 0", page.Flash, StringComparison.Ordinal);

        Assert.Empty((await _clips.ListAsync(id))!);
        Assert.Empty(_media.Written);
        Assert.IsType<NotFoundResult>(await Page().OnPostCreateAsync("missing", 30, null, null, null, null, CancellationToken.None));
    }

    [Fact]
    public async Task The_clips_page_lists_renames_and_deletes_with_a_share_link()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Match"))).Channel.Id;
        await Page().OnPostCreateAsync(id, 30, null, null, "Kick-off", null, CancellationToken.None);

        var page = Page();
        Assert.IsType<Microsoft.AspNetCore.Mvc.RazorPages.PageResult>(await page.OnGetAsync(id, CancellationToken.None));
        var clip = Assert.Single(page.Clips);
        Assert.Equal($"https://watch.example.com/watch/{page.Channel.Slug}?clip={clip.Id}", page.WatchUrl(clip));
        Assert.Equal("0:08", ClipsModel.Length(clip));
        Assert.Null(page.DownloadPath(clip));
        Assert.True(await new SqlClipRepository(_database).SetDownloadAsync(clip.Id, 4_200_000));
        page = Page();
        await page.OnGetAsync(id, CancellationToken.None);
        Assert.Equal($"/api/channels/{id}/clips/{clip.Id}/download", page.DownloadPath(Assert.Single(page.Clips)));

        page = Page();
        await page.OnPostRenameAsync(id, clip.Id, "First minute", CancellationToken.None);
        Assert.Equal("First minute", (await _clips.GetAsync(id, clip.Id))!.Title);
        page = Page();
        await page.OnPostRenameAsync(id, clip.Id, "   ", CancellationToken.None);
        Assert.Contains("not renamed", page.Flash, StringComparison.Ordinal);
        Assert.Equal("First minute", (await _clips.GetAsync(id, clip.Id))!.Title);

        Assert.IsType<RedirectResult>(await Page().OnPostDeleteAsync(id, clip.Id, CancellationToken.None));
        Assert.Empty((await _clips.ListAsync(id))!);
        Assert.Equal([((await _channels.GetAsync(id))!.Slug, clip.Id, true)], _media.Deleted);
        Assert.IsType<NotFoundResult>(await Page().OnPostDeleteAsync(id, clip.Id, CancellationToken.None));
        Assert.IsType<NotFoundResult>(await Page().OnGetAsync("missing", CancellationToken.None));
    }
}
