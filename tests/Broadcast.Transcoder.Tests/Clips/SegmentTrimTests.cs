using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.Media;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Clips;

namespace Broadcast.Transcoder.Tests.Clips;

/// <summary>
/// A clip's first or last segment cut to the frame by the real ffmpeg. The source segment is CMAF as the packager stores
/// it (an init segment, then one 2 s segment of 30 fps H.264, keyframe first) whose every frame carries its own number
/// as its brightness (luma 4·n), so the cut's first picture names the frame it starts on.
/// </summary>
[Trait("Kind", "Component")]
public sealed partial class SegmentTrimTests : IDisposable
{
    private readonly TempDirectory _dir = new("trim");

    public void Dispose() => _dir.Dispose();

    /// <summary>A 2 s segment: video (frame n has luma 4n) or AAC audio, as init.mp4 + seg0.m4s.</summary>
    private (byte[] Init, byte[] Segment) Source(bool video)
    {
        string dir = Path.Combine(_dir.Path, video ? "video" : "audio");
        Directory.CreateDirectory(dir);
        string[] input = video
            ? ["-f", "lavfi", "-i", "color=c=black:s=160x120:r=30:d=2,format=yuv420p,geq=lum='N*4':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "60", "-bf", "2"]
            : ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:a", "aac", "-b:a", "128k"];
        MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error", "-y" }, .. input,
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "100", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", Path.Combine(dir, "seg%d.m4s"), Path.Combine(dir, "source.m3u8")]);
        return (File.ReadAllBytes(Path.Combine(dir, "init.mp4")), File.ReadAllBytes(Path.Combine(dir, "seg0.m4s")));
    }

    private string Write(TrimmedSegment cut, string name)
    {
        string path = Path.Combine(_dir.Path, name);
        File.WriteAllBytes(path, [.. cut.Init, .. cut.Segment]);
        return path;
    }

    /// <summary>The number of the cut's first picture (its luma / 4) and how many pictures it has.</summary>
    private static (int First, int Count) Pictures(string path)
    {
        string stats = MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path, "-frames:v", "1",
            "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-");
        double luma = double.Parse(Luma().Match(stats).Groups[1].Value, CultureInfo.InvariantCulture);
        string count = MediaTools.Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
            "stream=nb_read_frames", "-of", "csv=p=0", path).Trim();
        return ((int)Math.Round(luma / 4), int.Parse(count, CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task The_first_segment_is_cut_from_the_frame_asked_for_to_its_end()
    {
        var (init, segment) = Source(video: true);
        var cut = await SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.H264, TimeSpan.FromSeconds(1.3), null, _dir.Path, default);

        // 1.3 s into a 30 fps segment is frame 39; 21 frames are left.
        Assert.Equal((39, 21), Pictures(Write(cut, "first.mp4")));
        Assert.InRange(cut.Duration.TotalSeconds, 0.69, 0.71);
        Assert.Empty(Directory.GetDirectories(_dir.Path, "cut-*"));
    }

    [Fact]
    public async Task The_last_segment_is_cut_from_its_start_to_the_frame_asked_for_and_one_segment_at_both_ends()
    {
        var (init, segment) = Source(video: true);
        var last = await SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.H264, TimeSpan.Zero, TimeSpan.FromSeconds(0.5), _dir.Path, default);
        Assert.Equal((0, 15), Pictures(Write(last, "last.mp4")));

        var both = await SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.H264, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5),
            _dir.Path, default);
        Assert.Equal((15, 30), Pictures(Write(both, "both.mp4")));
        Assert.InRange(both.Duration.TotalSeconds, 0.99, 1.01);
    }

    [Fact]
    public async Task Audio_is_cut_to_within_two_aac_frames()
    {
        var (init, segment) = Source(video: false);
        double whole = double.Parse(MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0",
            Path.Combine(_dir.Path, "audio", "source.m3u8")).Trim(), CultureInfo.InvariantCulture);
        var cut = await SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.Aac, TimeSpan.FromSeconds(1.3), null, _dir.Path, default);
        // An AAC frame is 1024 samples (21.3 ms at 48 kHz): copied, the cut starts on the frame that holds the time asked
        // for, or the one before it when the encoder's priming shifted the stream's start; within two frames either way.
        const double Frame = 1024 / 48000.0;
        Assert.InRange(cut.Duration.TotalSeconds, whole - 1.3 - 2 * Frame, whole - 1.3 + 2 * Frame);
        var middle = await SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.Aac, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(1.5),
            _dir.Path, default);
        Assert.InRange(middle.Duration.TotalSeconds, 1 - 2 * Frame, 1 + 2 * Frame);
        string probe = MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate", "-of", "csv=p=0",
            Write(cut, "audio.mp4")).Trim();
        Assert.Equal("aac,48000", probe);
    }

    [Fact]
    public async Task A_cut_that_ends_before_it_starts_or_of_another_codec_is_refused_and_bad_bytes_fail_with_ffmpegs_reason()
    {
        var (init, segment) = Source(video: true);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            SegmentTrim.CutAsync("ffmpeg", init, segment, Codec.H264, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), _dir.Path, default));
        Assert.False(SegmentTrim.CanTrim(Codec.Av1));
        Assert.Throws<ArgumentException>(() => SegmentTrim.Arguments("in", "out", Codec.Av1, TimeSpan.Zero, null));
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            SegmentTrim.CutAsync("ffmpeg", init.AsMemory(0, 40), new byte[] { 1, 2, 3 }, Codec.H264, TimeSpan.Zero, null, _dir.Path, default));
        Assert.Contains("ffmpeg could not cut the segment", failed.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.GetDirectories(_dir.Path, "cut-*"));
    }

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();
}
