using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// infra/nginx-edge.conf in front of a server for a private channel: the edge refuses viewers without a good token
/// even for a segment it has cached, passes the stream-scoped cookie on, caches each segment once for all viewers
/// with tokens (cache key without the token), and leaves public channels alone. The platform's JWTs (here EdDSA, its key
/// configured as an OKP JWK) open the same objects through the edge as the server's own tokens do.
/// </summary>
public sealed class PrivatePlaybackEdgeTests
{
    [Fact]
    public async Task The_edge_checks_tokens_before_serving_private_objects_from_its_cache()
    {
        // Its own server: Origin:EdgeValidatesPlaybackTokens=true, the setting for origins behind this edge.
        var platform = new PlaybackJwtSigner();
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Origin:EdgeValidatesPlaybackTokens=true", $"--Playback:Jwt:PublicKeys:0={JsonSerializer.Serialize(platform.Ed25519Jwk())}",
                $"--Playback:Jwt:Audience={PlaybackJwtSigner.Audience}"],
        });
        await using var edge = await EdgeNginx.StartAsync(server.HttpPort);
        string Logs() => $"--- server ---{Environment.NewLine}{server.LogTail(40)}{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.LogTail(20)}";

        string slug = await CreateAsync(server, $"edge private {Guid.NewGuid():N}", privatePlayback: true);
        string openSlug = await CreateAsync(server, $"edge public {Guid.NewGuid():N}", privatePlayback: false);
        string id = await IdOfAsync(server, slug);
        // Objects written straight into the filesystem store: this test is about access, not media.
        foreach (string s in new[] { slug, openSlug })
        {
            Directory.CreateDirectory(Path.Combine(server.MediaDirectory, s, "360p"));
            await File.WriteAllTextAsync(Path.Combine(server.MediaDirectory, s, "master.m3u8"), "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=700000\n360p/index.m3u8\n");
            await File.WriteAllTextAsync(Path.Combine(server.MediaDirectory, s, "360p", "b1-1.m4s"), $"segment of {s}");
        }

        string first = await MintAsync(server, id);
        string second = await MintAsync(server, id);
        using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = edge.BaseUri };

        using (var r = await stranger.GetAsync($"live/{slug}/360p/b1-1.m4s"))
        {
            Assert.True(r.StatusCode == HttpStatusCode.Forbidden, $"{(int)r.StatusCode}{Environment.NewLine}{Logs()}");
        }

        // Viewer one: token on the master, cookie from the edge, then a plain segment URL (a cache miss).
        var jar = new CookieContainer();
        using var viewer = new HttpClient(new HttpClientHandler { CookieContainer = jar }) { BaseAddress = edge.BaseUri };
        using (var master = await viewer.GetAsync($"live/{slug}/master.m3u8?token={first}"))
        {
            Assert.True(master.StatusCode == HttpStatusCode.OK, $"{(int)master.StatusCode}{Environment.NewLine}{Logs()}");
            Assert.Contains(master.Headers.GetValues("Set-Cookie"), c => c.Contains($"path=/live/{slug}/", StringComparison.Ordinal));
        }

        using (var segment = await viewer.GetAsync($"live/{slug}/360p/b1-1.m4s"))
        {
            Assert.True(segment.StatusCode == HttpStatusCode.OK, Logs());
            Assert.Equal($"segment of {slug}", await segment.Content.ReadAsStringAsync());
            Assert.Equal("public, max-age=31536000, immutable", segment.Headers.CacheControl!.ToString());
        }

        // Viewer two, another token: the same segment comes from the edge's cache (its key holds no token).
        using (var other = await stranger.GetAsync($"live/{slug}/360p/b1-1.m4s?token={second}"))
        {
            Assert.True(other.StatusCode == HttpStatusCode.OK, Logs());
            Assert.Equal("HIT", other.Headers.GetValues("X-Cache-Status").Single());
        }

        // Cached, yet still refused without a good token or cookie.
        foreach (string attempt in new[] { $"live/{slug}/360p/b1-1.m4s", $"live/{slug}/360p/b1-1.m4s?token=forged" })
        {
            using var refused = await stranger.GetAsync(attempt);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        using (var forgedCookie = new HttpRequestMessage(HttpMethod.Get, $"live/{slug}/360p/b1-1.m4s"))
        {
            forgedCookie.Headers.Add("Cookie", "broadcast_playback=" + first[..^2] + "AA");
            using var refused = await stranger.SendAsync(forgedCookie);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        // A public channel through the same edge: no token needed.
        using (var open = await stranger.GetAsync($"live/{openSlug}/360p/b1-1.m4s"))
        {
            Assert.True(open.StatusCode == HttpStatusCode.OK, Logs());
        }

        // Viewer three holds the platform's JWT: the master through the edge sets the cookie, and the cached segment is served on it.
        string Jwt(string channel, DateTime expires) => platform.SignEdDsa(new Dictionary<string, object> { ["channel"] = channel }, expires);
        using var jwtViewer = new HttpClient(new HttpClientHandler { CookieContainer = new CookieContainer() }) { BaseAddress = edge.BaseUri };
        using (var master = await jwtViewer.GetAsync($"live/{slug}/master.m3u8?token={Jwt(slug, DateTime.UtcNow.AddMinutes(10))}"))
        {
            Assert.True(master.StatusCode == HttpStatusCode.OK, $"{(int)master.StatusCode}{Environment.NewLine}{Logs()}");
        }

        using (var segment = await jwtViewer.GetAsync($"live/{slug}/360p/b1-1.m4s"))
        {
            Assert.True(segment.StatusCode == HttpStatusCode.OK, $"{(int)segment.StatusCode}{Environment.NewLine}{Logs()}");
            Assert.Equal("HIT", segment.Headers.GetValues("X-Cache-Status").Single());
        }

        // Expired (beyond the 30 s skew), or for another channel: refused at the edge, cached or not.
        foreach (string refusedJwt in new[] { Jwt(slug, DateTime.UtcNow.AddMinutes(-2)), Jwt(openSlug + "-other", DateTime.UtcNow.AddMinutes(10)) })
        {
            using var refused = await stranger.GetAsync($"live/{slug}/360p/b1-1.m4s?token={refusedJwt}");
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{(int)refused.StatusCode}{Environment.NewLine}{Logs()}");
        }
    }

    [Fact]
    public async Task The_edge_serves_no_part_without_a_token_and_nothing_it_cached_of_a_deleted_private_channel()
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = ["--Origin:EdgeValidatesPlaybackTokens=true"] });
        await using var edge = await EdgeNginx.StartAsync(server.HttpPort);
        string Logs() => $"--- server ---{Environment.NewLine}{server.LogTail(40)}{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.LogTail(20)}";

        string slug = await CreateAsync(server, $"edge deleted {Guid.NewGuid():N}", privatePlayback: true);
        string id = await IdOfAsync(server, slug);
        Directory.CreateDirectory(Path.Combine(server.MediaDirectory, slug, "360p"));
        await File.WriteAllTextAsync(Path.Combine(server.MediaDirectory, slug, "master.m3u8"), "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=700000\n360p/index.m3u8\n");
        await File.WriteAllTextAsync(Path.Combine(server.MediaDirectory, slug, "360p", "b1-1.m4s"), $"segment of {slug}");
        await File.WriteAllTextAsync(Path.Combine(server.MediaDirectory, slug, "360p", "b1-2.0.m4s"), $"part of {slug}");
        string token = await MintAsync(server, id);

        var jar = new CookieContainer();
        using var viewer = new HttpClient(new HttpClientHandler { CookieContainer = jar }) { BaseAddress = edge.BaseUri };
        using (var master = await viewer.GetAsync($"live/{slug}/master.m3u8?token={token}"))
        {
            Assert.True(master.StatusCode == HttpStatusCode.OK, Logs());
        }

        // An LL-HLS part the viewer fetched (and the edge cached) is still checked for the next one who asks.
        using (var part = await viewer.GetAsync($"live/{slug}/360p/b1-2.0.m4s"))
        {
            Assert.True(part.StatusCode == HttpStatusCode.OK, $"{(int)part.StatusCode}{Environment.NewLine}{Logs()}");
        }

        using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = edge.BaseUri };
        using (var refused = await stranger.GetAsync($"live/{slug}/360p/b1-2.0.m4s"))
        {
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{(int)refused.StatusCode}{Environment.NewLine}{Logs()}");
        }

        // The segment is cached once; the viewer's next request (its token check answered from the edge's own cache) hits it.
        using (var miss = await viewer.GetAsync($"live/{slug}/360p/b1-1.m4s"))
        {
            Assert.True(miss.StatusCode == HttpStatusCode.OK, Logs());
        }

        using (var hit = await viewer.GetAsync($"live/{slug}/360p/b1-1.m4s"))
        {
            Assert.True(hit.StatusCode == HttpStatusCode.OK, Logs());
            Assert.Equal("HIT", hit.Headers.GetValues("X-Cache-Status").Single());
        }

        // The channel is deleted. Once the edge's check says the slug is public, what the edge cached for the private
        // channel is not what it serves: the origin has nothing left (404).
        using (var deleted = await server.Http.DeleteAsync($"api/channels/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        HttpStatusCode status = HttpStatusCode.Forbidden;
        await WaitFor.ConditionAsync(async () =>
        {
            // A fresh cookie value each time: its own entry in the edge's cache of token checks.
            using var request = new HttpRequestMessage(HttpMethod.Get, $"live/{slug}/360p/b1-1.m4s");
            request.Headers.Add("Cookie", $"broadcast_playback={Guid.NewGuid():N}");
            using var response = await stranger.SendAsync(request);
            status = response.StatusCode;
            return status != HttpStatusCode.Forbidden;
        }, TimeSpan.FromSeconds(30), "the edge's token check to see the deleted channel as no longer private", Logs);
        Assert.True(status == HttpStatusCode.NotFound, $"{(int)status}{Environment.NewLine}{Logs()}");
    }

    private static async Task<string> CreateAsync(ServerProcess server, string name, bool privatePlayback)
    {
        using var r = await server.Http.PostAsJsonAsync("api/channels", new { name, privatePlayback });
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("slug").GetString()!;
    }

    private static async Task<string> IdOfAsync(ServerProcess server, string slug)
    {
        var list = JsonDocument.Parse(await server.Http.GetStringAsync("api/channels")).RootElement;
        return list.EnumerateArray().Single(c => c.GetProperty("slug").GetString() == slug).GetProperty("id").GetString()!;
    }

    private static async Task<string> MintAsync(ServerProcess server, string id)
    {
        using var r = await server.Http.PostAsJsonAsync($"api/channels/{id}/playback-tokens", new { expiresInSeconds = 600 });
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }
}
