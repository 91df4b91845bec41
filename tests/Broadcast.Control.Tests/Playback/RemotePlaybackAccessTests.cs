using Broadcast.Control.Channels;
using Broadcast.Control.Playback;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Playback;

/// <summary>
/// The origin-only node's private playback: the snapshot read from a real control node over HTTP, tokens minted there
/// verified here, failing closed before the first snapshot and keeping the last one through an outage or a bad answer.
/// </summary>
public sealed class RemotePlaybackAccessTests
{
    private const string AdminToken = "0123456789abcdef0123456789abcdef";
    private const string NodeToken = "fedcba9876543210fedcba9876543210";

    [Fact]
    public async Task Tokens_minted_on_the_control_node_verify_here_and_a_second_poll_keeps_the_snapshot()
    {
        await using var host = await ControlApiHost.StartAsync(AdminToken, new Dictionary<string, string?> { ["Playback:NodeToken"] = NodeToken });
        var channels = host.App.Services.GetRequiredService<ChannelService>();
        var playback = host.App.Services.GetRequiredService<PlaybackAccessService>();
        var members = (await channels.CreateAsync(new ChannelSpec("Members"))).Channel;
        var open = (await channels.CreateAsync(new ChannelSpec("Open"))).Channel;
        Assert.True(await playback.SetPrivateAsync(members.Id, true));
        var minted = await playback.MintAsync(members, TimeSpan.FromMinutes(5));

        var access = new RemotePlaybackAccess(TimeProvider.System);
        using var refresher = new RemotePlaybackRefresher(access, new RemotePlaybackSettings(host.BaseAddress, TimeSpan.FromSeconds(1), NodeToken),
            NullLogger<RemotePlaybackRefresher>.Instance);
        Assert.True(await refresher.PollAsync(CancellationToken.None));

        Assert.True(access.IsReady);
        Assert.True(access.IsPrivate(members.Slug));
        Assert.False(access.IsPrivate(open.Slug));
        Assert.True(access.IsAuthorized(members.Slug, minted.Token, out var expiresAt));
        Assert.Equal(minted.ExpiresAt.ToUnixTimeSeconds(), expiresAt.ToUnixTimeSeconds());
        Assert.False(access.IsAuthorized(open.Slug, minted.Token, out _));
        Assert.False(access.IsAuthorized(members.Slug, minted.Token[..^1] + (minted.Token[^1] == 'A' ? 'B' : 'A'), out _));
        Assert.Equal(playback.ScopeOf(members.Slug), access.ScopeOf(members.Slug));
        Assert.Null(access.ScopeOf(open.Slug));

        // Unchanged on the control node: 304, the same snapshot stays.
        var version = access.Version;
        Assert.True(await refresher.PollAsync(CancellationToken.None));
        Assert.Equal(version, access.Version);

        // Made public there: the next poll brings a new version and the stream is open here too.
        Assert.True(await playback.SetPrivateAsync(members.Id, false));
        await playback.RefreshAsync();
        Assert.True(await refresher.PollAsync(CancellationToken.None));
        Assert.NotEqual(version, access.Version);
        Assert.False(access.IsPrivate(members.Slug));
    }

    [Fact]
    public async Task A_wrong_node_token_or_an_unreachable_control_node_leaves_every_stream_refused()
    {
        await using var host = await ControlApiHost.StartAsync(AdminToken, new Dictionary<string, string?> { ["Playback:NodeToken"] = NodeToken });
        var access = new RemotePlaybackAccess(TimeProvider.System);
        using (var wrong = new RemotePlaybackRefresher(access, new RemotePlaybackSettings(host.BaseAddress, TimeSpan.FromSeconds(1), AdminToken),
                   NullLogger<RemotePlaybackRefresher>.Instance))
        {
            Assert.False(await wrong.PollAsync(CancellationToken.None));
        }

        Assert.False(access.IsReady);
        Assert.True(access.IsPrivate("anything"));
        Assert.False(access.IsAuthorized("anything", "k.1.x", out _));

        using var right = new RemotePlaybackRefresher(access, new RemotePlaybackSettings(host.BaseAddress, TimeSpan.FromSeconds(1), NodeToken),
            NullLogger<RemotePlaybackRefresher>.Instance);
        Assert.True(await right.PollAsync(CancellationToken.None));
        Assert.False(access.IsPrivate("anything"));

        // The control node goes away: the last snapshot stays in force.
        var version = access.Version;
        await host.App.StopAsync();
        Assert.False(await right.PollAsync(CancellationToken.None));
        Assert.True(access.IsReady);
        Assert.Equal(version, access.Version);
    }

