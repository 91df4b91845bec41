using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broadcast.Control.Playback;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// Private playback on an origin-only node (no database): two real applications on loopback, a control node
/// (all roles) and a <c>--Roles=origin</c> node that polls its <c>/api/playback/access</c> and checks tokens itself,
/// failing closed before its first snapshot and keeping the last one while the control node is gone.
/// </summary>
public sealed class OriginOnlyPrivatePlaybackTests
{
    private static readonly TimeSpan Propagation = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_origin_only_node_refuses_private_channels_without_a_token_follows_rotation_and_keeps_enforcing_when_control_is_gone()
    {
        var control = await InProcessServer.StartAsync();
        bool controlStopped = false;
        try
        {
            string id = await CreateChannelAsync(control, "Members Only", privatePlayback: true);
            string later = await CreateChannelAsync(control, "Soon Private", privatePlayback: false);
            await using var origin = await StartOriginAsync(control.BaseAddress);
            await StoreObjectsAsync(origin, "members-only");
            await StoreObjectsAsync(origin, "soon-private");
            await WaitReadyAsync(origin);

            using (var anonymous = await origin.Http.GetAsync("/live/members-only/720p/b1-1.m4s"))
            {
                Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
                Assert.Empty(await anonymous.Content.ReadAsByteArrayAsync());
            }

            var minted = await MintAsync(control, id, 600);
            using (var served = await origin.Http.GetAsync($"/live/members-only/720p/b1-1.m4s?token={minted.Token}"))
            {
                Assert.Equal(HttpStatusCode.OK, served.StatusCode);
                Assert.Equal(Body("members-only", "720p/b1-1.m4s"), await served.Content.ReadAsStringAsync());
                Assert.Contains("path=/live/members-only/", served.Headers.GetValues("Set-Cookie").Single());
                Assert.True(served.Headers.CacheControl!.Private);
            }

            using (var forged = await origin.Http.GetAsync($"/live/members-only/720p/b1-1.m4s?token={minted.Token[..^1]}{(minted.Token[^1] == 'A' ? 'B' : 'A')}"))
            {
                Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
            }

            // A public channel plays without a token; made private on the control node, the origin refuses it within a poll.
            Assert.Equal(HttpStatusCode.OK, await AnonymousAsync(origin, "/live/soon-private/720p/b1-1.m4s"));
            await SetPrivateAsync(control, later);
            await WaitFor.ConditionAsync(async () => await AnonymousAsync(origin, "/live/soon-private/720p/b1-1.m4s") == HttpStatusCode.Forbidden, Propagation, "the channel made private reaching the origin");

            // Rotation twice on the control node: the first token dies on the origin, a token from the new key plays there.
            await RotateAsync(control);
            await RotateAsync(control);
            var afterRotation = await MintAsync(control, id, 600);
            await WaitForStatusAsync(origin, $"/live/members-only/720p/b1-1.m4s?token={afterRotation.Token}", HttpStatusCode.OK, "the new signing key reaching the origin");
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(origin, "members-only", minted.Token));

            // The control node goes away: the origin keeps the last snapshot and keeps enforcing it.
            await control.DisposeAsync();
            controlStopped = true;
            using (var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
            {
                await WaitFor.ConditionAsync(async () =>
                {
                    try
                    {
                        using var _ = await probe.GetAsync(new Uri(control.BaseAddress, "/healthz"));
                        return false;
                    }
                    catch (HttpRequestException)
                    {
                        return true;
                    }
                }, Propagation, "the control node to stop listening");
            }

            // A poll now fails (the same call the refresher makes every second); the last snapshot stays in force.
            var refresher = origin.Services.GetRequiredService<RemotePlaybackRefresher>();
            Assert.False(await refresher.PollAsync(CancellationToken.None));
            Assert.True(origin.Services.GetRequiredService<RemotePlaybackAccess>().IsReady);
            Assert.Equal(HttpStatusCode.Forbidden, await AnonymousAsync(origin, "/live/members-only/720p/b1-1.m4s"));
            Assert.Equal(HttpStatusCode.Forbidden, await AnonymousAsync(origin, "/live/soon-private/720p/b1-1.m4s"));
            Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(origin, "members-only", minted.Token));
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(origin, "members-only", afterRotation.Token));
            using var ready = await origin.Http.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }
        finally
        {
            if (!controlStopped)
            {
                await control.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Before_its_first_snapshot_the_origin_only_node_serves_nothing_and_is_not_ready()
    {
        // The control node is not up yet: its port is chosen now and bound later.
        int controlPort = FreePort.Tcp();
        var controlUrl = new Uri($"http://127.0.0.1:{controlPort}/");
        await using var origin = await StartOriginAsync(controlUrl);
        await StoreObjectsAsync(origin, "open-show");
        await StoreObjectsAsync(origin, "closed-show");

        // Nothing known yet: public and private alike are refused as unavailable (retry), and /readyz says why.
        foreach (string slug in new[] { "open-show", "closed-show" })
        {
            using var refused = await origin.Http.GetAsync($"/live/{slug}/master.m3u8");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Equal("no-store", refused.Headers.CacheControl!.ToString());
            Assert.Equal(TimeSpan.FromSeconds(5), refused.Headers.RetryAfter!.Delta);
            Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
        }

        using (var notReady = await origin.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            Assert.Contains("playback", await notReady.Content.ReadAsStringAsync());
        }

        await using var control = await InProcessServer.StartAsync($"--Http:Urls={controlUrl}");
        await CreateChannelAsync(control, "Open Show", privatePlayback: false);
        string closed = await CreateChannelAsync(control, "Closed Show", privatePlayback: true);

        await WaitReadyAsync(origin);
        await WaitForStatusAsync(origin, "/live/closed-show/master.m3u8", HttpStatusCode.Forbidden, "the private channel list");
        Assert.Equal(HttpStatusCode.OK, (await origin.Http.GetAsync("/live/open-show/master.m3u8")).StatusCode);
        var minted = await MintAsync(control, closed, 600);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(origin, "closed-show", minted.Token));
    }

    [Fact]
    public async Task The_node_snapshot_endpoint_needs_the_playback_node_token_and_answers_304_when_unchanged()
    {
        await using var control = await InProcessServer.StartAsync();
        string id = await CreateChannelAsync(control, "Snap", privatePlayback: true);

        using (var anonymous = await control.Http.GetAsync("/api/playback/access"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.DoesNotContain("secret", await anonymous.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/api/playback/access"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
            using var refused = await control.Http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The admin token is not a node credential: an origin never needs to hold it.
        using (var admin = control.Authorized(HttpMethod.Get, "/api/playback/access"))
        {
            using var refused = await control.Http.SendAsync(admin);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // And the node token is not an admin credential: it reads this snapshot and opens nothing else.
        foreach (var (method, path) in new[] { (HttpMethod.Get, "/api/channels"), (HttpMethod.Get, $"/api/channels/{id}"), (HttpMethod.Post, $"/api/channels/{id}/reveal-key"),
                     (HttpMethod.Post, "/api/playback/signing-keys/rotate"), (HttpMethod.Delete, $"/api/channels/{id}") })
        {
            using var asNode = control.NodeAuthorized(method, path);
            using var refused = await control.Http.SendAsync(asNode);
            Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with the node token: {(int)refused.StatusCode}");
        }

        using var first = control.NodeAuthorized(HttpMethod.Get, "/api/playback/access");
        using var snapshot = await control.Http.SendAsync(first);
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
        Assert.Equal("no-store", snapshot.Headers.CacheControl!.ToString());
        var etag = snapshot.Headers.ETag!;
        using var body = JsonDocument.Parse(await snapshot.Content.ReadAsStringAsync());
        var root = body.RootElement;
        Assert.Equal("\"" + root.GetProperty("version").GetString() + "\"", etag.Tag);
        Assert.Equal("snap", Assert.Single(root.GetProperty("privateChannels").EnumerateArray().ToArray()).GetString());
        string currentId = root.GetProperty("currentKey").GetProperty("id").GetString()!;
        Assert.Equal(43, root.GetProperty("currentKey").GetProperty("secret").GetString()!.Length); // 32 bytes, base64url
        var minted = await MintAsync(control, id, 600);
        Assert.StartsWith(currentId + ".", minted.Token);

        using var again = control.NodeAuthorized(HttpMethod.Get, "/api/playback/access");
        again.Headers.IfNoneMatch.Add(etag);
        using (var unchanged = await control.Http.SendAsync(again))
        {
            Assert.Equal(HttpStatusCode.NotModified, unchanged.StatusCode);
            Assert.Empty(await unchanged.Content.ReadAsByteArrayAsync());
        }

        await RotateAsync(control);
        using var afterRotation = control.NodeAuthorized(HttpMethod.Get, "/api/playback/access");
        afterRotation.Headers.IfNoneMatch.Add(etag);
        using var changed = await control.Http.SendAsync(afterRotation);
        Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        Assert.NotEqual(etag.Tag, changed.Headers.ETag!.Tag);
        using var rotated = JsonDocument.Parse(await changed.Content.ReadAsStringAsync());
        Assert.Equal(currentId, rotated.RootElement.GetProperty("previousKey").GetProperty("id").GetString());
        Assert.NotEqual(currentId, rotated.RootElement.GetProperty("currentKey").GetProperty("id").GetString());
    }

    [Fact]
    public async Task Origin_only_nodes_answer_the_edges_token_check_so_the_viewer_path_needs_no_control_node()
    {
        // Before its first snapshot the origin cannot tell private from public: 503, so the edge asks another origin.
        await using (var early = await InProcessServer.StartAsync("--Roles=origin", "--Playback:ControlUrl=http://127.0.0.1:9/", "--Admin:Token="))
        {
            using var notReady = await CheckAsync(early, "/live/anything/master.m3u8");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        var control = await InProcessServer.StartAsync();
        bool controlStopped = false;
        try
        {
            string id = await CreateChannelAsync(control, "Edge Checked", privatePlayback: true);
            await CreateChannelAsync(control, "Edge Open", privatePlayback: false);
            var minted = await MintAsync(control, id, 600);
            await using var origin = await StartOriginAsync(control.BaseAddress);
            await WaitReadyAsync(origin);

            using (var fromControl = await CheckAsync(control, $"/live/edge-checked/master.m3u8?token={minted.Token}"))
            using (var fromOrigin = await CheckAsync(origin, $"/live/edge-checked/master.m3u8?token={minted.Token}"))
            {
                Assert.Equal(HttpStatusCode.NoContent, fromOrigin.StatusCode);
                Assert.Contains("path=/live/edge-checked/", fromOrigin.Headers.GetValues("Set-Cookie").Single());
                // The same cache scope whichever node the edge asked.
                Assert.Equal(fromControl.Headers.GetValues(Broadcast.Origin.PlaybackAuthorizationEndpoint.ScopeHeader).Single(),
                    fromOrigin.Headers.GetValues(Broadcast.Origin.PlaybackAuthorizationEndpoint.ScopeHeader).Single());
            }

            // The control node goes away: the origin keeps answering from the snapshot it holds.
            await control.DisposeAsync();
            controlStopped = true;
            using (var open = await CheckAsync(origin, "/live/edge-open/720p/b1-1.m4s"))
                Assert.Equal(HttpStatusCode.NoContent, open.StatusCode);
            using (var none = await CheckAsync(origin, "/live/edge-checked/720p/b1-1.m4s"))
                Assert.Equal(HttpStatusCode.Forbidden, none.StatusCode);
            using (var token = await CheckAsync(origin, $"/live/edge-checked/720p/b1-1.m4s?token={minted.Token}"))
                Assert.Equal(HttpStatusCode.NoContent, token.StatusCode);
        }
        finally
        {
            if (!controlStopped) await control.DisposeAsync();
        }

        // A node where every stream is public answers the check too (an edge in front of it asks all the same).
        await using var publicOnly = await InProcessServer.StartAsync("--Roles=origin", "--Playback:PublicOnly=true", "--Admin:Token=");
        using var anyStream = await CheckAsync(publicOnly, "/live/whatever/master.m3u8");
        Assert.Equal(HttpStatusCode.NoContent, anyStream.StatusCode);
    }

    private static async Task<HttpResponseMessage> CheckAsync(InProcessServer server, string originalUri)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/playback/authorize");
        request.Headers.Add("X-Original-URI", originalUri);
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task A_dashboard_session_cannot_fetch_the_node_snapshot_with_its_secrets()
    {
        await using var control = await InProcessServer.StartAsync();
        var users = control.Services.GetRequiredService<Broadcast.Control.Users.AdminUserService>();
        Assert.True(await users.CreateAsync("viewer-admin", "a-long-enough-password-1"));
        var cookies = new CookieContainer();
        using var browser = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = control.BaseAddress };
        using (var signIn = await browser.PostAsync("/api/session",
            System.Net.Http.Json.JsonContent.Create(new { name = "viewer-admin", password = "a-long-enough-password-1" })))
        {
            Assert.True(signIn.IsSuccessStatusCode, $"sign-in: {(int)signIn.StatusCode}");
        }

        // The session is good for the admin API, not for the cluster nodes' endpoint.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/session")).StatusCode);
        using var refused = await browser.GetAsync("/api/playback/access");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.DoesNotContain("currentKey", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_channel_leaving_the_snapshot_takes_the_origins_cached_copies_with_it()
    {
        // The control node deleted the private channel (or another channel took its slug): what this origin-only node
        // read with tokens must not stay in its memory, to be served without one.
        await using var origin = await InProcessServer.StartAsync("--Roles=origin", "--Playback:ControlUrl=http://127.0.0.1:9/", "--Admin:Token=");
        var access = origin.Services.GetRequiredService<RemotePlaybackAccess>();
        var cache = origin.Services.GetRequiredService<Broadcast.Origin.RecentObjectCache>();
        var key = new PlaybackNodeKey("k1", new string('A', 43));
        PlaybackNodeSnapshot Snapshot(string version, params PlaybackNodeChannel[] channels) =>
            new(version, channels.Select(c => c.Slug).ToArray(), key, null) { Channels = channels };

        access.Apply(Snapshot("v1", new PlaybackNodeChannel("members", "id-1"), new PlaybackNodeChannel("staff", "id-2")));
        Assert.True(access.IsPrivate("members"));
        await cache.PutAsync("members/master.m3u8", "#EXTM3U\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=1", default);
        await cache.PutAsync("staff/master.m3u8", "#EXTM3U\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=1", default);
        Assert.True(cache.Contains("members/master.m3u8"));

        // "members" deleted; "staff" taken over by a new channel with the same slug.
        access.Apply(Snapshot("v2", new PlaybackNodeChannel("staff", "id-3")));
        Assert.False(access.IsPrivate("members"));
        Assert.False(cache.Contains("members/master.m3u8"));
        Assert.False(cache.Contains("staff/master.m3u8"));

        // A control node from before channel ids were bound: refused, the snapshot in force stays.
        Assert.Throws<FormatException>(() => access.Apply(new PlaybackNodeSnapshot("v3", ["staff"], key, null)));
        Assert.Equal("v2", access.Version);
    }

    [Fact]
    public void An_origin_only_node_without_a_control_url_or_node_token_or_with_the_admin_token_does_not_start()
    {
        using var data = new TempDirectory("origin-only");
        string storage = $"--Storage:Path={Path.Combine(data.Path, "media")}";
        var noUrl = Assert.Throws<InvalidOperationException>(() => BroadcastApp.Build(["--Roles=origin", "--Http:Urls=http://127.0.0.1:0", storage]));
        Assert.Contains("Playback:ControlUrl", noUrl.Message);

        var noToken = Assert.Throws<InvalidOperationException>(() => BroadcastApp.Build(
            ["--Roles=origin", "--Http:Urls=http://127.0.0.1:0", storage, "--Playback:ControlUrl=http://127.0.0.1:9/"]));
        Assert.Contains("Playback:NodeToken", noToken.Message);

        var shortToken = Assert.Throws<InvalidOperationException>(() => BroadcastApp.Build(
            ["--Roles=origin", "--Http:Urls=http://127.0.0.1:0", storage, "--Playback:ControlUrl=http://127.0.0.1:9/", "--Playback:NodeToken=short"]));
        Assert.Contains("Playback:NodeToken", shortToken.Message);

        // The hole this closes: an origin holding the admin token makes one compromised origin a full admin.
        var withAdmin = Assert.Throws<InvalidOperationException>(() => BroadcastApp.Build(
            ["--Roles=origin", "--Http:Urls=http://127.0.0.1:0", storage, "--Playback:ControlUrl=http://127.0.0.1:9/",
             $"--Playback:NodeToken={InProcessServer.NodeToken}", $"--Admin:Token={InProcessServer.Token}"]));
        Assert.Contains("Admin:Token", withAdmin.Message);
    }

    /// <summary>An origin-only node polling <paramref name="controlUrl"/> every second with the playback node token, and no admin token.</summary>
    internal static Task<InProcessServer> StartOriginAsync(Uri controlUrl) =>
        InProcessServer.StartAsync("--Roles=origin", $"--Playback:ControlUrl={controlUrl}", "--Playback:RefreshSeconds=1", "--Admin:Token=");

    internal static Task WaitReadyAsync(InProcessServer origin) => WaitFor.ConditionAsync(async () =>
    {
        using var ready = await origin.Http.GetAsync("/readyz");
        return ready.StatusCode == HttpStatusCode.OK;
    }, Propagation, "the origin's first private playback snapshot (/readyz)");

    private static Task WaitForStatusAsync(InProcessServer origin, string path, HttpStatusCode status, string what) => WaitFor.ConditionAsync(async () =>
    {
        using var response = await origin.Http.GetAsync(path);
        return response.StatusCode == status;
    }, Propagation, what);

    /// <summary>A request from a client that never had a token (the shared client keeps the playback cookie once set).</summary>
    private static async Task<HttpStatusCode> AnonymousAsync(InProcessServer server, string path)
    {
        using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        using var response = await client.GetAsync(path);
        return response.StatusCode;
    }

    private static async Task SetPrivateAsync(InProcessServer control, string channelId)
    {
        using var patch = control.Authorized(HttpMethod.Patch, $"/api/channels/{channelId}");
        patch.Content = System.Net.Http.Json.JsonContent.Create(new { privatePlayback = true });
        using var patched = await control.Http.SendAsync(patch);
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
    }
}
