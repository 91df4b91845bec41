using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.IdentityModel.Tokens;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// A private channel played with the platform's own JWTs: the platform's JWKS is served on loopback (an operator allows
/// that address), ffmpeg publishes, hls.js in Chromium plays the master with a JWT signed by the platform's key, and
/// after the platform rotates its key in the JWKS a token of the new key plays too, without a restart, while tokens of
/// the withdrawn key and tokens for another channel are refused.
/// </summary>
public sealed class PrivatePlaybackJwtEndToEndTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    [Fact]
    public async Task Hlsjs_plays_a_private_channel_with_a_platform_jwt_and_a_key_rotated_in_the_jwks_works_without_restart()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var before = new PlaybackJwtSigner(rsaKid: "platform-2026-10", p256Kid: "platform-2026-10-ec");
        var after = new PlaybackJwtSigner(rsaKid: "platform-2026-11", p256Kid: "platform-2026-11-ec");
        await using var jwks = await LoopbackHttpEndpoint.StartAsync();
        jwks.Answer(200, before.Jwks(before.P256), "application/jwk-set+json");
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Transcode:Enabled=false",
                $"--Playback:Jwt:JwksUrl={jwks.Url(".well-known/jwks.json")}",
                $"--Playback:Jwt:Audience={PlaybackJwtSigner.Audience}",
                $"--Playback:Jwt:Issuer={PlaybackJwtSigner.Issuer}",
                "--Playback:Jwt:JwksMinRefreshSeconds=1",
                // The platform is on loopback here: allowed as an operator would, not by weakening the default.
                "--Outbound:AllowedNetworks=127.0.0.1/32",
            ],
        });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail(80)}";

        using var create = await server.Http.PostAsJsonAsync("api/channels", new { name = $"jwt private {Guid.NewGuid():N}", privatePlayback = true });
        Assert.True(create.StatusCode == HttpStatusCode.Created, Diagnostics());
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        string slug = created.RootElement.GetProperty("slug").GetString()!;
        string streamKey = created.RootElement.GetProperty("streamKey").GetString()!;
        string Master(string token) => new Uri(server.BaseUri, $"live/{slug}/master.m3u8?token={token}").ToString();
        string Jwt(SecurityKey key, string algorithm, object channel) =>
            PlaybackJwtSigner.Sign(key, algorithm, new Dictionary<string, object> { ["channel"] = channel, ["sub"] = "viewer-42" }, DateTime.UtcNow.AddMinutes(10));

        // A fresh client per request: no cookie from an earlier answer opens the stream.
        async Task<HttpStatusCode> StatusOfAsync(string url)
        {
            using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false });
            using var response = await stranger.GetAsync(url);
            return response.StatusCode;
        }

        string first = Jwt(before.P256, "ES256", slug);
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(streamKey), loops: 2);
        await WaitFor.ConditionAsync(async () => await StatusOfAsync(Master(first)) == HttpStatusCode.OK, TimeSpan.FromSeconds(60),
            "the master to answer 200 to the platform's JWT while publishing", () => $"{Diagnostics()}{Environment.NewLine}{publisher.Log.Tail(15)}");
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOfAsync(Master(Jwt(before.P256, "ES256", "another-channel"))));
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOfAsync(Master(Jwt(after.P256, "ES256", slug))));

        await using var browser = await BrowserHost.StartAsync();
        var page = await browser.NewPageAsync();
        // A page on the server's origin (no CSP on /healthz) loads the server's own hls.js build.
        await page.GotoAsync(new Uri(server.BaseUri, "healthz").ToString());
        await page.AddScriptTagAsync(new() { Url = "/assets/lib/hls.min.js" });
        const string Play = """
            (url) => {
              const video = document.createElement('video');
              video.muted = true;
              document.body.appendChild(video);
              const state = { fatal: null, video };
              const hls = new Hls();
              hls.on(Hls.Events.ERROR, (_, d) => { if (d.fatal) state.fatal = { details: d.details, code: d.response ? d.response.code : 0 }; });
              hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch(() => {}));
              hls.loadSource(url);
              hls.attachMedia(video);
              window.__runs = (window.__runs || []).concat([state]);
            }
            """;

        async Task PlaysAsync(int run, string url)
        {
            await page.EvaluateAsync(Play, url);
            try
            {
                await page.WaitForFunctionAsync($"() => window.__runs[{run}].fatal !== null || window.__runs[{run}].video.currentTime > 2", null, new() { Timeout = 60_000 });
            }
            catch (Microsoft.Playwright.PlaywrightException e)
            {
                Assert.Fail($"hls.js did not play run {run}: {e.Message}{Environment.NewLine}{Diagnostics()}");
            }

            Assert.True(await page.EvaluateAsync<bool>($"() => window.__runs[{run}].fatal === null"),
                $"hls.js failed: {await page.EvaluateAsync<string>($"() => JSON.stringify(window.__runs[{run}].fatal)")}{Environment.NewLine}{Diagnostics()}");
        }

        await PlaysAsync(0, Master(first));

        // The platform rotates: the JWKS now holds the new key alone and tokens are signed with it. The first token with the
        // new kid makes the server fetch the JWKS again; within moments the new tokens play and the old key's are refused.
        int fetchesBefore = jwks.Received.Count;
        jwks.Answer(200, after.Jwks(after.Rsa), "application/jwk-set+json");
        string rotated = Jwt(after.Rsa, "RS256", new[] { "some-other-channel", slug });
        await WaitFor.ConditionAsync(async () => await StatusOfAsync(Master(rotated)) == HttpStatusCode.OK, TimeSpan.FromSeconds(20),
            "a token of the rotated key to open the master", Diagnostics);
        Assert.True(jwks.Received.Count > fetchesBefore, "the JWKS was not fetched again");
        Assert.Equal(HttpStatusCode.Forbidden, await StatusOfAsync(Master(first)));
        await PlaysAsync(1, Master(rotated));
    }
}
