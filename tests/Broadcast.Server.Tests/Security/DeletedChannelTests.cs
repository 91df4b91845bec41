using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// Deleting a channel through the real application: its live and recorded objects leave the store (so a private
/// channel's media never turns public when its private flag goes with the row), a live channel is refused, a new
/// channel that takes the slug starts with no media, and a token minted for the old channel does not open the new one.
/// </summary>
public sealed class DeletedChannelTests
{
    private static readonly string[] RecordingObjects =
    [
        "recordings/b0/master.m3u8", "recordings/b0/manifest.mpd", "720p/b0.m3u8", "720p/b0-init.mp4", "720p/b0-1.m4s", "audio/b0-1.m4s",
    ];

    [Fact]
    public async Task Deleting_a_private_channel_removes_its_live_and_recorded_media_instead_of_publishing_it()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string id = await CreateChannelAsync(server, "Secret Show", privatePlayback: true);
        await StoreObjectsAsync(server, "secret-show");
        await StoreRecordingAsync(server, "secret-show");
        var minted = await MintAsync(server, id, 600);
        Assert.Equal(HttpStatusCode.Forbidden, await AnonymousStatusAsync(server, "/live/secret-show/master.m3u8"));

        using (var delete = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{id}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        // Nothing of the channel is served any more, with or without the token it had.
        foreach (string name in AllObjects)
        {
            Assert.Equal(HttpStatusCode.NotFound, await AnonymousStatusAsync(server, $"/live/secret-show/{name}"));
            Assert.Equal(HttpStatusCode.NotFound, await AnonymousStatusAsync(server, $"/live/secret-show/{name}?token={minted.Token}"));
        }

        Assert.Empty(await KeysAsync(server, "secret-show/"));

        // A new channel that takes the slug (public this time) starts empty.
        string again = await CreateChannelAsync(server, "Secret Show", privatePlayback: false);
        Assert.Equal("secret-show", await SlugAsync(server, again));
        Assert.Equal(HttpStatusCode.NotFound, await AnonymousStatusAsync(server, "/live/secret-show/master.m3u8"));
        Assert.Equal(HttpStatusCode.NotFound, await AnonymousStatusAsync(server, "/live/secret-show/recordings/b0/master.m3u8"));
    }

