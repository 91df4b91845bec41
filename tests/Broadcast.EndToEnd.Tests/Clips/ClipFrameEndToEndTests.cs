using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Clips;

/// <summary>
/// Issue #49's clip, checked to the frame: ffmpeg publishes a picture with a frame counter burned in (each frame's
/// brightness is its number within its 2 s GOP, and the packager cuts a segment at each GOP), and during the broadcast a
/// clip of 20 s starting 1.3 s into a stored segment is asked for by program date-time. Once its ends are cut, its VOD
/// starts on frame 39 of that segment and lasts 20 s to within a frame (ffprobe over the origin), and its MP4 download
/// has the same first and last frame and 600 frames.
/// </summary>
public sealed partial class ClipFrameEndToEndTests(ITestOutputHelper output)
{
    private const int Fps = 30;
    private static readonly ClipSpec Media = new()
    {
        Seconds = 30, Width = 320, Height = 180, Fps = Fps, VideoBitrateKbps = 300, FrameNumberLuma = true,
    };

    [Fact]
    public async Task A_20_second_clip_from_1_3_s_into_a_segment_starts_and_ends_on_the_frames_asked_for_in_its_vod_and_mp4()
    {
        var media = await TestMedia.GetClipAsync(Media);
        // The encoder's own pictures (no transcode), so each stored segment is one GOP whose frame n has luma 4n.
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", "--Packager:WindowSegments=20"],
        });
        var channel = await server.Api.CreateChannelAsync($"clip frames {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(media, server.RtmpUrl(channel.StreamKey), loops: 3);
        string Log(string m) => $"{m}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{server.LogTail()}"
            + $"{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}";

        // 1. Wait for 24 s stored, then take the segment whose start is at least 22 s before the end.
        var segments = await StoredSegmentsAsync(server, channel.Slug, 1, 0, 24, Log);
        var end = segments[^1].Start.AddSeconds(segments[^1].Seconds);
        var segment = segments.Last(s => (end - s.Start).TotalSeconds >= 22);
        var from = segment.Start.AddMilliseconds(1300);
        var to = from.AddSeconds(20);

        using var created = await server.Http.PostAsJsonAsync($"api/channels/{channel.Id}/clips",
            new { from = Iso(from), to = Iso(to), title = "Twenty seconds" });
        string body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, Log($"POST clips answered {(int)created.StatusCode}: {body}"));
        var clip = JsonDocument.Parse(body).RootElement;
        string clipApi = $"api/channels/{channel.Id}/clips/{clip.GetProperty("id").GetString()}";
        string answer = "";
        await WaitFor.ConditionAsync(async () =>
        {
            answer = await server.Http.GetStringAsync(clipApi);
            var now = JsonDocument.Parse(answer).RootElement;
            return now.GetProperty("frameAccurate").GetBoolean() && now.TryGetProperty("downloadUrl", out _);
        }, TimeSpan.FromSeconds(180), "the clip's ends cut and its MP4 made", () => Log(answer), TimeSpan.FromMilliseconds(500));
        clip = JsonDocument.Parse(answer).RootElement;
        Assert.Equal(20_000, clip.GetProperty("durationMs").GetInt64());

        // 2. The VOD through the origin: the first picture is frame 39 (1.3 s at 30 fps), and it lasts 20 s to a frame.
        string hls = clip.GetProperty("hlsUrl").GetString()!;
        var vod = await FfProbe.ProbeAsync(hls, timeout: TimeSpan.FromSeconds(60));
        Assert.InRange(vod.DurationSeconds, 20 - 1.0 / Fps, 20 + 1.0 / Fps);
        Assert.Equal(39, FirstFrame(hls));

        // Apple's rules for a VOD that Safari plays natively (HLS authoring specification; RFC 8216bis §4.4.3.5,
        // §4.4.4.5): every media playlist is VOD with an end and each EXTINF within the target duration. The cut ends
        // have init segments of their own, each named by an EXT-X-MAP before it, and are on the stored segments'
        // timeline, so no discontinuity stands around them (#66: one there made hls.js stall before the end).
        var master = await server.Viewer.GetStringAsync(hls);
        var mediaUris = master.Split('\n').Select(l => l.Trim()).Where(l => l.EndsWith(".m3u8", StringComparison.Ordinal))
            .Concat(MediaUri().Matches(master).Select(m => m.Groups[1].Value)).Distinct().ToList();
        Assert.Equal(2, mediaUris.Count);
        foreach (var uri in mediaUris)
        {
            string text = await server.Viewer.GetStringAsync(new Uri(new Uri(hls), uri));
            var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
            Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", lines);
            Assert.Equal("#EXT-X-ENDLIST", lines[^1]);
            int target = int.Parse(lines.First(l => l.StartsWith("#EXT-X-TARGETDURATION:", StringComparison.Ordinal))[22..], CultureInfo.InvariantCulture);
            Assert.All(lines.Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal)), l =>
                Assert.True(Math.Round(double.Parse(l[8..].Split(',')[0], CultureInfo.InvariantCulture)) <= target, text));
            Assert.DoesNotContain("#EXT-X-DISCONTINUITY", lines);
            var uris = lines.Where(l => l[0] != '#').ToList();
            Assert.True(uris[0].EndsWith("/first.m4s", StringComparison.Ordinal) && uris[^1].EndsWith("/last.m4s", StringComparison.Ordinal), text);
            foreach (var piece in new[] { uris[0], uris[^1] })
            {
                int at = lines.IndexOf(piece);
                int map = lines.FindLastIndex(at, l => l.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal));
                Assert.True(map >= 0 && lines[map].Contains(piece.Replace(".m4s", "-init.mp4", StringComparison.Ordinal), StringComparison.Ordinal), text);
            }
        }

        // 3. The MP4: the same first frame, 600 frames, so it ends on frame (39 + 599) mod 60 = 38 of the last segment.
        using var temp = new TempDirectory("clip-frames");
        string mp4 = Path.Combine(temp.Path, "clip.mp4");
        await File.WriteAllBytesAsync(mp4, await server.Http.GetByteArrayAsync(clip.GetProperty("downloadUrl").GetString()));
        var file = await FfProbe.ProbeAsync(mp4, countFrames: true, timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(600, file.Video?.ReadFrames);
        Assert.InRange(file.Video!.FrameRate, Fps - 0.01, Fps + 0.01);
        Assert.Equal(39, FirstFrame(mp4));
        Assert.Equal(38, LastFrame(mp4));
        output.WriteLine($"clip {Iso(from)} .. {Iso(to)}: VOD {vod.DurationSeconds:0.000} s; MP4 {file.Video.ReadFrames} frames, "
            + $"{new FileInfo(mp4).Length} bytes");
    }

    /// <summary>Each segment's program date-time and duration, from the tags before it.</summary>
    /// <summary>
    /// Waits (polling the live source playlist) until it lists at least <paramref name="minSegments"/> segments and
    /// <paramref name="seconds"/> of the broadcast from segment <paramref name="from"/> on, and returns the segments then.
    /// </summary>
    internal static async Task<List<(DateTimeOffset Start, double Seconds)>> StoredSegmentsAsync(ServerProcess server, string slug, int minSegments,
        int from, double seconds, Func<string, string> log)
    {
        string live = $"live/{slug}/source/index.m3u8";
        string playlist = "";
        List<(DateTimeOffset Start, double Seconds)> segments = [];
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await server.Viewer.GetAsync(live);
            playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            segments = Segments(playlist);
            return segments.Count >= minSegments && (segments[^1].Start.AddSeconds(segments[^1].Seconds) - segments[from].Start).TotalSeconds >= seconds;
        }, TimeSpan.FromSeconds(120), $"{seconds} s of the broadcast stored", () => log(playlist), TimeSpan.FromMilliseconds(500));
        return segments;
    }

    internal static List<(DateTimeOffset Start, double Seconds)> Segments(string playlist) =>
        [.. KeyedSegments(playlist).Select(s => (s.Start, s.Seconds))];

    /// <summary>Each media segment's program date and duration, and whether an EXT-X-KEY stands between it and the segment before.</summary>
    internal static List<(DateTimeOffset Start, double Seconds, bool AfterKeyTag)> KeyedSegments(string playlist)
    {
        var list = new List<(DateTimeOffset, double, bool)>();
        DateTimeOffset? next = null;
        double duration = 0;
        bool keyed = false;
        foreach (var raw in playlist.Split('\n'))
        {
            string line = raw.Trim();
            if (line.StartsWith("#EXT-X-PROGRAM-DATE-TIME:", StringComparison.Ordinal))
                next = DateTimeOffset.Parse(line["#EXT-X-PROGRAM-DATE-TIME:".Length..], CultureInfo.InvariantCulture);
            else if (line.StartsWith("#EXTINF:", StringComparison.Ordinal))
                duration = double.Parse(line["#EXTINF:".Length..].Split(',')[0], CultureInfo.InvariantCulture);
            else if (line.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal))
                keyed = true;
            else if (line.Length > 0 && line[0] != '#' && next is { } start)
            {
                list.Add((start, duration, keyed));
                keyed = false;
                next = start.AddSeconds(duration);
            }
        }
        return list;
    }

    /// <summary>The burned-in number (luma / 4) of the first picture.</summary>
    private static int FirstFrame(string input) => Number(MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", input,
        "-frames:v", "1", "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"), first: true);

    /// <summary>The burned-in number of the last picture.</summary>
    private static int LastFrame(string input) => Number(MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", input,
        "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-"), first: false);

    private static int Number(string stats, bool first)
    {
        var matches = Luma().Matches(stats);
        Assert.NotEmpty(matches);
        var luma = double.Parse((first ? matches[0] : matches[^1]).Groups[1].Value, CultureInfo.InvariantCulture);
        return (int)Math.Round(luma / 4);
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();

    [GeneratedRegex("#EXT-X-MEDIA:[^\\n]*URI=\"([^\"]+)\"")]
    private static partial Regex MediaUri();
}
