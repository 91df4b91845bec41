using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Playback;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// The signed-URL rules through the real application: a private channel's objects need a token (query once, then
/// the path-scoped cookie), a public channel is untouched, and Cache-Control keeps shared caches off private objects
/// unless an edge validates tokens.
/// </summary>
public sealed class PrivatePlaybackOriginTests
{
    internal static readonly string[] StreamObjects =
    [
        "master.m3u8", "manifest.mpd", "720p/index.m3u8", "720p/b1-init.mp4", "720p/b1-1.m4s", "360p/index.m3u8", "360p/b1-init.mp4",
        "360p/b1-1.m4s", "audio/b1-1.m4s",
    ];

    [Fact]
    public async Task A_private_channel_plays_with_a_minted_token_then_the_cookie_and_refuses_everything_else()
    {
        await using var server = await InProcessServer.StartAsync();
        string id = await CreateChannelAsync(server, "Secret Show", privatePlayback: true);
        string other = await CreateChannelAsync(server, "Other Show", privatePlayback: true);
        await StoreObjectsAsync(server, "secret-show");
        await StoreObjectsAsync(server, "other-show");

        // Without any token: 403 for every object, no body, nothing cacheable.
        foreach (string name in StreamObjects)
        {
            using var anonymous = await server.Http.GetAsync($"/live/secret-show/{name}");
            Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
            Assert.Empty(await anonymous.Content.ReadAsByteArrayAsync());
            Assert.Equal("no-store", anonymous.Headers.CacheControl!.ToString());
        }

        var minted = await MintAsync(server, id, 600);
        Assert.EndsWith("/live/secret-show/master.m3u8?token=" + minted.Token, minted.HlsUrl);
        Assert.EndsWith("/live/secret-show/manifest.mpd?token=" + minted.Token, minted.DashUrl);

        // Forged, tampered, other stream's and malformed tokens: the same bare 403.
        var otherToken = await MintAsync(server, other, 600);
        string[] bad =
        [
            minted.Token[..^2] + (minted.Token[^2] == 'A' ? "B" : "A") + minted.Token[^1],
            minted.Token.Replace("." + minted.ExpiresAt.ToUnixTimeSeconds() + ".", "." + (minted.ExpiresAt.ToUnixTimeSeconds() + 3600) + ".", StringComparison.Ordinal),
            otherToken.Token,
            "garbage",
            "",
        ];
        foreach (string token in bad)
        {
            using var refused = await server.Http.GetAsync($"/live/secret-show/master.m3u8?token={Uri.EscapeDataString(token)}");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Empty(await refused.Content.ReadAsByteArrayAsync());
            Assert.False(refused.Headers.Contains("Set-Cookie"));
        }

        // A browser-like client: the token on the master playlist, then plain URLs with the cookie.
        var cookies = new CookieContainer();
        using var viewer = new HttpClient(new HttpClientHandler { CookieContainer = cookies }) { BaseAddress = server.BaseAddress };
        using (var master = await viewer.GetAsync($"/live/secret-show/master.m3u8?token={minted.Token}"))
        {
            Assert.Equal(HttpStatusCode.OK, master.StatusCode);
            string setCookie = master.Headers.GetValues("Set-Cookie").Single();
            Assert.StartsWith(PlaybackGateCookie + "=" + minted.Token, setCookie);
            Assert.Contains("path=/live/secret-show/", setCookie);
            Assert.Contains("httponly", setCookie);
            Assert.Contains("samesite=lax", setCookie);
            Assert.DoesNotContain("secure", setCookie); // plain http here; https requests get Secure
        }

        foreach (string name in StreamObjects)
        {
            using var response = await viewer.GetAsync($"/live/secret-show/{name}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(Body("secret-show", name), await response.Content.ReadAsStringAsync());
            // No edge validates tokens here (Origin:EdgeValidatesPlaybackTokens=false): only the viewer's browser may keep it.
            string cacheControl = response.Headers.CacheControl!.ToString();
            Assert.True(response.Headers.CacheControl!.Private, $"{name}: {cacheControl}");
            Assert.False(response.Headers.CacheControl!.Public, $"{name}: {cacheControl}");
        }

        // The cookie is scoped to its stream: the other private channel stays closed to this viewer.
        using (var elsewhere = await viewer.GetAsync("/live/other-show/720p/b1-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        }

        // A public channel is unaffected: no token, public cache headers, no cookie.
        await CreateChannelAsync(server, "Open Show", privatePlayback: false);
        await StoreObjectsAsync(server, "open-show");
        using (var open = await server.Http.GetAsync("/live/open-show/720p/b1-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.OK, open.StatusCode);
            Assert.Equal("public, max-age=31536000, immutable", open.Headers.CacheControl!.ToString());
            Assert.False(open.Headers.Contains("Set-Cookie"));
        }

        // Made public again through the API: plays without a token at once.
        using var patch = server.Authorized(HttpMethod.Patch, $"/api/channels/{other}");
        patch.Content = JsonContent.Create(new { privatePlayback = false });
        using (var patched = await server.Http.SendAsync(patch))
        {
            Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
            Assert.False(JsonDocument.Parse(await patched.Content.ReadAsStringAsync()).RootElement.GetProperty("privatePlayback").GetBoolean());
        }

        using (var opened = await server.Http.GetAsync("/live/other-show/720p/b1-1.m4s"))
        {
            Assert.Equal(HttpStatusCode.OK, opened.StatusCode);
        }
    }

    [Fact]
    public async Task Rotation_keeps_the_previous_key_and_drops_the_one_before_and_an_expired_token_is_refused()
    {
        await using var server = await InProcessServer.StartAsync();
        string id = await CreateChannelAsync(server, "Rotating", privatePlayback: true);
        await StoreObjectsAsync(server, "rotating");
        var beforeRotations = await MintAsync(server, id, 600);

        var first = await RotateAsync(server);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "rotating", beforeRotations.Token));
        var afterOne = await MintAsync(server, id, 600);
        Assert.StartsWith(first.GetProperty("currentKeyId").GetString() + ".", afterOne.Token);

        var second = await RotateAsync(server);
        Assert.Equal(first.GetProperty("currentKeyId").GetString(), second.GetProperty("previousKeyId").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(server, "rotating", beforeRotations.Token));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(server, "rotating", afterOne.Token));

        // Expiry: a token that lives one second is refused once that second is over.
        var shortLived = await MintAsync(server, id, 1);
        await WaitFor.UntilAsync(shortLived.ExpiresAt, TimeSpan.FromSeconds(10), "the token's expiry");
        Assert.Equal(HttpStatusCode.Forbidden, await StatusAsync(server, "rotating", shortLived.Token));

        // Bad lifetimes are a 400 naming the field.
        using var tooLong = server.Authorized(HttpMethod.Post, $"/api/channels/{id}/playback-tokens");
        tooLong.Content = JsonContent.Create(new { expiresInSeconds = 8 * 86_400 });
        using var refused = await server.Http.SendAsync(tooLong);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("expiresInSeconds", await refused.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task With_an_edge_that_validates_tokens_private_segments_keep_their_public_cache_headers()
    {
        await using var server = await InProcessServer.StartAsync("--Origin:EdgeValidatesPlaybackTokens=true");
        string id = await CreateChannelAsync(server, "Edge Show", privatePlayback: true);
        await StoreObjectsAsync(server, "edge-show");
        var minted = await MintAsync(server, id, 600);

        using var anonymous = await server.Http.GetAsync("/live/edge-show/720p/b1-1.m4s");
        Assert.Equal(HttpStatusCode.Forbidden, anonymous.StatusCode);
        using var segment = await server.Http.GetAsync($"/live/edge-show/720p/b1-1.m4s?token={minted.Token}");
        Assert.Equal(HttpStatusCode.OK, segment.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", segment.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task The_edge_token_check_answers_204_or_403_without_touching_the_store()
    {
        await using var server = await InProcessServer.StartAsync();
        string id = await CreateChannelAsync(server, "Checked", privatePlayback: true);
        await CreateChannelAsync(server, "Open Checked", privatePlayback: false);
        var minted = await MintAsync(server, id, 600);

        async Task<HttpResponseMessage> CheckAsync(string originalUri, string? cookie = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/playback/authorize");
            request.Headers.Add("X-Original-URI", originalUri);
            if (cookie is not null) request.Headers.Add("Cookie", cookie);
            using var client = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseAddress };
            return await client.SendAsync(request);
        }

        // Nothing is stored for these streams: the check never reads the store.
        using (var open = await CheckAsync("/live/open-checked/720p/b1-9.m4s"))
        {
            Assert.Equal(HttpStatusCode.NoContent, open.StatusCode);
            Assert.False(open.Headers.Contains(Broadcast.Origin.PlaybackAuthorizationEndpoint.ScopeHeader));
        }

        using (var none = await CheckAsync("/live/checked/720p/b1-9.m4s"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, none.StatusCode);
        }

        using (var query = await CheckAsync($"/live/checked/master.m3u8?token={minted.Token}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, query.StatusCode);
            Assert.Contains("path=/live/checked/", query.Headers.GetValues("Set-Cookie").Single());
        }

        using (var cookie = await CheckAsync("/live/checked/360p/b1-9.m4s", $"{PlaybackGateCookie}={minted.Token}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, cookie.StatusCode);
            Assert.False(cookie.Headers.Contains("Set-Cookie"));
            // The edge's cache key for a private stream: opaque, per channel (not the channel id itself).
            string scope = cookie.Headers.GetValues(Broadcast.Origin.PlaybackAuthorizationEndpoint.ScopeHeader).Single();
            Assert.Matches("^[0-9a-f]{16}$", scope);
            Assert.DoesNotContain(scope, id, StringComparison.Ordinal);
        }

        foreach (string target in new[] { "/live/checked/master.m3u8?token=forged", "/live/../checked/master.m3u8", "/other/checked/x", "" })
        {
            using var refused = await CheckAsync(target, $"{PlaybackGateCookie}=nonsense");
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }
    }

    internal const string PlaybackGateCookie = Broadcast.Origin.PlaybackGate.CookieName;

    internal static async Task<HttpStatusCode> StatusAsync(InProcessServer server, string slug, string token)
    {
        using var response = await server.Http.GetAsync($"/live/{slug}/720p/b1-1.m4s?token={token}");
        return response.StatusCode;
    }

    internal static async Task<string> CreateChannelAsync(InProcessServer server, string name, bool privatePlayback)
        => (await server.CreateChannelAsync(name, privatePlayback)).Id;

    internal static async Task<PlaybackTokenResponse> MintAsync(InProcessServer server, string channelId, int seconds)
    {
        using var request = server.Authorized(HttpMethod.Post, $"/api/channels/{channelId}/playback-tokens");
        request.Content = JsonContent.Create(new { expiresInSeconds = seconds });
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<PlaybackTokenResponse>(JsonSerializerOptions.Web))!;
    }

    internal static async Task<JsonElement> RotateAsync(InProcessServer server)
    {
        using var request = server.Authorized(HttpMethod.Post, "/api/playback/signing-keys/rotate");
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    internal static async Task StoreObjectsAsync(InProcessServer server, string slug)
    {
        var store = server.Services.GetRequiredService<ISegmentStore>();
        foreach (string name in StreamObjects)
        {
            string? cacheControl = name.EndsWith(".m4s", StringComparison.Ordinal) || name.EndsWith(".mp4", StringComparison.Ordinal)
                ? "public, max-age=31536000, immutable"
                : "public, max-age=1";
            await store.PutAsync($"{slug}/{name}", Encoding.UTF8.GetBytes(Body(slug, name)), "application/octet-stream", cacheControl, default);
        }
    }

    internal static string Body(string slug, string name) => $"object {name} of {slug}";
}
