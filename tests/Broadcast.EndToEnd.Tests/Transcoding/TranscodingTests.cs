using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// The ABR ladder end to end on its own server (not the shared one: transcoding a 720p source takes most of this
/// 2-core machine): a 1280x720 publish is served as source + 480p + 360p + audio; the renditions cut at the same
/// media times; hls.js plays, switches level and survives its ffmpeg being killed; dash.js plays.
/// </summary>
public sealed class TranscodingTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 40, Width = 1280, Height = 720, Fps = 30, VideoBitrateKbps = 2500 };
    private static readonly string[] Video = ["source", "480p", "360p"];
    private static readonly Dictionary<string, (int W, int H, long Bitrate)> Rungs = new()
    {
        ["480p"] = (854, 480, 1_200_000),
        ["360p"] = (640, 360, 700_000),
    };

    [Fact]
    public async Task Ladder_plays_switches_survives_a_killed_ffmpeg_and_renditions_align()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            SegmentSeconds = 2,
            // Two players and a browser share these 2 cores with ffmpeg: shedding would (rightly) drop the rung the test watches.
            ExtraArguments = ["--Transcode:ShedBelowSpeed=0"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync("ladder " + Guid.NewGuid().ToString("N"));
        // Twice the 40 s clip: on a loaded machine the players took 43 s to reach the kill below, after the publish had ended.
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 1);
        var master = server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var mpd = server.Absolute($"/live/{channel.Slug}/manifest.mpd");

        // 1. The master lists the source, both rungs and the audio.
        string masterText = await LadderPlaylists.WaitForMasterAsync(server, master, Video, Log);
        Assert.Contains("RESOLUTION=1280x720", masterText);
        Assert.Contains("RESOLUTION=854x480", masterText);
        Assert.Contains("RESOLUTION=640x360", masterText);
        Assert.Contains("TYPE=AUDIO", masterText);

        // 2. hls.js plays, is pinned to 360p (a transcoded rung), and keeps playing; dash.js plays at the same time.
        await using var browser = await BrowserHost.StartAsync();
        await using var hls = await browser.OpenAsync(PlayerKind.Hls);
        await using var dash = await browser.OpenAsync(PlayerKind.Dash);
        await hls.StartAsync(master.ToString());
        await dash.StartAsync(mpd.ToString());
        await hls.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));
        var levels = await hls.GetLevelsAsync();
        Assert.True(levels.Count == 3, Log($"hls.js levels: {string.Join(", ", levels)}"));
        int low = levels.ToList().FindIndex(l => l.Height == 360);
        Assert.True(low >= 0, $"no 360p level in {string.Join(", ", levels)}");
        await hls.SetLevelAsync(low);
        double t = await hls.GetCurrentTimeAsync();
        await hls.WaitForCurrentTimeAsync(t + 6, TimeSpan.FromSeconds(30), () => Log(""));
        await WaitFor.ConditionAsync(async () => await hls.GetVideoHeightAsync() == 360, TimeSpan.FromSeconds(20),
            "hls.js to show the 360p rung after the level switch", () => Log(""));
        await dash.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));

        // 3. Kill the transcoder's ffmpeg: playback resumes within 2 segment durations, the rung playlist marks the break.
        int ffmpegPid = FindTranscoderFfmpeg(server);
        double beforeKill = await hls.GetCurrentTimeAsync();
        System.Diagnostics.Process.GetProcessById(ffmpegPid).Kill();
        var killedAt = DateTime.UtcNow;
        // Over 10 s of wall time at least 6 s must play: a stall of at most 4 s = 2 segments.
        await hls.WaitForCurrentTimeAsync(beforeKill + 6, TimeSpan.FromSeconds(10), () => Log("hls.js after the kill"));
        var sinceKill = DateTime.UtcNow - killedAt;
        Assert.True(sinceKill < TimeSpan.FromSeconds(10), $"{sinceKill}");
        await WaitFor.ConditionAsync(async () => (await server.Viewer.GetStringAsync(server.Absolute($"/live/{channel.Slug}/360p/index.m3u8")))
            .Contains("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "360p playlist to show EXT-X-DISCONTINUITY", () => Log(""));
        Assert.Contains("restart", server.LogTail(200), StringComparison.OrdinalIgnoreCase);
        var fatalHls = await hls.GetFatalErrorsAsync();
        var fatalDash = await dash.GetFatalErrorsAsync();
        Assert.True(fatalHls.Count == 0, $"hls.js fatal: {string.Join("; ", fatalHls)}{Environment.NewLine}{await hls.DescribeAsync()}");
        Assert.True(fatalDash.Count == 0, $"dash.js fatal: {string.Join("; ", fatalDash)}{Environment.NewLine}{await dash.DescribeAsync()}");
        double dashTime = await dash.GetCurrentTimeAsync();
        await dash.WaitForCurrentTimeAsync(dashTime + 4, TimeSpan.FromSeconds(30), () => Log("dash.js"));

        // 4. After the publish ends: every video playlist has the same MEDIA-SEQUENCE, segment numbers and durations (within a frame).
        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        var playlists = await LadderPlaylists.WaitForEndedAsync(server, channel.Slug, Video, Log);
        var sequences = Video.Select(v => Regex.Match(playlists[v], @"#EXT-X-MEDIA-SEQUENCE:(\d+)").Groups[1].Value).Distinct().ToList();
        Assert.True(sequences.Count == 1, Log(string.Join("\n----\n", playlists.Values)));
        var durations = Video.ToDictionary(v => v, v => Regex.Matches(playlists[v], @"#EXTINF:([\d.]+),").Select(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToList());
        Assert.True(durations["source"].Count >= 5, playlists["source"]);
        foreach (var v in Video.Skip(1))
        {
            Assert.True(durations[v].Count == durations["source"].Count, $"{v}:\n{playlists[v]}\nsource:\n{playlists["source"]}");
            for (int i = 0; i < durations[v].Count; i++)
                Assert.True(Math.Abs(durations[v][i] - durations["source"][i]) <= 1.0 / Clip.Fps + 0.001,
                    $"{v} segment {i}: {durations[v][i]} vs source {durations["source"][i]}\n{playlists[v]}\n{playlists["source"]}");
        }

        // 5. ffprobe: each rung's size; its bitrate (bytes of its segments over their duration) within 25 % of the rung.
        foreach (var (name, rung) in Rungs)
        {
            var url = server.Absolute($"/live/{channel.Slug}/{name}/index.m3u8");
            var probe = await FfProbe.ProbeAsync(url.ToString(), timeout: TimeSpan.FromSeconds(60));
            Assert.True(probe.Video is { CodecName: "h264" } pv && pv.Width == rung.W && pv.Height == rung.H, $"{name}: {probe.Video}");
            var segments = Regex.Matches(playlists[name], @"^([^#\s][^\s]*\.m4s)$", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
            long bytes = 0;
            // Skip the first segment in the window: it may be the one that began before the rung had warmed up.
            var clean = segments.Skip(1).ToList();
            foreach (var s in clean) bytes += (await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{channel.Slug}/{name}/{s}"))).Length;
            double seconds = durations[name].Skip(1).Sum();
            double bitrate = bytes * 8 / seconds;
            Assert.True(Math.Abs(bitrate - rung.Bitrate) <= 0.25 * rung.Bitrate, $"{name}: {bitrate:0} bit/s, rung {rung.Bitrate}");
        }
        var sourceProbe = await FfProbe.ProbeAsync(server.Absolute($"/live/{channel.Slug}/source/index.m3u8").ToString(), timeout: TimeSpan.FromSeconds(60));
        Assert.True(sourceProbe.Video is { Width: 1280, Height: 720 }, $"source: {sourceProbe.Video}");
    }

    /// <summary>The ffmpeg child of this test's server (found through /proc: the server's pid by its data directory, then its children).</summary>
    private static int FindTranscoderFfmpeg(ServerProcess server)
    {
        int serverPid = -1;
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string cmd;
            try { cmd = File.ReadAllText(Path.Combine(dir, "cmdline")); } catch (IOException) { continue; } catch (UnauthorizedAccessException) { continue; }
            if (cmd.Contains("Broadcast.Server", StringComparison.Ordinal) && cmd.Contains(server.MediaDirectory, StringComparison.Ordinal)) serverPid = pid;
        }
        Assert.True(serverPid > 0, "server process not found in /proc");
        foreach (var dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); } catch (IOException) { continue; } catch (UnauthorizedAccessException) { continue; }
            // pid (comm) state ppid ...
            int close = stat.LastIndexOf(')');
            string comm = stat[(stat.IndexOf('(') + 1)..close];
            var fields = stat[(close + 2)..].Split(' ');
            if (comm == "ffmpeg" && int.Parse(fields[1], CultureInfo.InvariantCulture) == serverPid) return pid;
        }
        Assert.Fail("no ffmpeg child of the server");
        return -1;
    }
}
