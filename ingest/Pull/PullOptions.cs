using Broadcast.Processes;
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Ingest.Pull;

/// <summary>
/// Pull sources, from the configuration section <c>Pull</c>. Read by hand so an invalid value stops start-up naming its key.
/// </summary>
public sealed class PullOptions
{
    public const string SectionName = "Pull";

    /// <summary>
    /// Whether this node runs pull sources (<c>Pull:Enabled</c>). With several ingest nodes each channel's pull runs on the one
    /// holding its lease, and moves when that node dies.
    /// </summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Where <c>file:</c> sources live (<c>Pull:MediaRoot</c>); paths may not leave it.</summary>
    public string MediaRoot { get; init; } = "./data/media-library";

    /// <summary>The node's ffmpeg for pulls (<see cref="FfmpegLocator.For"/> of <c>Pull</c>), set by <see cref="FromConfiguration"/>.</summary>
    public string FfmpegPath { get; init; } = "";

    public string FfprobePath { get; init; } = "ffprobe";

    /// <summary>CA bundle ffmpeg checks rtmps:// and https:// certificates against (<c>Pull:CaFile</c>); empty:
    /// ffmpeg's TLS library default.</summary>
    public string CaFile { get; init; } = DefaultCaFile;

    public const string DefaultCaFile = "/etc/ssl/certs/ca-certificates.crt";

    /// <summary>First wait before retrying an unreachable source; doubles per failure up to <see cref="RetryMax"/>.</summary>
    public TimeSpan RetryInitial { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Open/read timeout of network sources (ffmpeg <c>rw_timeout</c>) and the limit on silence once live.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long ffprobe may take to identify the source.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>After 'q', how long ffmpeg may take to exit before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Keyframe spacing when the video must be encoded (the packager's segment duration).</summary>
    public int KeyframeSeconds { get; init; } = 2;

    public string X264Preset { get; init; } = "veryfast";

    public long AudioBitrate { get; init; } = 128_000;

    /// <summary>Reads <c>Pull:*</c>; the ffmpeg is <paramref name="ffmpegLocator"/>'s for <c>Pull</c>, its ffprobe beside it unless
    /// <c>Pull:FfprobePath</c> names another.</summary>
    public static PullOptions FromConfiguration(IConfiguration configuration, FfmpegLocator ffmpegLocator)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(ffmpegLocator);
        var s = configuration.GetSection(SectionName);
        // Transcode:FfmpegPath (through the locator) and Transcode:X264Preset are the defaults here too, so one setting
        // serves every ffmpeg.
        var transcode = configuration.GetSection("Transcode");
        string ffmpeg = ffmpegLocator.For(SectionName);
        return new PullOptions
        {
            Enabled = Bool(s, "Enabled", true),
            MediaRoot = s["MediaRoot"] is { Length: > 0 } root ? root : "./data/media-library",
            FfmpegPath = ffmpeg,
            FfprobePath = s["FfprobePath"] is { Length: > 0 } p ? p : Sibling(ffmpeg, "ffprobe"),
            CaFile = s["CaFile"] ?? DefaultCaFile,
            RetryInitial = Seconds(s, "RetryInitialSeconds", 1, 0.1, 60),
            RetryMax = Seconds(s, "RetryMaxSeconds", 30, 1, 3600),
            ConnectTimeout = Seconds(s, "ConnectTimeoutSeconds", 10, 1, 300),
            ProbeTimeout = Seconds(s, "ProbeTimeoutSeconds", 30, 1, 300),
            StopGrace = Seconds(s, "StopGraceSeconds", 3, 0, 60),
            KeyframeSeconds = int.TryParse(configuration["Packager:SegmentSeconds"], NumberStyles.Integer, CultureInfo.InvariantCulture, out int seg)
                && seg is > 0 and <= 10 ? seg : 2,
            X264Preset = transcode["X264Preset"] is { Length: > 0 } preset ? preset : "veryfast",
        };
    }

    /// <summary>ffprobe beside a configured ffmpeg path (…/bin/ffmpeg → …/bin/ffprobe), else on PATH.</summary>
    internal static string Sibling(string ffmpeg, string tool)
    {
        string? dir = Path.GetDirectoryName(ffmpeg);
        return string.IsNullOrEmpty(dir) ? tool : Path.Combine(dir, tool);
    }

    private static bool Bool(IConfigurationSection s, string key, bool fallback)
    {
        if (s[key] is not { Length: > 0 } v) return fallback;
        return bool.TryParse(v, out bool b) ? b : throw new InvalidOperationException($"{SectionName}:{key} must be true or false, not '{v}'.");
    }

    private static TimeSpan Seconds(IConfigurationSection s, string key, double fallback, double min, double max)
    {
        if (s[key] is not { Length: > 0 } v) return TimeSpan.FromSeconds(fallback);
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || d < min || d > max)
            throw new InvalidOperationException($"{SectionName}:{key} must be a number of seconds from {min} to {max}, not '{v}'.");
        return TimeSpan.FromSeconds(d);
    }
}