    [Theory]
    [InlineData("no version", "", true, "m", "id-1")]
    [InlineData("no channel ids (an older control node)", "v2", false, "m", "id-1")]
    [InlineData("a channel without its id", "v2", true, "m", "")]
    [InlineData("a channel without its slug", "v2", true, "", "id-1")]
    public void A_malformed_snapshot_is_refused_and_the_last_one_stays(string name, string version, bool withChannels, string slug, string id)
    {
        _ = name;
        var access = new RemotePlaybackAccess(TimeProvider.System);
        access.Apply(Snapshot("v1", new PlaybackNodeChannel("members", "id-1")));
        var bad = new PlaybackNodeSnapshot(version, [slug], new PlaybackNodeKey("k1", Secret), null)
        {
            Channels = withChannels ? [new PlaybackNodeChannel(slug, id)] : null,
        };
        Assert.Throws<FormatException>(() => access.Apply(bad));
        Assert.Equal("v1", access.Version);
        Assert.True(access.IsPrivate("members"));
    }

    [Fact]
    public void A_stream_leaving_the_snapshot_or_taken_by_another_channel_is_withdrawn_before_and_after_the_swap()
    {
        var access = new RemotePlaybackAccess(TimeProvider.System);
        var withdrawn = new List<(string Slug, bool PrivateThen)>();
        access.Withdrawn += slug => withdrawn.Add((slug, access.IsPrivate(slug)));
        access.Apply(Snapshot("v1", new PlaybackNodeChannel("members", "id-1"), new PlaybackNodeChannel("staff", "id-2"), new PlaybackNodeChannel("vip", "id-4")));
        Assert.Empty(withdrawn);

        access.Apply(Snapshot("v2", new PlaybackNodeChannel("staff", "id-3"), new PlaybackNodeChannel("vip", "id-4")));
        // Before the swap the stream still needs a token; after it, "members" is public and "staff" is the new channel's.
        Assert.Equal([("members", true), ("staff", true), ("members", false), ("staff", true)], withdrawn);
    }

    [Theory]
    [InlineData(null, NodeToken, null, "Playback:ControlUrl")]
    [InlineData("ftp://control/", NodeToken, null, "Playback:ControlUrl")]
    [InlineData("http://control:8080/", null, null, "Playback:NodeToken")]
    [InlineData("http://control:8080/", "short", null, "Playback:NodeToken")]
    [InlineData("http://control:8080/", NodeToken, AdminToken, "Admin:Token")]
    public void Settings_name_what_is_missing_or_must_go(string? url, string? token, string? admin, string named)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Playback:ControlUrl"] = url,
            ["Playback:NodeToken"] = token,
            ["Admin:Token"] = admin,
        }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => RemotePlaybackSettings.From(configuration));
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, 5)]
    [InlineData("30", 30)]
    [InlineData("0", 5)]
    [InlineData("301", 5)]
    [InlineData("ten", 5)]
    public void The_refresh_interval_defaults_to_five_seconds_outside_1_to_300(string? seconds, int expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Playback:ControlUrl"] = "http://control:8080/",
            ["Playback:NodeToken"] = " " + NodeToken + " ",
            ["Playback:RefreshSeconds"] = seconds,
        }).Build();
        var settings = RemotePlaybackSettings.From(configuration);
        Assert.Equal(TimeSpan.FromSeconds(expected), settings.Interval);
        Assert.Equal(NodeToken, settings.NodeToken);
        Assert.DoesNotContain(NodeToken, settings.ToString(), StringComparison.Ordinal);
    }

    private static readonly string Secret = new('A', 43);

    private static PlaybackNodeSnapshot Snapshot(string version, params PlaybackNodeChannel[] channels)
        => new(version, [.. channels.Select(c => c.Slug)], new PlaybackNodeKey("k1", Secret), null) { Channels = channels };
}
