using System.Globalization;

namespace Broadcast.Ingest.Pull;

/// <summary>
/// ffprobe and ffmpeg argument lists for a pull (each argument one list entry: <see cref="System.Diagnostics.ProcessStartInfo.ArgumentList"/>,
/// never one joined string). ffmpeg reads the source and writes FLV to stdout: H.264 and AAC copied, anything else encoded to
/// H.264 (libx264, keyframes every <see cref="PullOptions.KeyframeSeconds"/>) and AAC.
/// </summary>
public static class PullCommand
{
    /// <summary>Network read/open timeout (microseconds for ffmpeg's <c>rw_timeout</c>).</summary>
    private static string RwTimeout(PullOptions options) =>
        ((long)options.ConnectTimeout.TotalMicroseconds).ToString(CultureInfo.InvariantCulture);

    /// <param name="target">What to open (<see cref="PullTarget"/>); null: the source as given, with the default fences.</param>
    public static IReadOnlyList<string> BuildProbe(PullInput input, PullOptions options, PullTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        target ??= PullTarget.For(input, options, allowUntrustedCertificate: false);
        var args = new List<string> { "-hide_banner", "-v", "error" };
        if (input.Kind != PullSourceKind.File) args.AddRange(["-rw_timeout", RwTimeout(options)]);
        args.AddRange(target.InputOptions);
        args.AddRange(["-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0", target.Url]);
        return args;
    }

    public static IReadOnlyList<string> Build(PullInput input, bool loop, PullProbeResult probe, PullOptions options, PullTarget? target = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(options);
        target ??= PullTarget.For(input, options, allowUntrustedCertificate: false);
        // stdin stays open: 'q' on it is ffmpeg's graceful stop.
        var args = new List<string> { "-hide_banner", "-nostats", "-v", "error" };
        if (input.Kind != PullSourceKind.File) args.AddRange(["-rw_timeout", RwTimeout(options)]);
        args.AddRange(target.InputOptions);
        if (input.ReadAtNativeRate) args.Add("-re");
        // A file loops inside ffmpeg (timestamps keep increasing); other sources are re-opened by the session.
        if (loop && input.Kind == PullSourceKind.File) args.AddRange(["-stream_loop", "-1"]);
        // A source without video (allowed only as a program's music bed: PullSpec.AudioOnlyAllowed) gives its sound alone.
        args.AddRange(probe.VideoCodec is null ? ["-i", target.Url, "-map", "0:a:0"] : ["-i", target.Url, "-map", "0:v:0", "-map", "0:a:0?"]);
        if (probe.CopyVideo) args.AddRange(["-c:v", "copy"]);
        else if (probe.VideoCodec is not null)
        {
            string keyframes = "expr:gte(t,n_forced*" + options.KeyframeSeconds.ToString(CultureInfo.InvariantCulture) + ")";
            args.AddRange(["-c:v", "libx264", "-preset", options.X264Preset, "-tune", "zerolatency", "-pix_fmt", "yuv420p",
                "-force_key_frames", keyframes, "-sc_threshold", "0"]);
        }
        if (probe.AudioCodec is not null)
        {
            if (probe.CopyAudio) args.AddRange(["-c:a", "copy"]);
            else args.AddRange(["-c:a", "aac", "-b:a", options.AudioBitrate.ToString(CultureInfo.InvariantCulture)]);
        }
        args.AddRange(["-f", "flv", "-flvflags", "no_duration_filesize", "pipe:1"]);
        return args;
    }
}
