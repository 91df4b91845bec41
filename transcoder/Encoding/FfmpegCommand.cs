using System.Globalization;
using System.Text;
using Broadcast.Transcoder.Ladder;

namespace Broadcast.Transcoder.Encoding;

/// <summary>
/// Builds the argument list of the one ffmpeg process per live stream: FLV in on stdin, decoded once, split and
/// scaled per rung, each rung encoded with keyframes exactly where the source has them, each written as FLV to its
/// own loopback TCP address. Progress (key=value blocks) goes to stdout; warnings to stderr.
/// </summary>
public static class FfmpegCommand
{
    /// <summary>
    /// Keyframe alignment: <c>-force_key_frames source</c> (ffmpeg 5.0+, checked on 5.1 through split+scale) makes a
    /// keyframe of every output frame whose decoded input was one; the encoders' own GOP logic is pushed out of the
    /// way (<c>-g 9999</c>, no scene cuts) so no other keyframe exists. <c>-copyts</c> keeps the source's timestamps, so
    /// the rungs' keyframes carry the source's keyframe times and the packager's floor(dts / target) rule cuts every
    /// rendition at the same media time. <c>-fps_mode passthrough</c> stops ffmpeg from dropping or duplicating frames.
    /// <c>-enc_time_base 1:1000</c> (FLV's own millisecond time base) keeps every rung timestamp exactly the source's: by
    /// default ffmpeg 5.1 gives the encoder 1/frame rate, the rate it guessed while probing, and rounds each timestamp
    /// to it. At a right guess that moves some frames by a millisecond; at a wrong one (a 10 fps guess for a 30 fps
    /// source) three frames share one time and a low-latency rung's parts come out 0.4 s and 0.3 s long.
    /// Not <c>-fflags +nobuffer</c>: with it ffmpeg 5.1 loses the packets read while probing, i.e. the first GOP
    /// (found by TranscodeSessionTests.RungKeyframesAreTheSourceKeyframes).
    /// </summary>
    /// <param name="lowLatency">A low-latency broadcast: each encoder adds <see cref="EncoderBackend.AddLowLatencyArguments"/>.</param>
    public static List<string> Build(EncoderBackend backend, IReadOnlyList<PlannedRung> rungs, IReadOnlyList<string> outputUrls,
        bool lowLatency = false)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(rungs);
        ArgumentNullException.ThrowIfNull(outputUrls);
        if (rungs.Count == 0) throw new ArgumentException("At least one rung is needed.", nameof(rungs));
        if (outputUrls.Count != rungs.Count) throw new ArgumentException("One output URL per rung.", nameof(outputUrls));

        var args = new List<string> { "-hide_banner", "-nostats", "-loglevel", "warning", "-progress", "pipe:1" };
        backend.AddInputArguments(args);
        args.AddRange(["-copyts", "-analyzeduration", "1000000", "-f", "flv", "-i", "pipe:0"]);

        var graph = new StringBuilder();
        graph.Append(CultureInfo.InvariantCulture, $"[0:v:0]split={rungs.Count}");
        for (int i = 0; i < rungs.Count; i++) graph.Append(CultureInfo.InvariantCulture, $"[s{i}]");
        for (int i = 0; i < rungs.Count; i++)
            graph.Append(CultureInfo.InvariantCulture, $";[s{i}]{backend.ScaleFilter(rungs[i].Width, rungs[i].Height)}[v{i}]");
        args.AddRange(["-filter_complex", graph.ToString()]);

        for (int i = 0; i < rungs.Count; i++)
        {
            args.AddRange(["-map", $"[v{i}]", "-an", "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-force_key_frames", "source"]);
            backend.AddEncoderArguments(args, rungs[i]);
            if (lowLatency) backend.AddLowLatencyArguments(args);
            args.AddRange(["-flvflags", "no_duration_filesize", "-f", "flv", outputUrls[i]]);
        }
        return args;
    }
}