    [Fact]
    public async Task A_channel_on_air_through_another_node_is_refused_deletion_while_its_live_manifest_is_written()
    {
        // This node has no stream of the channel: only the store shows that an ingest node elsewhere writes it.
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string id = await CreateChannelAsync(server, "Elsewhere", privatePlayback: true);
        var store = server.Services.GetRequiredService<ISegmentStore>();
        await store.PutAsync("elsewhere/manifest.mpd", Encoding.UTF8.GetBytes("<MPD type=\"dynamic\"></MPD>"), "application/dash+xml", "public, max-age=1", default);
        await store.PutAsync("elsewhere/720p/b1-1.m4s", Encoding.UTF8.GetBytes("segment"), "video/mp4", null, default);

        using (var refused = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{id}")))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        }

        Assert.NotEmpty(await KeysAsync(server, "elsewhere/"));
        Assert.Equal(HttpStatusCode.Forbidden, await AnonymousStatusAsync(server, "/live/elsewhere/720p/b1-1.m4s"));

        // The broadcast ends there (its MPD turns static): deleting goes ahead.
        await store.PutAsync("elsewhere/manifest.mpd", Encoding.UTF8.GetBytes("<MPD type=\"static\"></MPD>"), "application/dash+xml", "public, max-age=1", default);
        using (var deleted = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{id}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        Assert.Empty(await KeysAsync(server, "elsewhere/"));
    }

    [Fact]
    public async Task A_dynamic_manifest_that_stopped_changing_is_a_crashed_nodes_leftover_not_a_broadcast()
    {
        using var data = new TempDirectory("on-air");
        var store = new FileSystemSegmentStore(data.Path);
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var media = new StoreChannelMedia(store, time: clock);
        Assert.False(await media.IsWrittenElsewhereAsync("show", default));
        await store.PutAsync("show/manifest.mpd", Encoding.UTF8.GetBytes("<MPD type=\"dynamic\"></MPD>"), "application/dash+xml", null, default);
        Assert.True(await media.IsWrittenElsewhereAsync("show", default));
        clock.Advance(StoreChannelMedia.OnAirWithin + TimeSpan.FromSeconds(1));
        Assert.False(await media.IsWrittenElsewhereAsync("show", default));
    }

    [Fact]
    public async Task A_token_of_a_deleted_channel_does_not_open_the_new_channel_that_takes_its_slug()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string first = await CreateChannelAsync(server, "Reused Name", privatePlayback: true);
        var old = await MintAsync(server, first, 600);
        string oldScope = await EdgeScopeAsync(server, "reused-name", old.Token);
        using (var delete = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{first}")))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        string second = await CreateChannelAsync(server, "Reused Name", privatePlayback: true);
        Assert.Equal("reused-name", await SlugAsync(server, second));
        await StoreObjectsAsync(server, "reused-name");

        // Signed over the same slug with a key still in force, but for another channel: refused everywhere.
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(server, "reused-name", old.Token));
        Assert.Equal(HttpStatusCode.Forbidden, await AnonymousStatusAsync(server, $"/live/reused-name/master.m3u8?token={old.Token}"));
        using (var edge = new HttpRequestMessage(HttpMethod.Get, "/playback/authorize"))
        {
            edge.Headers.Add("X-Original-URI", $"/live/reused-name/master.m3u8?token={old.Token}");
            using var check = await server.Http.SendAsync(edge);
            Assert.Equal(HttpStatusCode.Forbidden, check.StatusCode);
        }

        using (var watch = await server.Http.GetAsync($"/watch/reused-name?token={old.Token}"))
        {
            Assert.DoesNotContain(old.Token, await watch.Content.ReadAsStringAsync());
        }

        // The new channel's own token plays, and an edge keys what it caches for it apart from the old channel's.
        var fresh = await MintAsync(server, second, 600);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "reused-name", fresh.Token));
        Assert.NotEqual(oldScope, await EdgeScopeAsync(server, "reused-name", fresh.Token));
    }

    /// <summary>The X-Playback-Scope of the edge token check's 204 for a good token.</summary>
    private static async Task<string> EdgeScopeAsync(InProcessServer server, string slug, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/playback/authorize");
        request.Headers.Add("X-Original-URI", $"/live/{slug}/master.m3u8?token={token}");
        using var check = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, check.StatusCode);
        return check.Headers.GetValues(Broadcast.Origin.PlaybackAuthorizationEndpoint.ScopeHeader).Single();
    }

    [Fact]
    public async Task A_live_channel_is_refused_deletion_until_its_broadcast_ends()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string id = await CreateChannelAsync(server, "On Air", privatePlayback: true);
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();
        Assert.True(registry.TryStartPublish("on-air", out var stream));
        InProcessServer.FeedVideo(stream);
        await StoreObjectsAsync(server, "on-air");

        using (var refused = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{id}")))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
            using var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync());
            Assert.Equal(409, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Contains("end the broadcast", problem.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        }

        // Still there, still private, still live.
        using (var get = await server.Http.SendAsync(server.Authorized(HttpMethod.Get, $"/api/channels/{id}")))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Forbidden, await AnonymousStatusAsync(server, "/live/on-air/master.m3u8"));
        Assert.Same(stream, registry.Find("on-air"));

        registry.EndPublish(stream);
        await WaitFor.ConditionAsync(async () =>
        {
            using var delete = await server.Http.SendAsync(server.Authorized(HttpMethod.Delete, $"/api/channels/{id}"));
            return delete.StatusCode == HttpStatusCode.NoContent;
        }, TimeSpan.FromSeconds(30), "the channel to be deletable once its broadcast ended");
        await WaitFor.ConditionAsync(async () => (await KeysAsync(server, "on-air/")).Count == 0, TimeSpan.FromSeconds(30), "the channel's media to be gone",
            () => string.Join(", ", KeysAsync(server, "on-air/").GetAwaiter().GetResult()));
        Assert.Equal(HttpStatusCode.NotFound, await AnonymousStatusAsync(server, "/live/on-air/master.m3u8"));
    }

    [Fact]
    public async Task A_broadcast_whose_channel_was_deleted_elsewhere_is_ended_and_its_media_removed()
    {
        // Another node deleted the row (it did not hold the stream, so it could not see it live): the ingest node
        // holding the stream ends it and removes what the broadcast stored. The objects are stored before the delete:
        // the delete is announced at once and may end the broadcast (and sweep its slug) before this test's next line.
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string id = await CreateChannelAsync(server, "Elsewhere", privatePlayback: true);
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();
        Assert.True(registry.TryStartPublish("elsewhere", out var stream));
        InProcessServer.FeedVideo(stream);
        await StoreObjectsAsync(server, "elsewhere");
        Assert.True(await server.Services.GetRequiredService<ChannelService>().DeleteAsync(id));

        await WaitFor.ConditionAsync(() => Task.FromResult(registry.Find("elsewhere") is null), TimeSpan.FromSeconds(30),
            "the broadcast of the deleted channel to end");
        await WaitFor.ConditionAsync(async () => (await KeysAsync(server, "elsewhere/")).Count == 0, TimeSpan.FromSeconds(30),
            "the deleted channel's media to be removed", () => string.Join(", ", KeysAsync(server, "elsewhere/").GetAwaiter().GetResult()));
        // This node learns of the delete at its next refresh of the private channels: until then the slug stays
        // private here (refused), then nothing is left to serve.
        Assert.NotEqual(HttpStatusCode.OK, await AnonymousStatusAsync(server, "/live/elsewhere/master.m3u8"));
        await WaitFor.ConditionAsync(async () => await AnonymousStatusAsync(server, "/live/elsewhere/master.m3u8") == HttpStatusCode.NotFound,
            TimeSpan.FromSeconds(30), "the deleted channel to be gone from this node's private channels");
    }

    private static IEnumerable<string> AllObjects => StreamObjects.Concat(RecordingObjects);

    private static async Task StoreRecordingAsync(InProcessServer server, string slug)
    {
        var store = server.Services.GetRequiredService<ISegmentStore>();
        foreach (string name in RecordingObjects)
        {
            await store.PutAsync($"{slug}/{name}", Encoding.UTF8.GetBytes(Body(slug, name)), "application/octet-stream", "public, max-age=31536000, immutable", default);
        }
    }

    private static async Task<List<string>> KeysAsync(InProcessServer server, string prefix)
    {
        var keys = new List<string>();
        await foreach (string key in server.Services.GetRequiredService<ISegmentStore>().ListAsync(prefix, default))
        {
            keys.Add(key);
        }

        return keys;
    }

    private static async Task<HttpStatusCode> AnonymousStatusAsync(InProcessServer server, string path)
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static async Task<string> SlugAsync(InProcessServer server, string id)
    {
        using var response = await server.Http.SendAsync(server.Authorized(HttpMethod.Get, $"/api/channels/{id}"));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("slug").GetString()!;
    }
}
