using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.TestSupport;

public enum ClipContainer
{
    Flv,
    Mp4,
}

/// <summary>
/// Parameters of a generated test clip: H.264 (libx264, testsrc2) + AAC-LC (sine) with a fixed GOP and no
/// scene-cut keyframes, so the keyframe interval a test expects is the one it gets.
/// </summary>
public sealed record ClipSpec
{
    public int Seconds { get; init; } = 4;
    public int Width { get; init; } = 320;
    public int Height { get; init; } = 240;
    public int Fps { get; init; } = 30;

    /// <summary>Frames between keyframes; defaults to 2 s worth.</summary>
    public int? GopFrames { get; init; }

    /// <summary>x264 profile: baseline, main or high.</summary>
    public string Profile { get; init; } = "main";

    public int VideoBitrateKbps { get; init; } = 400;
    public int AudioSampleRate { get; init; } = 48000;
    public int AudioChannels { get; init; } = 2;
    public int AudioBitrateKbps { get; init; } = 96;
    public ClipContainer Container { get; init; } = ClipContainer.Flv;

    public int EffectiveGop => GopFrames ?? Fps * 2;

    /// <summary>
    /// Extra keyframes at these times (seconds, ffmpeg's <c>-force_key_frames</c> list), as an encoder conditions an
    /// SCTE-35 splice with an IDR at the splice time; x264 counts its GOP on from each. Empty: none.
    /// </summary>
    public string ExtraKeyframes { get; init; } = "";

    /// <summary>
    /// x264 <c>-tune zerolatency</c>: no B-frames, no look-ahead, as the README asks of a low-latency encoder. Off: x264's
    /// preset defaults, B-frames included, as most encoders send.
    /// </summary>
    public bool ZeroLatency { get; init; }

    /// <summary>x264 <c>-bf</c>: B-frames between references, as an encoder such as OBS is set; null: the preset's own.</summary>
    public int? BFrames { get; init; }

    /// <summary>
    /// A frame counter burned into the picture: every frame a flat grey whose luma is 4 × its number within its GOP
    /// (frames 0..63 of a GOP read back to the frame from a decoded picture), instead of testsrc2. Tests of frame-accurate
    /// cuts read which frame a picture is with ffmpeg's signalstats.
    /// </summary>
    public bool FrameNumberLuma { get; init; }

    public int ExpectedVideoFrames => Seconds * Fps;

    /// <summary>Stable text of every parameter; the cache key is its hash.</summary>
    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"v1 {Seconds}s {Width}x{Height}@{Fps} gop{EffectiveGop} {Profile} {VideoBitrateKbps}k aac {AudioSampleRate}Hz {AudioChannels}ch {AudioBitrateKbps}k {Container}")
        + (ExtraKeyframes.Length > 0 ? " keys " + ExtraKeyframes : "")
        + (ZeroLatency ? " zerolatency" : "")
        + (BFrames is { } bf ? string.Create(CultureInfo.InvariantCulture, $" bf{bf}") : "")
        + (FrameNumberLuma ? " framelum" : "");
}

