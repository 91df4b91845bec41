using System.Globalization;
using Broadcast.Media;
using Broadcast.Processes;

namespace Broadcast.Transcoder.Clips;

/// <summary>One end of a clip cut to the frame: a CMAF init segment of its own and one media segment (moof + mdat).</summary>
/// <param name="Duration">The trimmed media's duration, as the muxer wrote it (what the clip's EXTINF says).</param>
public sealed record TrimmedSegment(byte[] Init, byte[] Segment, TimeSpan Duration);

/// <summary>
/// Cuts one stored CMAF segment to the frame for a clip (issue #49): the part of it from <c>from</c> to <c>to</c> (times
/// from the segment's first frame) re-encoded by ffmpeg, so the clip can start or end on any frame while every other
/// segment of it is the stored one, referenced. Video is re-encoded with the segment's codec family (H.264: libx264,
/// HEVC: libx265) at its own size, the first frame a keyframe; audio (AAC) copied from the AAC frame that holds the cut. Input seeking
/// with re-encoding is frame-accurate (ffmpeg decodes from the keyframe before <c>from</c> and drops what precedes it).
/// One short ffmpeg run per cut, for a clip an admin made, never per viewer; the caller bounds how many run at once.
/// </summary>
public static class SegmentTrim
{
    /// <summary>How long one cut may take: a segment of a few seconds, even 1080p on a loaded machine, takes seconds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>The codecs a cut can re-encode to; others (AV1) keep the clip segment-accurate at that end.</summary>
    public static bool CanTrim(Codec codec) => codec is Codec.H264 or Codec.H265 or Codec.Aac;

    /// <summary>The ffmpeg arguments, one per element: <paramref name="input"/> (init + segment) to an fMP4 HLS pair in <paramref name="output"/>.</summary>
    public static IReadOnlyList<string> Arguments(string input, string output, Codec codec, TimeSpan from, TimeSpan? to)
    {
        var inv = CultureInfo.InvariantCulture;
        var args = new List<string> { "-hide_banner", "-nostdin", "-loglevel", "error", "-y" };
        if (from > TimeSpan.Zero) args.AddRange(["-ss", Seconds(from)]);
        args.AddRange(["-i", input, "-map", "0"]);
        if (to is { } end) args.AddRange(["-t", Seconds(end - from)]);
        args.AddRange(codec switch
        {
            // One GOP: the piece is a few seconds at most and starts the clip (or ends it) on its own init segment.
            Codec.H264 => ["-c:v", "libx264", "-preset", "veryfast", "-crf", "16", "-pix_fmt", "yuv420p", "-bf", "0", "-g", "100000"],
            Codec.H265 => ["-c:v", "libx265", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-tag:v", "hvc1",
                "-x265-params", "log-level=error:keyint=100000"],
            // Every AAC frame decodes on its own: copied, the cut falls on a frame boundary (within two frames, 43 ms at
            // 48 kHz) with no encoder priming added, where a re-encode would put 1024 samples of priming before the cut.
            Codec.Aac => ["-c:a", "copy"],
            _ => throw new ArgumentException($"a {codec} segment cannot be cut to the frame", nameof(codec)),
        });
        args.AddRange(["-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "100000", "-hls_list_size", "0", "-hls_playlist_type", "vod",
            "-hls_fmp4_init_filename", "init.mp4", "-hls_segment_filename", Path.Combine(output, "piece%d.m4s"),
            Path.Combine(output, "piece.m3u8")]);
        return args;

        string Seconds(TimeSpan t) => (t.Ticks / (double)TimeSpan.TicksPerSecond).ToString("0.######", inv);
    }

    /// <summary>
    /// Cuts [<paramref name="from"/>, <paramref name="to"/>) (null: to the segment's end) out of <paramref name="segment"/>
    /// under <paramref name="init"/>, in a scratch folder under <paramref name="workRoot"/> removed afterwards. Throws with
    /// ffmpeg's message when it fails.
    /// </summary>
    public static async Task<TrimmedSegment> CutAsync(string ffmpeg, ReadOnlyMemory<byte> init, ReadOnlyMemory<byte> segment, Codec codec,
        TimeSpan from, TimeSpan? to, string workRoot, CancellationToken cancellationToken)
    {
        if (from < TimeSpan.Zero || to is { } t && t <= from) throw new ArgumentOutOfRangeException(nameof(to), "the cut ends before it starts");
        string dir = Path.Combine(workRoot, "cut-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string input = Path.Combine(dir, "input.mp4");
            await using (var file = File.Create(input))
            {
                await file.WriteAsync(init, cancellationToken).ConfigureAwait(false);
                await file.WriteAsync(segment, cancellationToken).ConfigureAwait(false);
            }
            var run = await SupervisedProcess.RunAsync(new ProcessLaunch(ffmpeg, Arguments(input, dir, codec, from, to)), Timeout, cancellationToken)
                .ConfigureAwait(false);
            if (run.TimedOut) throw new TimeoutException($"ffmpeg did not cut the segment within {Timeout.TotalSeconds:0} s");
            if (!run.Succeeded) throw new InvalidOperationException($"ffmpeg could not cut the segment: {run.Stderr.Trim()}");
            string playlist = await File.ReadAllTextAsync(Path.Combine(dir, "piece.m3u8"), cancellationToken).ConfigureAwait(false);
            if (!File.Exists(Path.Combine(dir, "piece1.m4s")) && File.Exists(Path.Combine(dir, "piece0.m4s")) && Duration(playlist) is { } duration)
            {
                return new TrimmedSegment(await File.ReadAllBytesAsync(Path.Combine(dir, "init.mp4"), cancellationToken).ConfigureAwait(false),
                    await File.ReadAllBytesAsync(Path.Combine(dir, "piece0.m4s"), cancellationToken).ConfigureAwait(false), duration);
            }
            throw new InvalidOperationException("ffmpeg's cut is not one segment with its duration: " + playlist.Replace('\n', ' '));
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>The one EXTINF of ffmpeg's playlist, or null.</summary>
    internal static TimeSpan? Duration(string playlist)
    {
        foreach (var line in playlist.Split('\n'))
        {
            if (!line.StartsWith("#EXTINF:", StringComparison.Ordinal)) continue;
            string value = line["#EXTINF:".Length..].Split(',')[0];
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds > 0)
                return TimeSpan.FromTicks((long)Math.Round(seconds * TimeSpan.TicksPerSecond));
        }
        return null;
    }
}
