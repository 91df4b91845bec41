using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// Manifests that tell the truth about a ladder: every variant's FRAME-RATE, RESOLUTION and CODECS in master.m3u8 and
/// every Representation's frameRate, width, height and codecs in the MPD are what ffprobe finds in that rendition's own
/// CMAF segments, and every variant's BANDWIDTH is at least the peak bitrate of the segments it lists. Sources at 25, 30,
/// 50 and 59.94 fps, and one whose SPS says 1000 fps (encoded, as the transcoder's rungs are, with
/// <c>-enc_time_base 1:1000</c>): players drop variants by FRAME-RATE, so 1000 is not a harmless lie.
/// </summary>
public sealed partial class FrameRateTests
{
    private static readonly string[] Video = ["source", "270p", "180p"];
    private static readonly Dictionary<string, int> ProfileIdc = new() { ["Constrained Baseline"] = 0x42, ["Baseline"] = 0x42, ["Main"] = 0x4d, ["High"] = 0x64 };

    [Theory]
    [InlineData("25", false)]
    [InlineData("30", false)]
    [InlineData("50", false)]
    [InlineData("60000/1001", false)]
    [InlineData("30", true)]
    public async Task Manifests_declare_what_the_segments_hold(string rate, bool clockOf1000)
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.flv");
        double fps = rate.Contains('/', StringComparison.Ordinal)
            ? double.Parse(rate.Split('/')[0], CultureInfo.InvariantCulture) / double.Parse(rate.Split('/')[1], CultureInfo.InvariantCulture)
            : double.Parse(rate, CultureInfo.InvariantCulture);
        string gop = ((int)Math.Round(fps * 2)).ToString(CultureInfo.InvariantCulture);
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", $"testsrc2=size=640x360:rate={rate}", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "12", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
            "-g", gop, "-keyint_min", gop, "-sc_threshold", "0", "-b:v", "600k", "-c:a", "aac", "-b:a", "64k",
        };
        if (clockOf1000) args.AddRange(["-fps_mode", "passthrough", "-enc_time_base", "1:1000"]);
        args.AddRange(["-f", "flv", clip]);
        MediaTools.Run("ffmpeg", args.ToArray());

        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            SegmentSeconds = 2,
            ExtraArguments =
            [
                "--Transcode:ShedBelowSpeed=0",
                "--Transcode:Ladder:0:Name=270p", "--Transcode:Ladder:0:Height=270", "--Transcode:Ladder:0:VideoBitrate=300000",
                "--Transcode:Ladder:1:Name=180p", "--Transcode:Ladder:1:Height=180", "--Transcode:Ladder:1:VideoBitrate=150000",
            ],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync("framerate " + Guid.NewGuid().ToString("N"));
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey));

        string master = await LadderPlaylists.WaitForMasterAsync(server, server.Absolute($"/live/{channel.Slug}/master.m3u8"), Video, Log);
        var lines = master.Split('\n');
        var representations = await LadderPlaylists.WaitForRepresentationsAsync(server, server.Absolute($"/live/{channel.Slug}/manifest.mpd"), Video, Log);

        foreach (var v in Video)
        {
            int at = Array.FindIndex(lines, l => l == $"{v}/index.m3u8");
            Assert.True(at > 0, Log(master));
            var inf = StreamInf().Match(lines[at - 1]);
            Assert.True(inf.Success, Log(lines[at - 1]));

            var probe = await LadderPlaylists.ProbeFirstSegmentAsync(server, channel.Slug, v, dir);
            double probed = Rate(probe.GetProperty("avg_frame_rate").GetString()!);
            string context = Log($"{v}: {lines[at - 1]}; MPD {representations[v]}; ffprobe avg_frame_rate {probed}");

            Assert.True(Math.Abs(probed - fps) < 0.05, context);
            Assert.Equal(fps.ToString("0.000", CultureInfo.InvariantCulture), inf.Groups["fps"].Value);
            Assert.Equal($"{probe.GetProperty("width").GetInt32()}x{probe.GetProperty("height").GetInt32()}", inf.Groups["res"].Value);
            string avc = inf.Groups["codecs"].Value.Split(',')[0];
            Assert.Equal(ProfileIdc[probe.GetProperty("profile").GetString()!], Convert.ToInt32(avc[5..7], 16));
            Assert.Equal(probe.GetProperty("level").GetInt32(), Convert.ToInt32(avc[9..11], 16));

            var rep = representations[v];
            Assert.Equal(rate, (string?)rep.Attribute("frameRate"));
            Assert.True(Math.Abs(Rate((string)rep.Attribute("frameRate")!) - probed) < 0.05, context);
            Assert.Equal(probe.GetProperty("width").GetInt32(), (int)rep.Attribute("width")!);
            Assert.Equal(probe.GetProperty("height").GetInt32(), (int)rep.Attribute("height")!);
            Assert.Equal(avc, (string?)rep.Attribute("codecs"));
        }

        // BANDWIDTH is at least each variant's peak segment bitrate (RFC 8216 section 4.3.4.2): once the publish has ended,
        // every variant's declared value against its listed video segments' and the audio segments' own sizes.
        await LadderPlaylists.WaitForEndedAsync(server, channel.Slug, Video, Log);
        string ended = await server.Viewer.GetStringAsync(server.Absolute($"/live/{channel.Slug}/master.m3u8"));
        string audioName = AudioUri().Match(ended).Groups[1].Value.Split('/')[0];
        long audioPeak = await PeakBitrateAsync(server, channel.Slug, audioName);
        var endedLines = ended.Split('\n');
        foreach (var v in Video)
        {
            int at = Array.FindIndex(endedLines, l => l == $"{v}/index.m3u8");
            long declared = long.Parse(Bandwidth().Match(endedLines[at - 1]).Groups[1].Value, CultureInfo.InvariantCulture);
            long peak = await PeakBitrateAsync(server, channel.Slug, v) + audioPeak;
            // The playlist's EXTINF is rounded to the millisecond, the packager measures in media ticks: a 2 s segment's
            // bitrate read from the playlist can differ by 0.025 %, so 0.1 % is allowed (a master written once, from the
            // first segment, can fall short of a later peak by far more).
            Assert.True(declared * 1.001 >= peak, Log($"{v}: BANDWIDTH={declared} below the measured peak {peak} b/s (video + audio)"));
        }
    }

    /// <summary>The highest bits per second of any segment a rendition's playlist lists: its size over its EXTINF.</summary>
    private static async Task<long> PeakBitrateAsync(ServerProcess server, string slug, string rendition)
    {
        string playlist = await server.Viewer.GetStringAsync(server.Absolute($"/live/{slug}/{rendition}/index.m3u8"));
        long peak = 0;
        double duration = 0;
        foreach (string line in playlist.Split('\n'))
        {
            if (line.StartsWith("#EXTINF:", StringComparison.Ordinal)) duration = double.Parse(line[8..].TrimEnd(','), CultureInfo.InvariantCulture);
            else if (line.EndsWith(".m4s", StringComparison.Ordinal) && duration > 0)
            {
                long bytes = (await server.Viewer.GetByteArrayAsync(server.Absolute($"/live/{slug}/{rendition}/{line}"))).LongLength;
                peak = Math.Max(peak, (long)(bytes * 8 / duration));
                duration = 0;
            }
        }

        Assert.True(peak > 0, $"no segment listed in {rendition}: {playlist}");
        return peak;
    }

    private static double Rate(string text)
    {
        var parts = text.Split('/');
        double value = double.Parse(parts[0], CultureInfo.InvariantCulture);
        return parts.Length == 2 ? value / double.Parse(parts[1], CultureInfo.InvariantCulture) : value;
    }

    [GeneratedRegex("^#EXT-X-STREAM-INF:.*CODECS=\"(?<codecs>[^\"]+)\",RESOLUTION=(?<res>\\d+x\\d+),FRAME-RATE=(?<fps>[0-9.]+),")]
    private static partial Regex StreamInf();

    [GeneratedRegex("BANDWIDTH=([0-9]+)")]
    private static partial Regex Bandwidth();

    [GeneratedRegex("#EXT-X-MEDIA:TYPE=AUDIO[^\n]*URI=\"([^\"]+)\"")]
    private static partial Regex AudioUri();
}