/// <summary>
/// Generates test clips with ffmpeg into a per-machine cache (TMPDIR/broadcast-testmedia) keyed by the
/// parameters. A clip is generated once even when parallel test classes or test hosts ask at the same
/// time: a lock file per key serialises generation and the clip appears by atomic rename.
/// </summary>
public static class TestMedia
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> s_inProcess = new();

    public static string CacheDirectory { get; } =
        Environment.GetEnvironmentVariable("BROADCAST_TESTMEDIA_DIR") is { Length: > 0 } d
            ? d
            : Path.Combine(Path.GetTempPath(), "broadcast-testmedia");

    /// <summary>Path of the clip for <paramref name="spec"/>, generating it on first use.</summary>
    public static Task<string> GetClipAsync(ClipSpec spec)
    {
        var key = Key(spec);
        return s_inProcess.GetOrAdd(key, k => new Lazy<Task<string>>(() => GenerateAsync(spec, k))).Value;
    }

    public static string Key(ClipSpec spec)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(spec.Describe()));
        var ext = spec.Container == ClipContainer.Flv ? "flv" : "mp4";
        return string.Create(
            CultureInfo.InvariantCulture,
            $"clip-{spec.Width}x{spec.Height}-{spec.Fps}fps-{spec.Seconds}s-{Convert.ToHexString(hash, 0, 6).ToLowerInvariant()}.{ext}");
    }

    /// <summary>The ffmpeg arguments that produce <paramref name="spec"/> into <paramref name="output"/>.</summary>
    public static IReadOnlyList<string> FfmpegArguments(ClipSpec spec, string output)
    {
        var inv = CultureInfo.InvariantCulture;
        var gop = spec.EffectiveGop.ToString(inv);
        var args = new List<string>
        {
            "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", spec.FrameNumberLuma
                ? string.Create(inv, $"color=c=black:s={spec.Width}x{spec.Height}:r={spec.Fps},format=yuv420p,"
                    + $"geq=lum='mod(N,{spec.EffectiveGop})*4':cb=128:cr=128")
                : string.Create(inv, $"testsrc2=size={spec.Width}x{spec.Height}:rate={spec.Fps}"),
            "-f", "lavfi", "-i", string.Create(inv, $"sine=frequency=1000:sample_rate={spec.AudioSampleRate}"),
            "-t", spec.Seconds.ToString(inv),
            "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", spec.Profile, "-pix_fmt", "yuv420p",
            // Fixed GOP, no scene-cut keyframes: keyframe interval is a test parameter, not x264's choice.
            "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
            "-b:v", string.Create(inv, $"{spec.VideoBitrateKbps}k"),
            "-maxrate", string.Create(inv, $"{spec.VideoBitrateKbps}k"),
            "-bufsize", string.Create(inv, $"{spec.VideoBitrateKbps * 2}k"),
            "-c:a", "aac", "-b:a", string.Create(inv, $"{spec.AudioBitrateKbps}k"),
            "-ar", spec.AudioSampleRate.ToString(inv), "-ac", spec.AudioChannels.ToString(inv),
        };
        if (spec.ExtraKeyframes.Length > 0) args.AddRange(["-force_key_frames:v", spec.ExtraKeyframes]);
        if (spec.ZeroLatency) args.AddRange(["-tune", "zerolatency"]);
        if (spec.BFrames is { } bFrames) args.AddRange(["-bf", bFrames.ToString(inv)]);
        if (spec.Container == ClipContainer.Mp4)
        {
            args.AddRange(["-movflags", "+faststart", "-f", "mp4"]);
        }
        else
        {
            args.AddRange(["-f", "flv"]);
        }

        args.Add(output);
        return args;
    }

    private static async Task<string> GenerateAsync(ClipSpec spec, string key)
    {
        Directory.CreateDirectory(CacheDirectory);
        var path = Path.Combine(CacheDirectory, key);
        if (File.Exists(path))
        {
            return path;
        }

        using var _ = await CrossProcessLock.AcquireAsync(path + ".lock", TimeSpan.FromMinutes(5)).ConfigureAwait(false);
        if (File.Exists(path))
        {
            return path;
        }

        var partial = Path.Combine(CacheDirectory, $"{key}.{Environment.ProcessId}.partial");
        var result = await ExternalProcess.RunAsync("ffmpeg", FfmpegArguments(spec, partial), TimeSpan.FromMinutes(4)).ConfigureAwait(false);
        if (result.ExitCode != 0 || !File.Exists(partial))
        {
            File.Delete(partial);
            throw new InvalidOperationException($"ffmpeg could not generate {spec.Describe()} (exit {result.ExitCode}):{Environment.NewLine}{result.OutputTail}");
        }

        File.Move(partial, path, overwrite: true);
        return path;
    }
}
