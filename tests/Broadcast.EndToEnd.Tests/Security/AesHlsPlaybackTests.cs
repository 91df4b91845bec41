using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.LowLatency;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>
/// AES-128 HLS end to end (docs/protection.md, RFC 8216bis §4.4.4.4 METHOD=AES-128): an <c>aes-128</c> channel publishes;
/// its playlists name the key route after the EXT-X-MAP and write no MPD; ffmpeg's HLS demuxer fetches the key itself and
/// decodes the master's video at the clip's size; a media segment alone is no CMAF ffprobe can read, while the same bytes
/// decrypted here (.NET's AES-128-CBC, the key route's key, IV the segment's media sequence number, §5.2) after the clear
/// init segment are; hls.js plays it in Chromium with no key system, and a low-latency <c>aes-128</c> channel in its LL
/// mode from parts each encrypted alone under its segment's IV; a clip of it, its first segment re-cut and encrypted again,
/// names each segment's IV and plays in hls.js; once private, the key route wants the playback token.
/// </summary>
public sealed partial class AesHlsPlaybackTests(ITestOutputHelper output)
{
    private static readonly ClipSpec Clip = new() { Seconds = 20, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    [Fact]
    public async Task An_aes128_channel_decodes_in_ffmpeg_plays_in_hlsjs_live_and_low_latency_and_its_key_follows_playback_authorization()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var llClip = await TestMedia.GetClipAsync(LowLatencyServerFixture.Clip);
        await using var server = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = ["--Transcode:Enabled=false"] });
        string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{server.LogTail()}";

        var live = await CreateAsync(server, lowLatency: false);
        var ll = await CreateAsync(server, lowLatency: true);
        await using var livePublisher = FfmpegPublisher.Start(clip, server.RtmpUrl(live.StreamKey), loops: 4);
        await using var llPublisher = FfmpegPublisher.Start(llClip, server.RtmpUrl(ll.StreamKey), loops: 9);

        var playlist = await KeyedPlaylistAsync(server, live.Slug, "#EXTINF", Diagnostics);
        using (var mpd = await server.Viewer.GetAsync($"live/{live.Slug}/manifest.mpd"))
            Assert.Equal(HttpStatusCode.NotFound, mpd.StatusCode); // no DASH for whole-segment encryption

        // The key route answers the raw 16 bytes, never to be kept by a cache.
        using var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUri };
        byte[] key;
        using (var answer = await stranger.GetAsync(playlist.KeyUri))
        {
            Assert.True(answer.StatusCode == HttpStatusCode.OK, $"key route {(int)answer.StatusCode}{Environment.NewLine}{Diagnostics()}");
            Assert.Equal("application/octet-stream", answer.Content.Headers.ContentType?.MediaType);
            Assert.True(answer.Headers.CacheControl?.NoStore == true, $"Cache-Control: {answer.Headers.CacheControl}");
            key = await answer.Content.ReadAsByteArrayAsync();
        }
        Assert.Equal(16, key.Length);

        // (a) ffmpeg's HLS demuxer reads the master, fetches the key from the EXT-X-KEY URI and decodes video at the clip's size.
        await CheckFfmpegDecodesTheMasterAsync(new Uri(server.BaseUri, $"live/{live.Slug}/master.m3u8"), Diagnostics);

        // (b) A segment alone is opaque; decrypted with the key and its number as IV, after the clear init segment, it is CMAF.
        await CheckSegmentDecryptsOnlyWithTheKeyAsync(server, playlist, key);

        // A clip asked for now (its first segment re-cut from 0.9 s in), so its ends are cut while the players below play.
        var clipMade = await ProtectedClipPlayback.MakeAsync(server, live.Id, live.Slug, Diagnostics);

        // (c) hls.js fetches the key itself (no EME) and plays; (d) in LL mode, from parts decrypted one by one.
        var llPlaylist = await KeyedPlaylistAsync(server, ll.Slug, "#EXT-X-PART:", Diagnostics);
        await CheckPartDecryptsAloneAsync(server, llPlaylist, Diagnostics);
        await using (var browser = await BrowserHost.StartAsync())
        {
            await Task.WhenAll(
                PlayAsync(browser, PlayerKind.Hls, server, live.Slug, Clip.Width, expectParts: false, Diagnostics),
                PlayAsync(browser, PlayerKind.HlsCatchingUp, server, ll.Slug, LowLatencyServerFixture.Clip.Width, expectParts: true, Diagnostics));
            // (f) The clip, once cut: every segment it lists names the key with an explicit IV (the clip renumbers them), and
            // hls.js plays it through its re-cut first piece into the broadcast's stored segments.
            await PlayClipAsync(browser, server, clipMade, playlist.KeyUri, Diagnostics);
        }

        // (e) The channel turns private: its key route now wants the viewer's playback token, as its playlists do.
        using (var patch = await server.Http.PatchAsJsonAsync($"api/channels/{live.Id}", new { privatePlayback = true }))
            Assert.True(patch.IsSuccessStatusCode, Diagnostics());
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await stranger.GetAsync(playlist.KeyUri);
            return r.StatusCode == HttpStatusCode.Unauthorized;
        }, TimeSpan.FromSeconds(30), "the private channel's key route to answer 401 without a token", Diagnostics);
        using var mint = await server.Http.PostAsJsonAsync($"api/channels/{live.Id}/playback-tokens", new { expiresInSeconds = 900 });
        Assert.True(mint.StatusCode == HttpStatusCode.OK, Diagnostics());
        string token = JsonDocument.Parse(await mint.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using (var forged = await stranger.GetAsync($"{playlist.KeyUri}?token={Uri.EscapeDataString(token[..^4] + "AAAA")}"))
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        Assert.Equal(key, await stranger.GetByteArrayAsync($"{playlist.KeyUri}?token={Uri.EscapeDataString(token)}"));
        using var bearer = new HttpRequestMessage(HttpMethod.Get, playlist.KeyUri);
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var withBearer = await stranger.SendAsync(bearer))
        {
            Assert.Equal(HttpStatusCode.OK, withBearer.StatusCode);
            Assert.Equal(key, await withBearer.Content.ReadAsByteArrayAsync());
        }
    }

    private sealed record Created(string Id, string Slug, string StreamKey);

    /// <summary>
    /// What the test reads from a media playlist: its URL, its text, the key route's path (EXT-X-KEY's URI), the init
    /// segment (EXT-X-MAP) and the first segment with its media sequence number (EXT-X-MEDIA-SEQUENCE, RFC 8216bis §4.4.3.2).
    /// </summary>
    private sealed record KeyedPlaylist(Uri Url, string Text, string KeyUri, Uri Init, Uri FirstSegment, long FirstSequence);

    private static async Task<Created> CreateAsync(ServerProcess server, bool lowLatency)
    {
        using var create = await server.Http.PostAsJsonAsync("api/channels", new { name = $"aes {Guid.NewGuid():N}", protection = "aes-128", lowLatency });
        string text = await create.Content.ReadAsStringAsync();
        Assert.True(create.StatusCode == HttpStatusCode.Created, text);
        var root = JsonDocument.Parse(text).RootElement;
        Assert.Equal("aes-128", root.GetProperty("protection").GetString());
        return new Created(root.GetProperty("id").GetString()!, root.GetProperty("slug").GetString()!, root.GetProperty("streamKey").GetString()!);
    }

    [GeneratedRegex("^#EXT-X-KEY:METHOD=AES-128,URI=\"(?<uri>/live/[^\"/]+/key/(?<kid>[0-9a-f]{32}))\"$", RegexOptions.Multiline)]
    private static partial Regex KeyTag();

    [GeneratedRegex("^#EXT-X-MAP:URI=\"(?<uri>[^\"]+)\"", RegexOptions.Multiline)]
    private static partial Regex MapTag();

    [GeneratedRegex("^#EXT-X-MEDIA-SEQUENCE:(?<msn>[0-9]+)$", RegexOptions.Multiline)]
    private static partial Regex MediaSequence();

    /// <summary>
    /// Waits for the channel's source playlist to list <paramref name="until"/>, then checks the key tags: the master's
    /// EXT-X-SESSION-KEY and the media playlist's EXT-X-KEY right after its EXT-X-MAP, naming the same key route.
    /// </summary>
    private static async Task<KeyedPlaylist> KeyedPlaylistAsync(ServerProcess server, string slug, string until, Func<string> diagnostics)
    {
        var url = new Uri(server.BaseUri, $"live/{slug}/source/index.m3u8");
        string master = "", media = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var m = await server.Viewer.GetAsync($"live/{slug}/master.m3u8");
            master = m.IsSuccessStatusCode ? await m.Content.ReadAsStringAsync() : $"{(int)m.StatusCode}";
            using var v = await server.Viewer.GetAsync(url);
            media = v.IsSuccessStatusCode ? await v.Content.ReadAsStringAsync() : $"{(int)v.StatusCode}";
            return master.Contains("#EXT-X-STREAM-INF", StringComparison.Ordinal) && media.Contains(until, StringComparison.Ordinal)
                && media.Contains("#EXTINF", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), $"{slug}'s HLS master and source playlist", () => $"{master}{Environment.NewLine}{media}{Environment.NewLine}{diagnostics()}");
        var key = KeyTag().Match(media);
        var map = MapTag().Match(media);
        Assert.True(key.Success && map.Success, media);
        Assert.Equal($"/live/{slug}/key/{key.Groups["kid"].Value}", key.Groups["uri"].Value);
        // The key comes right after the map: a key in force before it would apply to the clear init segment (§4.4.4.5).
        Assert.Equal(media.IndexOf('\n', map.Index) + 1, key.Index);
        Assert.Contains($"#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"{key.Groups["uri"].Value}\"", master, StringComparison.Ordinal);
        var sequence = MediaSequence().Match(media);
        Assert.True(sequence.Success, media);
        // The first segment line after the first EXTINF is the playlist's first segment, numbered EXT-X-MEDIA-SEQUENCE.
        var lines = media.Split('\n');
        int extinf = Array.FindIndex(lines, l => l.StartsWith("#EXTINF", StringComparison.Ordinal));
        string first = lines.Skip(extinf + 1).First(l => l.Length > 0 && l[0] != '#');
        return new KeyedPlaylist(url, media, key.Groups["uri"].Value, new Uri(url, map.Groups["uri"].Value), new Uri(url, first),
            long.Parse(sequence.Groups["msn"].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>AES-128-CBC with PKCS7 under the IV RFC 8216bis §5.2 derives when the tag names none: the media sequence number, 128-bit big-endian.</summary>
    private static byte[] Decrypt(byte[] key, byte[] stored, long mediaSequence)
    {
        using var aes = Aes.Create();
        aes.Key = key;
        var iv = new byte[16];
        BinaryPrimitives.WriteInt64BigEndian(iv.AsSpan(8), mediaSequence);
        return aes.DecryptCbc(stored, iv, PaddingMode.PKCS7);
    }

    private static string BoxType(byte[] bytes) => bytes.Length >= 8 ? Encoding.ASCII.GetString(bytes, 4, 4) : "";

    /// <summary>ffmpeg decodes 60 video frames of the live master with no error; framemd5 names their size.</summary>
    private async Task CheckFfmpegDecodesTheMasterAsync(Uri master, Func<string> diagnostics)
    {
        using var dir = new TempDirectory("aes-hls-ffmpeg");
        string framesFile = Path.Combine(dir.Path, "frames.txt");
        var run = await ExternalProcess.RunAsync("ffmpeg",
            ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", master.ToString(), "-map", "0:v:0", "-frames:v", "60", "-f", "framemd5", "-y", framesFile],
            TimeSpan.FromSeconds(90));
        string frames = File.Exists(framesFile) ? await File.ReadAllTextAsync(framesFile) : "";
        int decoded = frames.Split('\n').Count(l => l.Length > 0 && l[0] != '#');
        string what = $"ffmpeg on {master}: exit {run.ExitCode}, {decoded} frames{Environment.NewLine}{run.OutputTail}{Environment.NewLine}{frames[..Math.Min(400, frames.Length)]}";
        Assert.True(run.ExitCode == 0 && decoded == 60 && run.OutputTail.Trim().Length == 0, $"{what}{Environment.NewLine}{diagnostics()}");
        Assert.Contains($"#dimensions 0: {Clip.Width}x{Clip.Height}", frames, StringComparison.Ordinal);
        output.WriteLine($"ffmpeg decoded {decoded} frames of {master} at {Clip.Width}x{Clip.Height}");
    }

    /// <summary>The first segment of the playlist: ffprobe finds no stream in it alone, nor after the init segment; decrypted it decodes.</summary>
    private async Task CheckSegmentDecryptsOnlyWithTheKeyAsync(ServerProcess server, KeyedPlaylist playlist, byte[] key)
    {
        byte[] init = await server.Viewer.GetByteArrayAsync(playlist.Init);
        byte[] stored = await server.Viewer.GetByteArrayAsync(playlist.FirstSegment);
        Assert.Equal("ftyp", BoxType(init)); // the init segment stays clear
        Assert.Equal(0, stored.Length % 16);
        using var dir = new TempDirectory("aes-hls-segment");
        string alone = Path.Combine(dir.Path, "alone.m4s"), withInit = Path.Combine(dir.Path, "with-init.mp4"), clear = Path.Combine(dir.Path, "clear.mp4");
        await File.WriteAllBytesAsync(alone, stored);
        await File.WriteAllBytesAsync(withInit, [.. init, .. stored]);
        await File.WriteAllBytesAsync(clear, [.. init, .. Decrypt(key, stored, playlist.FirstSequence)]);

        var probeAlone = await ExternalProcess.RunAsync("ffprobe", ["-hide_banner", "-v", "error", "-of", "json", "-show_streams", alone], TimeSpan.FromSeconds(60));
        Assert.True(probeAlone.ExitCode != 0 || FfProbe.Parse(probeAlone.StandardOutput).Streams.Count == 0,
            $"ffprobe read the encrypted segment {playlist.FirstSegment} alone:{Environment.NewLine}{probeAlone.StandardOutput}");
        // After the clear init segment ffprobe sees the tracks the moov names, but no frame of the encrypted fragment.
        var probeEncrypted = await ExternalProcess.RunAsync("ffprobe",
            ["-hide_banner", "-v", "error", "-of", "json", "-count_frames", "-select_streams", "v:0", "-show_streams", withInit], TimeSpan.FromSeconds(60));
        long? encryptedFrames = probeEncrypted.ExitCode == 0 ? FfProbe.Parse(probeEncrypted.StandardOutput).Video?.ReadFrames : null;
        Assert.True(encryptedFrames is null or 0, $"ffprobe decoded {encryptedFrames} frames of the encrypted segment after its init segment");

        var decrypted = await FfProbe.ProbeAsync(clear, countFrames: true);
        Assert.True(decrypted.Video is { } video && video.Width == Clip.Width && video.Height == Clip.Height && video.ReadFrames > 0,
            $"the decrypted segment {playlist.FirstSegment} (msn {playlist.FirstSequence}): {string.Join("; ", decrypted.Streams)}");
        output.WriteLine($"segment {playlist.FirstSegment.Segments[^1]} (msn {playlist.FirstSequence}, {stored.Length} B): alone ffprobe exit {probeAlone.ExitCode}, "
            + $"after init {encryptedFrames?.ToString(CultureInfo.InvariantCulture) ?? "no"} frames; decrypted {decrypted.Video!.ReadFrames} frames");
    }

    /// <summary>
    /// A low-latency playlist's newest complete part decrypts alone to a CMAF fragment with its parent segment's number as IV
    /// (the segment that follows its EXT-X-PART lines, RFC 8216bis §4.4.4.9).
    /// </summary>
    private async Task CheckPartDecryptsAloneAsync(ServerProcess server, KeyedPlaylist playlist, Func<string> diagnostics)
    {
        byte[] key = await server.Viewer.GetByteArrayAsync(playlist.KeyUri);
        long msn = playlist.FirstSequence;
        string? part = null;
        long partSequence = -1;
        foreach (string line in playlist.Text.Split('\n'))
        {
            if (line.StartsWith("#EXT-X-PART:", StringComparison.Ordinal))
            {
                part = Regex.Match(line, "URI=\"(?<uri>[^\"]+)\"").Groups["uri"].Value;
                partSequence = msn;
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                msn++; // a segment line: the parts listed after it belong to the next segment
            }
        }

        Assert.True(part is not null, playlist.Text);
        byte[] stored = await server.Viewer.GetByteArrayAsync(new Uri(playlist.Url, part));
        Assert.Equal(0, stored.Length % 16);
        Assert.NotEqual("moof", BoxType(stored));
        byte[] clear;
        try
        {
            clear = Decrypt(key, stored, partSequence);
        }
        catch (CryptographicException e)
        {
            throw new Xunit.Sdk.XunitException($"part {part} (segment {partSequence}) does not decrypt: {e.Message}{Environment.NewLine}{playlist.Text}{Environment.NewLine}{diagnostics()}");
        }

        Assert.True(BoxType(clear) is "moof" or "styp", $"part {part} decrypted to '{BoxType(clear)}'{Environment.NewLine}{playlist.Text}");
        output.WriteLine($"part {part} ({stored.Length} B) decrypted alone with segment {partSequence}'s IV to '{BoxType(clear)}'");
    }

    [GeneratedRegex("^#EXT-X-KEY:METHOD=AES-128,URI=\"(?<uri>[^\"]+)\",IV=0x(?<iv>[0-9a-f]{32})$", RegexOptions.Multiline)]
    private static partial Regex KeyTagWithIv();

    /// <summary>
    /// Waits for the clip's ends to be cut; checks that its master keeps the session key and that every segment of its
    /// media playlist is named after a key tag with an explicit IV (the first piece's after its own clear init's map);
    /// then plays it in hls.js past that piece, every frame of it decoded.
    /// </summary>
    private async Task PlayClipAsync(BrowserHost browser, ServerProcess server, (string Api, Uri Master) clip, string keyUri, Func<string> diagnostics)
    {
        var (master, media) = await ProtectedClipPlayback.CutAsync(server, clip, diagnostics);
        string Playlists() => $"{master}{Environment.NewLine}{media}{Environment.NewLine}{diagnostics()}";
        Assert.True(master.Contains($"#EXT-X-SESSION-KEY:METHOD=AES-128,URI=\"{keyUri}\"", StringComparison.Ordinal), Playlists());
        var lines = media.Split('\n');
        int segments = 0;
        for (int i = 0; i < lines.Length; i++)
        {
            if (!lines[i].StartsWith("#EXTINF:", StringComparison.Ordinal)) continue;
            segments++;
            // The key tag in force: the nearest one above, and no EXT-X-MAP between it and the segment (the init stays clear).
            int tag = Array.FindLastIndex(lines, i, l => l.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal));
            Assert.True(tag >= 0 && KeyTagWithIv().Match(lines[tag]) is { Success: true } m && m.Groups["uri"].Value == keyUri, $"line {i}: {Playlists()}");
            Assert.True(!lines[tag..i].Any(l => l.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)), $"line {i}: {Playlists()}");
        }
        Assert.True(segments >= 3, Playlists());
        double piece = ProtectedClipPlayback.FirstPieceSeconds(media, Playlists);
        int frames = await ProtectedClipPlayback.PlaysPastFirstPieceAsync(browser, clip.Master, clearKeyLicense: null, piece, Clip, "aes-128 clip", diagnostics);
        output.WriteLine($"aes-128 clip: {segments} segments, first piece {piece:0.000} s, {frames} frames decoded");
    }

    private async Task PlayAsync(BrowserHost browser, PlayerKind kind, ServerProcess server, string slug, int width, bool expectParts, Func<string> diagnostics)
    {
        await using var player = await browser.OpenAsync(kind);
        await player.StartAsync(new Uri(server.BaseUri, $"live/{slug}/master.m3u8").ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), diagnostics);
            double start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 6, TimeSpan.FromSeconds(45), diagnostics);
            Assert.Equal(width, await player.GetVideoWidthAsync());
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, $"{kind} {slug}: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            // In LL mode hls.js loads parts (each decrypted alone), not only whole segments.
            int parts = await player.EvaluateAsync<int>("() => { const l = window.__hls.levels[window.__hls.currentLevel]; "
                + "return l && l.details && l.details.partList ? l.details.partList.filter((p) => p.loaded).length : 0; }");
            Assert.True(!expectParts || parts > 0, $"{kind} {slug} loaded no part{Environment.NewLine}{await player.DescribeAsync()}");
            output.WriteLine($"{kind} {slug}: played from {start:0.00} s to {await player.GetCurrentTimeAsync():0.00} s, {parts} parts of the current playlist loaded");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"aes-hls-{kind}-{slug}.png"));
            throw;
        }
    }
}
