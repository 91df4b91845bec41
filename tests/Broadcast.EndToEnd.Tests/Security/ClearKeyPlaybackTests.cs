using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Xml.Linq;
using Broadcast.EndToEnd.Tests.Clips;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// Protected content end to end (docs/protection.md): a <c>cbcs</c> channel and a <c>cenc</c> channel publish, their MPDs
/// name ClearKey with the license URL and their HLS playlists name the key (EXT-X-SESSION-KEY, EXT-X-KEY); Shaka and
/// dash.js, hls.js and the watch page in Chromium get the key from the license endpoint (EME <c>org.w3.clearkey</c>) and
/// play, the private channel's watch page through its token link too; ffmpeg decodes a segment cleanly only with the key the license
/// answered; once the cenc channel is private, its license refuses a viewer without a token (401) or with a bad one (403),
/// answers a bearer token, and never hands out another channel's key; the server's log holds no key. A clip of each
/// broadcast, asked for from 0.9 s into a segment so its first end is re-cut and encrypted again (docs/protection.md,
/// "Clips of protected broadcasts"), keeps the key tags and plays in hls.js with the same license past that piece.
/// </summary>
public sealed class ClearKeyPlaybackTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 20, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };
    private static readonly XNamespace Mpd = "urn:mpeg:dash:schema:mpd:2011";
    private static readonly XNamespace Cenc = "urn:mpeg:cenc:2013";
    private static readonly XNamespace DashIf = "https://dashif.org/CPS";

    [Fact]
    public async Task Cbcs_and_cenc_channels_play_with_clearkey_in_shaka_and_dashjs_and_the_license_checks_authorization()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        using var state = new TempDirectory("clearkey");
        string logPath = Path.Combine(state.Path, "server.log");
        int httpPort = FreePort.Tcp();
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            HttpPort = httpPort,
            ExtraArguments =
            [
                "--Transcode:Enabled=false",
                // Players resolve a license URL against their page (another origin here), so the MPD names it absolute.
                $"--Public:HttpBaseUrl=http://127.0.0.1:{httpPort}",
                "--Serilog:MinimumLevel:Default=Debug",
                "--Serilog:WriteTo:1:Name=File",
                $"--Serilog:WriteTo:1:Args:path={logPath}",
            ],
        });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail()}";

        var cbcs = await CreateAsync(server, "cbcs");
        var cenc = await CreateAsync(server, "cenc");
        await using var cbcsPublisher = FfmpegPublisher.Start(clip, server.RtmpUrl(cbcs.StreamKey), loops: 4);
        await using var cencPublisher = FfmpegPublisher.Start(clip, server.RtmpUrl(cenc.StreamKey), loops: 4);

        var cbcsMpd = await ProtectedMpdAsync(server, cbcs.Slug, "cbcs", httpPort, Diagnostics);
        var cencMpd = await ProtectedMpdAsync(server, cenc.Slug, "cenc", httpPort, Diagnostics);
        await CheckHlsKeyTagsAsync(server, cbcs.Slug, "SAMPLE-AES", cbcsMpd.Kid, Diagnostics);
        await CheckHlsKeyTagsAsync(server, cenc.Slug, "SAMPLE-AES-CTR", cencMpd.Kid, Diagnostics);
        // Clips asked for now, so their ends are cut to the frame while the players below play the broadcasts.
        var cbcsClip = await ProtectedClipPlayback.MakeAsync(server, cbcs.Id, cbcs.Slug, Diagnostics);
        var cencClip = await ProtectedClipPlayback.MakeAsync(server, cenc.Id, cenc.Slug, Diagnostics);

        using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUri };
        // A public channel's license answers anyone; the key it gives decodes the segments, nothing else does.
        string cbcsKey = await LicenseKeyAsync(stranger, cbcs.Slug, cbcsMpd.Kid, bearer: null);
        string cencKey = await LicenseKeyAsync(stranger, cenc.Slug, cencMpd.Kid, bearer: null);
        await CheckDecodingAsync(server, cbcsMpd, cbcsKey);
        await CheckDecodingAsync(server, cencMpd, cencKey);

        await using (var browser = await BrowserHost.StartAsync())
        {
            await Task.WhenAll(
                PlayAsync(browser, PlayerKind.Shaka, server, cbcs.Slug, Diagnostics),
                PlayAsync(browser, PlayerKind.Dash, server, cbcs.Slug, Diagnostics),
                PlayAsync(browser, PlayerKind.Shaka, server, cenc.Slug, Diagnostics),
                PlayAsync(browser, PlayerKind.Dash, server, cenc.Slug, Diagnostics));
            // hls.js from the playlists' EXT-X-KEY (KEYFORMAT org.w3.clearkey), given the license URL as a site configures it.
            await Task.WhenAll(
                PlayAsync(browser, PlayerKind.Hls, server, cbcs.Slug, Diagnostics),
                PlayAsync(browser, PlayerKind.Hls, server, cenc.Slug, Diagnostics));
            // The product's own player: the watch page plays the protected channel as it plays any other.
            await WatchPageAsync(browser, server, cbcs.Slug, "", Diagnostics);
            // The clips, once cut, in hls.js as the broadcasts were: through the re-cut first piece into the stored segments.
            await Task.WhenAll(
                PlayClipAsync(browser, server, cbcs, cbcsClip, "SAMPLE-AES", cbcsMpd.Kid, Diagnostics),
                PlayClipAsync(browser, server, cenc, cencClip, "SAMPLE-AES-CTR", cencMpd.Kid, Diagnostics));
        }

        // The cenc channel turns private: its license now wants the viewer's playback token.
        using (var patch = await server.Http.PatchAsJsonAsync($"api/channels/{cenc.Id}", new { privatePlayback = true }))
            Assert.True(patch.IsSuccessStatusCode, Diagnostics());
        using var mint = await server.Http.PostAsJsonAsync($"api/channels/{cenc.Id}/playback-tokens", new { expiresInSeconds = 900 });
        Assert.True(mint.StatusCode == HttpStatusCode.OK, Diagnostics());
        string token = JsonDocument.Parse(await mint.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        string body = LicenseRequest(cencMpd.Kid);
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await stranger.PostAsync($"live/{cenc.Slug}/license", new StringContent(body, Encoding.UTF8, "application/json"));
            return r.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(30), "the private channel's license to answer 401 without a token", Diagnostics);
        using (var forged = await PostLicenseAsync(stranger, cenc.Slug, body, bearer: token[..^4] + "AAAA"))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        using (var malformed = await PostLicenseAsync(stranger, cenc.Slug, "{\"kids\":[\"not base64url!\"]}", token))
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        // Another channel's KID is never answered through this channel.
        using (var other = await PostLicenseAsync(stranger, cenc.Slug, LicenseRequest(cbcsMpd.Kid), token))
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(cencKey, await LicenseKeyAsync(stranger, cenc.Slug, cencMpd.Kid, token));
        // The watch page of a token link: its playlists set the playback cookie, which its license request carries.
        await using (var browser = await BrowserHost.StartAsync())
            await WatchPageAsync(browser, server, cenc.Slug, $"?token={Uri.EscapeDataString(token)}", Diagnostics);

        await cbcsPublisher.DisposeAsync();
        await cencPublisher.DisposeAsync();
        string log;
        await using (var stream = new FileStream(logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        using (var text = new StreamReader(stream))
            log = await text.ReadToEndAsync();
        Assert.True(log.Length > 0, "empty server log");
        foreach (var key in new[] { cbcsKey, cencKey })
        {
            Assert.DoesNotContain(key, log, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToBase64String(Convert.FromHexString(key)).TrimEnd('='), log, StringComparison.Ordinal);
        }
    }

    internal sealed record Created(string Id, string Slug, string StreamKey);

    /// <summary>What the test reads from a protected MPD: the KID and the first video segment's URLs.</summary>
    private sealed record ProtectedMpd(string Kid, Uri Init, Uri Segment);

    /// <summary>A channel made through the API with <paramref name="protection"/> ("cbcs", "cenc", "aes-128").</summary>
    internal static async Task<Created> CreateAsync(ServerProcess server, string protection)
    {
        using var create = await server.Http.PostAsJsonAsync("api/channels", new { name = $"clearkey {protection} {Guid.NewGuid():N}", protection });
        string text = await create.Content.ReadAsStringAsync();
        Assert.True(create.StatusCode == HttpStatusCode.Created, text);
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal(protection, root.GetProperty("protection").GetString());
        return new Created(root.GetProperty("id").GetString()!, root.GetProperty("slug").GetString()!, root.GetProperty("streamKey").GetString()!);
    }

    /// <summary>Waits for the MPD to list a video segment, then checks its protection descriptors.</summary>
    private static async Task<ProtectedMpd> ProtectedMpdAsync(ServerProcess server, string slug, string scheme, int httpPort, Func<string> diagnostics)
    {
        var url = new Uri(server.BaseUri, $"live/{slug}/manifest.mpd");
        string text = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(url);
            text = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return text.Contains("<S ", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), $"{url} to list segments", diagnostics);
        var mpd = XDocument.Parse(text);
        var video = mpd.Descendants(Mpd + "AdaptationSet").First(a => (string?)a.Attribute("contentType") == "video"
            || ((string?)a.Attribute("mimeType"))?.StartsWith("video", StringComparison.Ordinal) == true);
        var protections = video.Elements(Mpd + "ContentProtection").ToList();
        var mp4 = protections.Single(p => (string?)p.Attribute("schemeIdUri") == "urn:mpeg:dash:mp4protection:2011");
        Assert.Equal(scheme, (string?)mp4.Attribute("value"));
        string kid = ((string?)mp4.Attribute(Cenc + "default_KID"))!.Replace("-", "", StringComparison.Ordinal);
        var clearKey = protections.Single(p => (string?)p.Attribute("schemeIdUri") == "urn:uuid:e2719d58-a985-b3c9-781a-b030af78d30e");
        Assert.Equal($"http://127.0.0.1:{httpPort}/live/{slug}/license", (string?)clearKey.Element(DashIf + "Laurl"));
        var template = video.Descendants(Mpd + "SegmentTemplate").First();
        string representation = (string)video.Elements(Mpd + "Representation").First().Attribute("id")!;
        string Expand(string pattern, string number) =>
            pattern.Replace("$RepresentationID$", representation, StringComparison.Ordinal).Replace("$Number$", number, StringComparison.Ordinal);
        return new ProtectedMpd(kid, new Uri(url, Expand((string)template.Attribute("initialization")!, "")),
            new Uri(url, Expand((string)template.Attribute("media")!, (string)template.Attribute("startNumber")!)));
    }

    private static string LicenseRequest(string kidHex) =>
        JsonSerializer.Serialize(new { kids = new[] { Base64Url(Convert.FromHexString(kidHex)) }, type = "temporary" });

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static async Task<HttpResponseMessage> PostLicenseAsync(HttpClient client, string slug, string body, string? bearer)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"live/{slug}/license") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await client.SendAsync(request);
    }

    /// <summary>The key (hex) the license answers for one KID, checked against W3C EME §9.1.4's shape.</summary>
    private static async Task<string> LicenseKeyAsync(HttpClient client, string slug, string kidHex, string? bearer)
    {
        using var response = await PostLicenseAsync(client, slug, LicenseRequest(kidHex), bearer);
        string text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"license {(int)response.StatusCode}: {text}");
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal("temporary", root.GetProperty("type").GetString());
        var key = Assert.Single(root.GetProperty("keys").EnumerateArray());
        Assert.Equal("oct", key.GetProperty("kty").GetString());
        Assert.Equal(Base64Url(Convert.FromHexString(kidHex)), key.GetProperty("kid").GetString());
        string k = key.GetProperty("k").GetString()!.Replace('-', '+').Replace('_', '/');
        return Convert.ToHexStringLower(Convert.FromBase64String(k + new string('=', (4 - k.Length % 4) % 4)));
    }

    /// <summary>The first video segment after its init segment: ffmpeg decodes it without an error only with the key.</summary>
    private static async Task CheckDecodingAsync(ServerProcess server, ProtectedMpd mpd, string keyHex)
    {
        using var file = new TempDirectory("clearkey-segment");
        string path = Path.Combine(file.Path, "video.mp4");
        await File.WriteAllBytesAsync(path, [.. await server.Viewer.GetByteArrayAsync(mpd.Init), .. await server.Viewer.GetByteArrayAsync(mpd.Segment)]);
        var (frames, errors) = Decode(path, "-decryption_key", keyHex);
        Assert.True(frames > 0 && errors.Length == 0, $"with the license's key: {frames} frames, errors:{Environment.NewLine}{errors}");
        var (_, without) = Decode(path);
        Assert.True(without.Length > 0, "ffmpeg decoded the encrypted segment without an error and without the key");
        var (_, wrong) = Decode(path, "-decryption_key", new string('0', 32));
        Assert.True(wrong.Length > 0, "ffmpeg decoded the encrypted segment without an error with a wrong key");
    }

    /// <summary>Decoded video frames and ffmpeg's error lines (with its exit code when not 0), the file read through a pipe (<see cref="FrameMd5"/>).</summary>
    private static (int Frames, string Errors) Decode(string path, params string[] arguments)
    {
        var decoded = FrameMd5.Of(path, "0:v", arguments);
        return (decoded.Hashes.Count, decoded.Errors + (decoded.ExitCode == 0 ? "" : $"{Environment.NewLine}exit {decoded.ExitCode}"));
    }

    /// <summary>
    /// Waits for the clip's ends to be cut, checks its playlists keep the broadcast's key tags (the media playlist's before
    /// its first EXT-X-MAP, the re-cut first piece's init), then plays it in hls.js with the channel's license past that piece.
    /// </summary>
    private static async Task PlayClipAsync(BrowserHost browser, ServerProcess server, Created channel, (string Api, Uri Master) clip,
        string method, string kidHex, Func<string> diagnostics)
    {
        var (master, media) = await ProtectedClipPlayback.CutAsync(server, clip, diagnostics);
        string Playlists() => $"{master}{Environment.NewLine}{media}{Environment.NewLine}{diagnostics()}";
        Assert.True(master.Contains($"#EXT-X-SESSION-KEY:{KeyAttributes(method, kidHex)}\n", StringComparison.Ordinal), Playlists());
        int key = media.IndexOf($"#EXT-X-KEY:{KeyAttributes(method, kidHex)}\n", StringComparison.Ordinal);
        int map = media.IndexOf("#EXT-X-MAP:URI=\"source/first-init.mp4\"\n", StringComparison.Ordinal);
        Assert.True(key > 0 && key < map, Playlists());
        double piece = ProtectedClipPlayback.FirstPieceSeconds(media, Playlists);
        await ProtectedClipPlayback.PlaysPastFirstPieceAsync(browser, clip.Master, new Uri(server.BaseUri, $"live/{channel.Slug}/license").ToString(),
            piece, Clip, $"clip of {channel.Slug}", diagnostics);
    }

    /// <summary>The key tags' attributes for ClearKey (RFC 8216bis §4.4.4.4): the KID as a data URI, never the key.</summary>
    private static string KeyAttributes(string method, string kidHex) =>
        $"METHOD={method},URI=\"data:text/plain;base64,{Convert.ToBase64String(Convert.FromHexString(kidHex))}\","
        + "KEYFORMAT=\"org.w3.clearkey\",KEYFORMATVERSIONS=\"1\"";

    /// <summary>
    /// The HLS master names the key as EXT-X-SESSION-KEY and a media playlist as EXT-X-KEY before its EXT-X-MAP (RFC 8216bis
    /// §4.4.4.4: SAMPLE-AES for cbcs, SAMPLE-AES-CTR for cenc), by the MPD's KID and for ClearKey; never the key.
    /// </summary>
    private static async Task CheckHlsKeyTagsAsync(ServerProcess server, string slug, string method, string kidHex, Func<string> diagnostics)
    {
        string expected = KeyAttributes(method, kidHex);
        string master = "", media = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var m = await server.Viewer.GetAsync($"live/{slug}/master.m3u8");
            master = m.IsSuccessStatusCode ? await m.Content.ReadAsStringAsync() : $"{(int)m.StatusCode}";
            using var v = await server.Viewer.GetAsync($"live/{slug}/source/index.m3u8");
            media = v.IsSuccessStatusCode ? await v.Content.ReadAsStringAsync() : $"{(int)v.StatusCode}";
            return master.Contains("#EXT-X-STREAM-INF", StringComparison.Ordinal) && media.Contains("#EXTINF", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), $"{slug}'s HLS master and source playlist", () => $"{master}{Environment.NewLine}{media}{Environment.NewLine}{diagnostics()}");
        Assert.Contains($"#EXT-X-SESSION-KEY:{expected}\n", master, StringComparison.Ordinal);
        int key = media.IndexOf($"#EXT-X-KEY:{expected}\n", StringComparison.Ordinal);
        Assert.True(key > 0 && key < media.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal), media);
    }

    /// <summary>The dashboard's watch page (its own hls.js, ClearKey on) plays the channel past three seconds.</summary>
    private static async Task WatchPageAsync(BrowserHost browser, ServerProcess server, string slug, string query, Func<string> diagnostics)
    {
        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync(new Uri(server.BaseUri, $"watch/{slug}{query}").ToString());
            await page.WaitForFunctionAsync("() => !!window.__watch && window.__watch.video.currentTime > 3", null, new() { Timeout = 60_000 });
            Assert.True(await page.EvaluateAsync<int>("() => window.__watch.video.videoWidth") == Clip.Width, diagnostics());
        }
        catch (Microsoft.Playwright.PlaywrightException e)
        {
            Assert.Fail($"the watch page of {slug} did not play: {e.Message}{Environment.NewLine}{diagnostics()}");
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private static async Task PlayAsync(BrowserHost browser, PlayerKind kind, ServerProcess server, string slug, Func<string> diagnostics)
    {
        await using var player = await browser.OpenAsync(kind);
        if (kind == PlayerKind.Hls)
            await player.StartAsync(new Uri(server.BaseUri, $"live/{slug}/master.m3u8").ToString(), new Uri(server.BaseUri, $"live/{slug}/license").ToString());
        else
            await player.StartAsync(new Uri(server.BaseUri, $"live/{slug}/manifest.mpd").ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), diagnostics);
            double start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 6, TimeSpan.FromSeconds(45), diagnostics);
            Assert.Equal(Clip.Width, await player.GetVideoWidthAsync());
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, $"{kind} {slug}: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"clearkey-{kind}-{slug}.png"));
            throw;
        }
    }
}
