using System.Net;
using System.Text.Json;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.OriginOnlyPrivatePlaybackTests;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Analytics;

/// <summary>
/// The audience kept per broadcast with two origins (#70): a control node (all roles, the database) and an origin-only node
/// (no database) serve one store behind an edge. Viewer A plays through both in one bucket, B through the control node, C
/// through the origin-only node: the control node writes its own sample, the origin-only node hands its bucket over with
/// the playback node token, and the report says three concurrent viewers and three unique ones, never two or four, all
/// three on the rung they fetched.
/// </summary>
public sealed class OriginOnlyAudienceTests
{
    private const string Slug = "two-origins";
    private const string BroadcastId = "20261130T060000Z";

    [Fact]
    public async Task A_viewer_of_both_nodes_in_one_bucket_counts_once_and_the_origin_only_nodes_viewers_count()
    {
        using var media = new TempDirectory("audience-store");
        string storage = $"--Storage:Path={media.Path}";
        await using var control = await InProcessServer.StartAsync(storage);
        string channelId = await CreateChannelAsync(control, "Two Origins", privatePlayback: false);
        await using var origin = await InProcessServer.StartAsync("--Roles=origin", $"--Playback:ControlUrl={control.BaseAddress}",
            "--Playback:RefreshSeconds=1", "--Admin:Token=", storage);
        await StoreObjectsAsync(control, Slug);
        // The broadcast the live state names: neither node packages it here, so both read its id from the store.
        var now = DateTimeOffset.UtcNow;
        var state = new LiveBroadcastState(LiveBroadcastState.CurrentVersion, BroadcastId, now, Ended: false, new BroadcastOrigin(now, 0, 0, 0),
            [new RenditionState("720p", Video: true, Timescale: 90_000, LastInitVersion: 1, DiscontinuitiesBefore: 0, Segments: [])]);
        await control.Services.GetRequiredService<ISegmentStore>().PutAsync(StoreKeys.LiveState(Slug), state.ToJson(), "application/json",
            "no-store", CancellationToken.None);
        await WaitReadyAsync(origin);

        // All six requests inside one 10 s bucket: start early in one.
        await WaitFor.ConditionAsync(() => Task.FromResult(DateTimeOffset.UtcNow.ToUnixTimeSeconds() % 10 is >= 1 and <= 4),
            TimeSpan.FromSeconds(30), "the start of a bucket");
        long bucket = DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10;
        await PlayAsync(control, "viewer-a");
        await PlayAsync(origin, "viewer-a");
        await PlayAsync(control, "viewer-b");
        await PlayAsync(origin, "viewer-c");
        Assert.Equal(bucket, DateTimeOffset.UtcNow.ToUnixTimeSeconds() / 10 * 10);

        // Each node's bucket reaches the database a second after it ends: the control node's own, the origin's over HTTP.
        JsonElement report = default;
        await WaitFor.ConditionAsync(async () =>
        {
            using var request = control.Authorized(HttpMethod.Get, $"/api/channels/{channelId}/broadcasts/{BroadcastId}/audience");
            using var response = await control.Http.SendAsync(request);
            if (response.StatusCode != HttpStatusCode.OK) return false;
            report = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            return report.GetProperty("uniqueViewers").GetInt64() >= 3;
        }, TimeSpan.FromSeconds(60), "both nodes' viewers of the bucket in the report");

        var point = Assert.Single(report.GetProperty("series").EnumerateArray());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(bucket), point.GetProperty("t").GetDateTimeOffset());
        Assert.Equal(3, point.GetProperty("viewers").GetInt64());
        Assert.Equal(3, point.GetProperty("hls").GetInt64());
        Assert.Equal(3, report.GetProperty("peakViewers").GetInt64());
        Assert.Equal(3, report.GetProperty("uniqueViewers").GetInt64());
        // Every viewer asked for 720p's playlist: its rung, carried from the origin-only node through its post, once each.
        Assert.Equal(3, point.GetProperty("rungs").GetProperty("720p").GetInt64());
        Assert.Equal(3, report.GetProperty("byRung").GetProperty("720p").GetProperty("peakViewers").GetInt64());
    }

    /// <summary>A player with CMCD session id <paramref name="session"/> reloading a media playlist (what counts a viewer).</summary>
    private static async Task PlayAsync(InProcessServer server, string session)
    {
        string cmcd = Uri.EscapeDataString($"sid=\"{session}\"");
        using var response = await server.Http.GetAsync($"/live/{Slug}/720p/index.m3u8?CMCD={cmcd}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
