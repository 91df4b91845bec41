using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Data.Sqlite;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// A private channel end to end: ffmpeg publishes with the stream key, hls.js (in Chromium, on the server's own
/// origin so the stream-scoped cookie applies) plays the minted URL and fails with 403 without it, the watch page
/// plays from a token link; afterwards the server's whole log holds none of the admin token, the stream key, the
/// playback token or the signing key.
/// </summary>
public sealed class PrivatePlaybackEndToEndTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    [Fact]
    public async Task Hlsjs_plays_a_private_channel_from_a_minted_url_and_gets_403_without_it_and_no_secret_is_logged()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        // Its own server, not the shared one: the whole log goes to a file at Debug level (the console ring keeps only a
        // tail), and the server secret sits where this test can read the signing key back.
        using var state = new TempDirectory("private-playback");
        string logPath = Path.Combine(state.Path, "server.log");
        string secretPath = Path.Combine(state.Path, "secret.key");
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Transcode:Enabled=false",
                $"--Secrets:KeyPath={secretPath}",
                "--Serilog:MinimumLevel:Default=Debug",
                "--Serilog:WriteTo:1:Name=File",
                $"--Serilog:WriteTo:1:Args:path={logPath}",
            ],
        });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail()}";

        using var create = await server.Http.PostAsJsonAsync("api/channels", new { name = $"private {Guid.NewGuid():N}", privatePlayback = true });
        Assert.True(create.StatusCode == HttpStatusCode.Created, Diagnostics());
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        string id = created.RootElement.GetProperty("id").GetString()!;
        string slug = created.RootElement.GetProperty("slug").GetString()!;
        string streamKey = created.RootElement.GetProperty("streamKey").GetString()!;
        Assert.True(created.RootElement.GetProperty("privatePlayback").GetBoolean());

        using var mint = await server.Http.PostAsJsonAsync($"api/channels/{id}/playback-tokens", new { expiresInSeconds = 900 });
        Assert.True(mint.StatusCode == HttpStatusCode.OK, Diagnostics());
        using var minted = JsonDocument.Parse(await mint.Content.ReadAsStringAsync());
        string token = minted.RootElement.GetProperty("token").GetString()!;
        string hlsUrl = minted.RootElement.GetProperty("hlsUrl").GetString()!;
        string plainUrl = new Uri(server.BaseUri, $"live/{slug}/master.m3u8").ToString();

        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(streamKey), loops: 2);
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(hlsUrl);
            return r.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(60), "the minted URL to answer 200 while publishing", () => $"{Diagnostics()}{Environment.NewLine}{publisher.Log.Tail(15)}");
        // server.Viewer keeps cookies: it now holds the stream's cookie from the minted URL. A fresh client has none.
        using (var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }))
        using (var plain = await stranger.GetAsync(plainUrl))
        {
            Assert.Equal(HttpStatusCode.Forbidden, plain.StatusCode);
        }

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

        // Without the token: a fatal manifest error with HTTP 403.
        await page.EvaluateAsync(Play, plainUrl);
        await page.WaitForFunctionAsync("() => window.__runs[0].fatal !== null", null, new() { Timeout = 30_000 });
        Assert.Equal(403, await page.EvaluateAsync<int>("() => window.__runs[0].fatal.code"));

        // With the minted URL: the master answers with the cookie, media playlists and segments follow with plain URLs.
        await page.EvaluateAsync(Play, hlsUrl);
        try
        {
            await page.WaitForFunctionAsync("() => window.__runs[1].fatal !== null || window.__runs[1].video.currentTime > 2", null, new() { Timeout = 60_000 });
        }
        catch (Microsoft.Playwright.PlaywrightException e)
        {
            Assert.Fail($"hls.js did not play the minted URL: {e.Message}{Environment.NewLine}{Diagnostics()}");
        }

        Assert.True(await page.EvaluateAsync<bool>("() => window.__runs[1].fatal === null"),
            $"hls.js failed: {await page.EvaluateAsync<string>("() => JSON.stringify(window.__runs[1].fatal)")}{Environment.NewLine}{Diagnostics()}");

        // The watch page: a token link plays; without it, the page explains instead of showing a player.
        var watch = await browser.NewPageAsync();
        await watch.GotoAsync(new Uri(server.BaseUri, $"watch/{slug}?token={token}").ToString());
        await watch.WaitForFunctionAsync("() => !!window.__watch && window.__watch.video.currentTime > 1", null, new() { Timeout = 60_000 });
        using (var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUri })
        using (var anonymousWatch = await stranger.GetAsync($"watch/{slug}"))
        {
            string html = await anonymousWatch.Content.ReadAsStringAsync();
            Assert.Contains("id=\"watch-private\"", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<video", html, StringComparison.Ordinal);
        }

        await publisher.DisposeAsync();
        string signingKey = ReadCurrentSigningKey(server, secretPath);
        // The server still holds the file open for writing (the sink flushes every event).
        string log;
        await using (var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var text = new StreamReader(stream))
        {
            log = await text.ReadToEndAsync();
        }

        Assert.True(log.Length > 0, "empty server log");
        Assert.DoesNotContain(server.AdminToken, log, StringComparison.Ordinal);
        Assert.DoesNotContain(streamKey, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token[(token.LastIndexOf('.') + 1)..], log, StringComparison.Ordinal);
        Assert.DoesNotContain(signingKey, log, StringComparison.Ordinal);
    }

    /// <summary>The newest signing key's secret (base64), decrypted from the database with the server secret.</summary>
    private static string ReadCurrentSigningKey(ServerProcess server, string secretPath)
    {
        var protector = new StreamKeyProtector(StreamKeyProtector.LoadSecret(null, secretPath));
        using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "broadcast.db")};Mode=ReadOnly");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, secret_ciphertext FROM playback_signing_keys ORDER BY created_at DESC LIMIT 1";
        using var reader = command.ExecuteReader();
        Assert.True(reader.Read(), "no signing key stored");
        string keyId = reader.GetString(0);
        return protector.Unprotect("playback-signing-key:" + keyId, reader.GetFieldValue<byte[]>(1));
    }
}
