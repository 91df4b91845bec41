using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Broadcast.Transcoder.Clips;

namespace Broadcast.Transcoder.Tests.Clips;

/// <summary>
/// A clip's MP4 download made by the real ffmpeg from stored CMAF media: three 2 s segments of 30 fps H.264 whose frames
/// carry their number within the segment as their brightness (luma 4·n), written after their init segment as the
/// server writes them, and AAC audio beside them.
/// </summary>
[Trait("Kind", "Component")]
public sealed partial class ClipDownloadTests : IDisposable
{
    private readonly TempDirectory _dir = new("download");

    public void Dispose() => _dir.Dispose();

    /// <summary>Six seconds of one rendition in three CMAF segments, concatenated after its init segment.</summary>
    private string Source(bool video)
    {
        string dir = Path.Combine(_dir.Path, video ? "video" : "audio");
        Directory.CreateDirectory(dir);
        string[] input = video
            ? ["-f", "lavfi", "-i", "color=c=black:s=160x120:r=30:d=6,format=yuv420p,geq=lum='mod(N,60)*4':cb=128:cr=128",
                "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0", "-bf", "2"]
            : ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=6", "-c:a", "aac", "-b:a", "96k"];
        MediaTools.Run("ffmpeg", [.. new[] { "-hide_banner", "-loglevel", "error", "-y" }, .. input,
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_list_size", "0", "-hls_fmp4_init_filename", "init.mp4",
            "-hls_segment_filename", Path.Combine(dir, "seg%d.m4s"), Path.Combine(dir, "source.m3u8")]);
        string file = Path.Combine(dir, "stored.mp4");
        using var output = File.Create(file);
        foreach (var part in new[] { "init.mp4" }.Concat(Directory.GetFiles(dir, "seg*.m4s").Order(StringComparer.Ordinal).Select(Path.GetFileName)))
            output.Write(File.ReadAllBytes(Path.Combine(dir, part!)));
        return file;
    }

    [Fact]
    public async Task The_download_starts_on_the_frame_asked_for_lasts_the_range_to_the_frame_and_carries_the_audio()
    {
        string video = Source(video: true), audio = Source(video: false), mp4 = Path.Combine(_dir.Path, "clip.mp4");
        await ClipDownload.MakeAsync("ffmpeg", new ClipDownloadInput(video, TimeSpan.FromSeconds(1.3)),
            new ClipDownloadInput(audio, TimeSpan.FromSeconds(1.3)), TimeSpan.FromSeconds(3.2), 2_000_000, mp4, default);

        // 1.3 s into the first 30 fps segment is its frame 39; 3.2 s are 96 frames, crossing into the second segment.
        string stats = MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", mp4, "-frames:v", "1",
            "-vf", "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-", "-f", "null", "-");
        Assert.Equal(39, (int)Math.Round(double.Parse(Luma().Match(stats).Groups[1].Value, CultureInfo.InvariantCulture) / 4));
        string frames = MediaTools.Run("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
            "stream=nb_read_frames,codec_name,profile", "-of", "csv=p=0", mp4).Trim();
        Assert.Equal("h264,High,96", frames);
        string streams = MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration", "-of", "csv=p=0",
            mp4).Trim();
        var lines = streams.Split('\n').Select(l => l.Trim().Split(',')).ToList();
        Assert.Contains(lines, l => l[0] == "h264" && Math.Abs(double.Parse(l[2], CultureInfo.InvariantCulture) - 3.2) < 1 / 30.0 + 1e-6);
        // AAC is re-encoded from the sample: its track lasts the range to within one 1024-sample frame.
        Assert.Contains(lines, l => l[0] == "aac" && Math.Abs(double.Parse(l[2], CultureInfo.InvariantCulture) - 3.2) < 1024 / 48000.0 + 1e-6);
        // moov before mdat: a browser plays the download while it arrives.
        byte[] file = await File.ReadAllBytesAsync(mp4);
        int moov = file.AsSpan().IndexOf("moov"u8), mdat = file.AsSpan().IndexOf("mdat"u8);
        Assert.InRange(moov, 0, mdat);
    }

    [Fact]
    public async Task A_video_only_clip_is_made_and_bad_bytes_fail_with_ffmpegs_reason_leaving_no_file()
    {
        string video = Source(video: true), mp4 = Path.Combine(_dir.Path, "silent.mp4");
        await ClipDownload.MakeAsync("ffmpeg", new ClipDownloadInput(video, TimeSpan.Zero), null, TimeSpan.FromSeconds(1), null, mp4, default);
        Assert.Equal("video", MediaTools.Run("ffprobe", "-v", "error", "-show_entries", "stream=codec_type", "-of", "csv=p=0", mp4).Trim());

        string bad = Path.Combine(_dir.Path, "bad.mp4"), broken = Path.Combine(_dir.Path, "broken.mp4");
        await File.WriteAllBytesAsync(bad, [0, 0, 0, 8, 0x66, 0x74, 0x79, 0x70, 1, 2, 3]);
        var failed = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            ClipDownload.MakeAsync("ffmpeg", new ClipDownloadInput(bad, TimeSpan.Zero), null, TimeSpan.FromSeconds(1), null, broken, default));
        Assert.Contains("ffmpeg could not make the clip's MP4", failed.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(broken));
        Assert.Throws<ArgumentOutOfRangeException>(() => ClipDownload.Arguments(new ClipDownloadInput(bad, TimeSpan.Zero), null, TimeSpan.Zero, null, broken));
    }

    [GeneratedRegex(@"YAVG=([0-9.]+)")]
    private static partial Regex Luma();
}
