using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Pages;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>The channel page's "Rewind window", "Audio track languages" and "Protection" (with its key rotation) forms: their handlers over a SQLite store, and how the page words them.</summary>
public sealed class ChannelRewindPageTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    // The rewind handler uses the channel service alone; the page's other collaborators serve GET and other handlers.
    private ChannelModel Page() => new(_channels, null!, null!, null!, null!, TimeProvider.System, null!);

    [Fact]
    public async Task Minutes_are_stored_as_seconds_and_empty_returns_to_the_server_default()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Marathon"))).Channel.Id;

        var page = Page();
        var result = await page.OnPostRewindAsync(id, 30, CancellationToken.None);
        Assert.Equal($"/dashboard/channels/{id}", Assert.IsType<RedirectResult>(result).Url);
        Assert.Equal(1800, (await _channels.GetAsync(id))!.RewindSeconds);
        Assert.Contains("30 min", page.Flash, StringComparison.Ordinal);

        page = Page();
        await page.OnPostRewindAsync(id, 0, CancellationToken.None);
        Assert.Equal(0, (await _channels.GetAsync(id))!.RewindSeconds);
        Assert.Contains("live window only", page.Flash, StringComparison.Ordinal);

        await Page().OnPostRewindAsync(id, ChannelModel.RewindMinutesMax, CancellationToken.None);
        Assert.Equal(86_400, (await _channels.GetAsync(id))!.RewindSeconds);

        page = Page();
        await page.OnPostRewindAsync(id, null, CancellationToken.None);
        Assert.Null((await _channels.GetAsync(id))!.RewindSeconds);
        Assert.Contains("server default", page.Flash, StringComparison.Ordinal);

        Assert.IsType<NotFoundResult>(await Page().OnPostRewindAsync("missing", 5, CancellationToken.None));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1441)]
    [InlineData(int.MaxValue)]
    public async Task Minutes_out_of_range_are_refused_on_the_page_and_change_nothing(int minutes)
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Marathon", RewindSeconds: 600))).Channel.Id;
        var page = Page();
        Assert.IsType<RedirectResult>(await page.OnPostRewindAsync(id, minutes, CancellationToken.None));
        Assert.Contains("not changed", page.Flash, StringComparison.Ordinal);
        Assert.Equal(600, (await _channels.GetAsync(id))!.RewindSeconds);
    }

    [Fact]
    public async Task A_value_that_is_not_a_number_is_refused_not_taken_for_empty()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Marathon", RewindSeconds: 600))).Channel.Id;
        var page = Page();
        // What model binding leaves for "minutes=abc": no value, and an error.
        page.ModelState.AddModelError("minutes", "The value 'abc' is not valid for minutes.");
        await page.OnPostRewindAsync(id, null, CancellationToken.None);
        Assert.Contains("not changed", page.Flash, StringComparison.Ordinal);
        Assert.Equal(600, (await _channels.GetAsync(id))!.RewindSeconds);
    }

    [Theory]
    [InlineData(null, "server default", "")]
    [InlineData(0, "live window only", "0")]
    [InlineData(1800, "30 min", "30")]
    [InlineData(86_400, "1440 min", "1440")]
    [InlineData(90, "1 min 30 s", "2")]
    [InlineData(20, "20 s", "1")]
    public void The_page_words_the_window_and_fills_the_input_in_minutes(int? seconds, string label, string input)
    {
        Assert.Equal(label, ChannelModel.RewindLabel(seconds));
        Assert.Equal(input, ChannelModel.RewindInput(seconds));
    }

    [Fact]
    public async Task Audio_track_languages_are_read_from_the_form_stored_and_shown_back()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("World Feed"))).Channel.Id;
        var page = Page();
        Assert.IsType<RedirectResult>(await page.OnPostAudioTracksAsync(id, " en , - ,fr / audioDescription", CancellationToken.None));
        var named = (await _channels.GetAsync(id))!.AudioTracks;
        Assert.Equal("eng, -, fra/audioDescription", ChannelModel.AudioTracksInput(named));
        Assert.Contains("eng, -, fra/audioDescription", page.Flash, StringComparison.Ordinal);

        page = Page();
        await page.OnPostAudioTracksAsync(id, "en, klingon", CancellationToken.None);
        Assert.Contains("not changed", page.Flash, StringComparison.Ordinal);
        Assert.Contains("Track 2", page.Flash, StringComparison.Ordinal);
        Assert.Equal("eng, -, fra/audioDescription", ChannelModel.AudioTracksInput((await _channels.GetAsync(id))!.AudioTracks));

        page = Page();
        await page.OnPostAudioTracksAsync(id, "  ", CancellationToken.None);
        Assert.Empty((await _channels.GetAsync(id))!.AudioTracks!);
        Assert.Contains("none", page.Flash, StringComparison.Ordinal);
        Assert.IsType<NotFoundResult>(await Page().OnPostAudioTracksAsync("missing", "en", CancellationToken.None));
    }

    /// <summary>The "Protection" form: each of the four words is stored through the channel service (the API's door); any other changes nothing.</summary>
    [Fact]
    public async Task Protection_is_set_from_the_page_and_an_unknown_word_changes_nothing()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Paid final"))).Channel.Id;
        foreach (var (word, stored) in new[] { ("cbcs", ChannelProtection.Cbcs), ("cenc", ChannelProtection.Cenc), ("aes-128", ChannelProtection.Aes128),
                     ("none", ChannelProtection.None) })
        {
            var page = Page();
            Assert.Equal($"/dashboard/channels/{id}", Assert.IsType<RedirectResult>(await page.OnPostProtectionAsync(id, word, 0, CancellationToken.None)).Url);
            Assert.Equal(stored, (await _channels.GetAsync(id))!.Protection);
            Assert.Contains(stored == ChannelProtection.None ? "Protection off" : $"Protection {word}", page.Flash, StringComparison.Ordinal);
        }

        await Page().OnPostProtectionAsync(id, "cbcs", 0, CancellationToken.None);
        foreach (var bad in new[] { null, "", "CBCS", "aes-256", "AES-128", "cbcs " })
        {
            var page = Page();
            Assert.IsType<RedirectResult>(await page.OnPostProtectionAsync(id, bad, 0, CancellationToken.None));
            Assert.Contains("not changed", page.Flash, StringComparison.Ordinal);
            Assert.Equal(ChannelProtection.Cbcs, (await _channels.GetAsync(id))!.Protection);
        }

        Assert.IsType<NotFoundResult>(await Page().OnPostProtectionAsync("missing", "cenc", 0, CancellationToken.None));
    }

    /// <summary>The "Protection" form's key rotation: saved with the scheme (kept with none), worded in the flash; a rotation that
    /// is missing or not a whole number (the binder's null) or outside 0..1000 changes neither.</summary>
    [Fact]
    public async Task Key_rotation_is_saved_with_the_protection_and_a_bad_one_changes_nothing()
    {
        var id = (await _channels.CreateAsync(new ChannelSpec("Paid final"))).Channel.Id;
        var page = Page();
        Assert.IsType<RedirectResult>(await page.OnPostProtectionAsync(id, "cbcs", 10, CancellationToken.None));
        Assert.Equal((ChannelProtection.Cbcs, 10), Stored(await _channels.GetAsync(id)));
        Assert.Contains("Key rotation: a new key every 10 segments, announced ahead of use.", page.Flash, StringComparison.Ordinal);

        page = Page();
        await page.OnPostProtectionAsync(id, "none", 1000, CancellationToken.None);
        Assert.Equal((ChannelProtection.None, 1000), Stored(await _channels.GetAsync(id)));
        Assert.Contains("(once the channel is protected)", page.Flash, StringComparison.Ordinal);

        page = Page();
        await page.OnPostProtectionAsync(id, "aes-128", 0, CancellationToken.None);
        Assert.Equal((ChannelProtection.Aes128, 0), Stored(await _channels.GetAsync(id)));
        Assert.Contains("Key rotation: one key per broadcast.", page.Flash, StringComparison.Ordinal);

        await Page().OnPostProtectionAsync(id, "cenc", 5, CancellationToken.None);
        foreach (var bad in new int?[] { null, -1, 1001, int.MaxValue })
        {
            page = Page();
            Assert.Equal($"/dashboard/channels/{id}", Assert.IsType<RedirectResult>(await page.OnPostProtectionAsync(id, "cbcs", bad, CancellationToken.None)).Url);
            Assert.Equal("Protection was not changed: key rotation is a whole number of segments from 0 (one key per broadcast) to 1000.", page.Flash);
            Assert.Equal((ChannelProtection.Cenc, 5), Stored(await _channels.GetAsync(id)));
        }

        Assert.IsType<NotFoundResult>(await Page().OnPostProtectionAsync("missing", "cenc", 5, CancellationToken.None));

        static (ChannelProtection, int) Stored(Channel? channel) => (channel!.Protection, channel.KeyRotationSegments);
    }

    /// <summary>The Protection card's rotation line, derived from the setting.</summary>
    [Theory]
    [InlineData(ChannelProtection.Cbcs, 0, "one key per broadcast")]
    [InlineData(ChannelProtection.None, 0, "one key per broadcast")]
    [InlineData(ChannelProtection.Cenc, 1, "a new key every segment, announced ahead of use")]
    [InlineData(ChannelProtection.Cbcs, 10, "a new key every 10 segments, announced ahead of use")]
    [InlineData(ChannelProtection.Aes128, 1000, "a new key every 1000 segments, announced ahead of use")]
    [InlineData(ChannelProtection.None, 10, "a new key every 10 segments, announced ahead of use (once the channel is protected)")]
    public void The_rotation_line_says_what_the_channel_is_set_to(ChannelProtection protection, int segments, string words)
        => Assert.Equal(words, ChannelProtectionFacts.Rotation(protection, segments));
}
