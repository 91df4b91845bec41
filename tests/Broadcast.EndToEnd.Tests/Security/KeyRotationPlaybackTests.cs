using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// Key rotation end to end (docs/protection.md, "Key rotation"): a <c>cbcs</c> channel with a new key every 10 one-second
/// segments publishes; its MPD names no KID (the keys come in band), its media playlist names each key before its first
/// segment; Shaka (through the MPD, and through the playlists as docs/protection.md configures it) and hls.js (through the
/// playlists) play with ClearKey across three rotations without
/// ever waiting for a key, each asking the license for each new key as it comes. A clip cut across a rotation names both
/// keys and plays through it in hls.js. Once the channel is private, a viewer's token that expired
/// gets no key of the next period (403), while a live token does. dash.js 5.2 is not here: it cannot play in-band ClearKey
/// keys (docs/protection.md, "Key rotation").
/// </summary>
public sealed partial class KeyRotationPlaybackTests(ITestOutputHelper output)
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, GopFrames = 30, VideoBitrateKbps = 600 };
    private const int SegmentsPerKey = 10;
    private static readonly XNamespace Mpd = "urn:mpeg:dash:schema:mpd:2011";
    private static readonly XNamespace Cenc = "urn:mpeg:cenc:2013";

    [GeneratedRegex("#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,([A-Za-z0-9+/=]+)\"")]
    private static partial Regex KeyTag();

    [Fact]
    public async Task Shaka_and_hlsjs_play_across_three_rotations_and_an_expired_token_gets_no_next_key()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        int httpPort = FreePort.Tcp();
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            HttpPort = httpPort,
            ExtraArguments = ["--Transcode:Enabled=false", "--Packager:SegmentSeconds=1", $"--Public:HttpBaseUrl=http://127.0.0.1:{httpPort}"],
        });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail()}";

        using var create = await server.Http.PostAsJsonAsync("api/channels",
            new { name = $"rotation {Guid.NewGuid():N}", protection = "cbcs", keyRotationSegments = SegmentsPerKey });
        string created = await create.Content.ReadAsStringAsync();
        Assert.True(create.StatusCode == HttpStatusCode.Created, created);
        var channel = JsonDocument.Parse(created).RootElement;
        Assert.Equal(SegmentsPerKey, channel.GetProperty("keyRotationSegments").GetInt32());
        string id = channel.GetProperty("id").GetString()!, slug = channel.GetProperty("slug").GetString()!;
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.GetProperty("streamKey").GetString()!), loops: 30);

        // The MPD: the scheme and ClearKey's license, no KID and no pssh (DASH-IF: a rotated key is signalled in band).
        string mpdText = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync($"live/{slug}/manifest.mpd");
            mpdText = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return mpdText.Contains("<S ", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), "the MPD to list segments", Diagnostics);
        foreach (var set in XDocument.Parse(mpdText).Descendants(Mpd + "AdaptationSet"))
        {
            var mp4 = set.Elements(Mpd + "ContentProtection").Single(p => (string?)p.Attribute("schemeIdUri") == "urn:mpeg:dash:mp4protection:2011");
            Assert.Equal("cbcs", (string?)mp4.Attribute("value"));
            Assert.Null(mp4.Attribute(Cenc + "default_KID"));
            Assert.Empty(set.Descendants(Cenc + "pssh"));
        }

        // Every KID the source playlist named while the players played: at least four keys, three rotations.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string query = "";
        async Task<IReadOnlyList<string>> PlaylistKidsAsync()
        {
            using var r = await server.Viewer.GetAsync($"live/{slug}/source/index.m3u8{query}");
            if (!r.IsSuccessStatusCode) return [];
            var kids = KeyTag().Matches(await r.Content.ReadAsStringAsync()).Select(m => Convert.ToHexStringLower(Convert.FromBase64String(m.Groups[1].Value))).ToList();
            lock (seen) seen.UnionWith(kids);
            return kids;
        }
        using var watching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!watching.IsCancellationRequested)
            {
                await PlaylistKidsAsync();
                try { await Task.Delay(1000, watching.Token); } catch (OperationCanceledException) { }
            }
        });

        await using (var browser = await BrowserHost.StartAsync())
        {
            string license = new Uri(server.BaseUri, $"live/{slug}/license").ToString();
            await Task.WhenAll(
                PlayAcrossRotationsAsync(browser, PlayerKind.Shaka, new Uri(server.BaseUri, $"live/{slug}/manifest.mpd").ToString(), null, Diagnostics),
                PlayAcrossRotationsAsync(browser, PlayerKind.Hls, new Uri(server.BaseUri, $"live/{slug}/master.m3u8").ToString(), license, Diagnostics),
                PlayAcrossRotationsAsync(browser, PlayerKind.Shaka, new Uri(server.BaseUri, $"live/{slug}/master.m3u8").ToString(), license, Diagnostics));
            await PlayRotatedClipAsync(browser, server, id, slug, license, Diagnostics);
        }
        await watching.CancelAsync();
        await watcher;
        lock (seen) Assert.True(seen.Count >= 4, $"the playlist named {seen.Count} keys while the players played{Environment.NewLine}{Diagnostics()}");

        // Private now: a token that expires before the next rotation gets the current key, then not the next one.
        using (var patch = await server.Http.PatchAsJsonAsync($"api/channels/{id}", new { privatePlayback = true }))
            Assert.True(patch.IsSuccessStatusCode, Diagnostics());
        string shortToken = await MintAsync(server, id, seconds: 12), longToken = await MintAsync(server, id, seconds: 600);
        query = $"?token={Uri.EscapeDataString(longToken)}";
        using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUri };
        string current = "";
        await WaitFor.ConditionAsync(async () => (await PlaylistKidsAsync()) is { Count: > 0 } kids && (current = kids[^1]).Length > 0,
            TimeSpan.FromSeconds(30), "the private playlist to name its key", Diagnostics);
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await PostLicenseAsync(stranger, slug, current, shortToken);
            return r.StatusCode == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(30), "the short token to get the current key", Diagnostics);
        var expires = DateTimeOffset.UtcNow.AddSeconds(12);
        string next = "";
        await WaitFor.ConditionAsync(async () =>
        {
            next = (await PlaylistKidsAsync()) is { Count: > 0 } kids ? kids[^1] : current;
            return next != current && DateTimeOffset.UtcNow > expires.AddSeconds(1);
        }, TimeSpan.FromSeconds(60), "a rotation after the short token expired", Diagnostics);
        using (var refused = await PostLicenseAsync(stranger, slug, next, shortToken))
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"expired token: {(int)refused.StatusCode} {await refused.Content.ReadAsStringAsync()}");
        using (var answered = await PostLicenseAsync(stranger, slug, next, longToken))
            Assert.True(answered.StatusCode == HttpStatusCode.OK, $"live token: {(int)answered.StatusCode} {await answered.Content.ReadAsStringAsync()}");
    }

    private static async Task<string> MintAsync(ServerProcess server, string channelId, int seconds)
    {
        using var mint = await server.Http.PostAsJsonAsync($"api/channels/{channelId}/playback-tokens", new { expiresInSeconds = seconds });
        string text = await mint.Content.ReadAsStringAsync();
        Assert.True(mint.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("token").GetString()!;
    }

    private static async Task<HttpResponseMessage> PostLicenseAsync(HttpClient client, string slug, string kidHex, string bearer)
    {
        string kid = Convert.ToBase64String(Convert.FromHexString(kidHex)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        using var request = new HttpRequestMessage(HttpMethod.Post, $"live/{slug}/license")
        {
            Content = new StringContent(JsonSerializer.Serialize(new { kids = new[] { kid }, type = "temporary" }), Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await client.SendAsync(request);
    }

    /// <summary>
    /// A clip across a rotation (docs/protection.md, "Clips of protected broadcasts"): from 1.9 s before a key period's first
    /// segment to 2.5 s after it, so both ends are re-cut to the frame and encrypted again, each under its own period's key.
    /// Its media playlist names both keys, and hls.js plays it through the rotation asking the license for both, with no wait
    /// for a key.
    /// </summary>
    private async Task PlayRotatedClipAsync(BrowserHost browser, ServerProcess server, string channelId, string slug, string license, Func<string> diagnostics)
    {
        string playlist = "";
        DateTimeOffset periodStart = default;
        await WaitFor.ConditionAsync(async () =>
        {
            playlist = await server.Viewer.GetStringAsync($"live/{slug}/source/index.m3u8");
            return LatestPeriodStart(playlist) is { } start && (periodStart = start) != default;
        }, TimeSpan.FromSeconds(60), "a key period's first segment with two segments before it and three after in the live playlist",
            () => $"{playlist}{Environment.NewLine}{diagnostics()}");
        var clip = await ProtectedClipPlayback.CreateAsync(server, channelId, periodStart.AddSeconds(-1.9), periodStart.AddSeconds(2.5),
            "Across a rotation", diagnostics);
        var (_, media) = await ProtectedClipPlayback.CutAsync(server, clip, diagnostics);
        var kids = KeyTag().Matches(media).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.True(kids.Count == 2, $"the clip across a rotation names {kids.Count} keys:{Environment.NewLine}{media}");
        // 1.9 s of the first key, then past the rotation into the second's.
        await PlayAcrossRotationsAsync(browser, PlayerKind.Hls, clip.Master.ToString(), license, diagnostics, seconds: 3.4, keys: 2);
    }

    /// <summary>
    /// The program date of the newest segment that starts a key period (an EXT-X-KEY before it) with at least two segments
    /// before it and three after it in <paramref name="playlist"/>, or null.
    /// </summary>
    private static DateTimeOffset? LatestPeriodStart(string playlist)
    {
        var segments = Clips.ClipFrameEndToEndTests.KeyedSegments(playlist);
        for (int i = segments.Count - 4; i >= 2; i--)
            if (segments[i].AfterKeyTag) return segments[i].Start;
        return null;
    }

    /// <summary>Plays <paramref name="seconds"/> of media (35 s by default: a period is 10 s, so at least three rotations pass) and
    /// asserts no fatal error, no wait for a key, and that the player asked the license for each of the <paramref name="keys"/>
    /// keys it met.</summary>
    private async Task PlayAcrossRotationsAsync(BrowserHost browser, PlayerKind kind, string url, string? license, Func<string> diagnostics,
        double seconds = 3.5 * SegmentsPerKey, int keys = 4)
    {
        await using var player = await browser.OpenAsync(kind);
        // The KIDs the player's key system asked the license for (W3C EME §9.1.3: {"kids":[base64url, …]}).
        var asked = new HashSet<string>(StringComparer.Ordinal);
        player.Page.Request += (_, r) =>
        {
            if (r.Method != "POST" || !r.Url.EndsWith("/license", StringComparison.Ordinal) || r.PostData is not { } body) return;
            try
            {
                lock (asked)
                    foreach (var kid in JsonDocument.Parse(body).RootElement.GetProperty("kids").EnumerateArray()) asked.Add(kid.GetString()!);
            }
            catch (JsonException) { }
        };
        await player.StartAsync(url, license);
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), diagnostics);
            double start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + seconds, TimeSpan.FromSeconds(90), diagnostics);
            Assert.Equal(Clip.Width, await player.GetVideoWidthAsync());
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, $"{kind}: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            // Its first key and one more for each of the three rotations it played through, each asked for as it came.
            lock (asked) Assert.True(asked.Count >= keys, $"{kind} asked the license for {asked.Count} keys: {string.Join(", ", asked)}");
            // No stall for a key: the element never waited for one (EME 'waitingforkey') once it played. A buffer stall of a
            // loaded machine is another matter (a slow CPU, not the rotation): it is printed, not failed on.
            var keyWaits = await player.GetKeyWaitsAsync();
            Assert.True(keyWaits.Count == 0, $"{kind} waited for a key {keyWaits.Count} time(s){Environment.NewLine}{await player.DescribeAsync()}");
            var stalls = await player.GetStallsAsync();
            output.WriteLine($"{kind}: {asked.Count} keys asked for, {stalls.Count} buffer stall(s) (not key waits){(stalls.Count > 0 ? ": " + string.Join(" | ", stalls) : "")}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"rotation-{kind}.png"));
            throw;
        }
    }
}
