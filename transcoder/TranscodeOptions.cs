using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Transcoder;

/// <summary>One rung of the configured ladder: a name (also the rendition's URL segment), a target height, a video bitrate.</summary>
public sealed record LadderRung(string Name, int Height, long VideoBitrate);

/// <summary>
/// Transcoding settings from the configuration section <c>Transcode</c>. Read by hand rather than bound so an
/// invalid value becomes a start-up error that names its exact key (e.g. <c>Transcode:Ladder:2:Height</c>).
/// </summary>
public sealed class TranscodeOptions
{
    public const string SectionName = "Transcode";

    public bool Enabled { get; init; } = true;

    /// <summary>Keep the source as the top rung (<c>source</c>) when it is H.264/HEVC.</summary>
    public bool Passthrough { get; init; } = true;

    public IReadOnlyList<LadderRung> Ladder { get; init; } = DefaultLadder;

    public long AudioBitrate { get; init; } = 128_000;

    /// <summary>libx264 preset for the software back-end.</summary>
    public string X264Preset { get; init; } = "veryfast";

    /// <summary>Restrict the hardware probe to these back-ends (names as in <see cref="Encoding.EncoderBackends"/>); empty: all, in order.</summary>
    public IReadOnlyList<string> Backends { get; init; } = [];

    /// <summary>After ffmpeg's stdin is closed, how long it may go without writing output before it is killed.</summary>
    public TimeSpan StopGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Speed below which, sustained for <see cref="ShedAfter"/>, the lowest rung is shed (<c>Transcode:ShedBelowSpeed</c>;
    /// 0 never sheds).</summary>
    public double ShedBelowSpeed { get; init; } = 0.9;

    public TimeSpan ShedAfter { get; init; } = TimeSpan.FromSeconds(10);

    public static IReadOnlyList<LadderRung> DefaultLadder { get; } =
    [
        new("1080p", 1080, 6_000_000),
        new("720p", 720, 3_000_000),
        new("480p", 480, 1_200_000),
        new("360p", 360, 700_000),
    ];

    private static readonly string[] Reserved = ["source", "audio", "recordings"];

    /// <summary>Reads and validates the section; throws <see cref="InvalidOperationException"/> naming the offending key.</summary>
    public static TranscodeOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);
        var ladderSection = section.GetSection("Ladder");
        IReadOnlyList<LadderRung> ladder = DefaultLadder;
        if (ladderSection.GetChildren().Any())
        {
            var rungs = new List<LadderRung>();
            foreach (var child in ladderSection.GetChildren().OrderBy(c => int.TryParse(c.Key, out int i) ? i : int.MaxValue))
            {
                string prefix = $"{SectionName}:Ladder:{child.Key}";
                string? name = child["Name"];
                if (string.IsNullOrWhiteSpace(name) || !IsUrlSafe(name) || Reserved.Contains(name, StringComparer.OrdinalIgnoreCase))
                    throw Invalid($"{prefix}:Name", name, "a URL-safe rendition name (letters, digits, '-', '_') other than source/audio/recordings");
                int height = ReadInt(child, "Height", prefix, 2, 4320);
                if (height % 2 != 0) throw Invalid($"{prefix}:Height", child["Height"], "an even number");
                long bitrate = ReadLong(child, "VideoBitrate", prefix, 50_000, 100_000_000);
                if (rungs.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
                    throw Invalid($"{prefix}:Name", name, "a name not used by another rung");
                rungs.Add(new LadderRung(name, height, bitrate));
            }
            ladder = rungs;
        }
        var backends = section.GetSection("Backends").GetChildren().Select(c => c.Value ?? "").ToList();
        foreach (var (b, i) in backends.Select((b, i) => (b, i)))
            if (!Encoding.EncoderBackends.All.Any(e => string.Equals(e.Name, b, StringComparison.OrdinalIgnoreCase)))
                throw Invalid($"{SectionName}:Backends:{i}", b, "one of " + string.Join(", ", Encoding.EncoderBackends.All.Select(e => e.Name)));
        string preset = section["X264Preset"] is { Length: > 0 } p ? p : "veryfast";
        string[] presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"];
        if (!presets.Contains(preset)) throw Invalid($"{SectionName}:X264Preset", preset, "an x264 preset (" + string.Join(", ", presets) + ")");
        return new TranscodeOptions
        {
            Enabled = ReadBool(section, "Enabled", true),
            Passthrough = ReadBool(section, "Passthrough", true),
            Ladder = ladder,
            AudioBitrate = section["AudioBitrate"] is null ? 128_000 : ReadLong(section, "AudioBitrate", SectionName, 16_000, 512_000),
            X264Preset = preset,
            Backends = backends,
            ShedBelowSpeed = ReadDouble(section, "ShedBelowSpeed", 0.9, 0, 1),
            ShedAfter = TimeSpan.FromSeconds(section["ShedAfterSeconds"] is null ? 10 : ReadLong(section, "ShedAfterSeconds", SectionName, 1, 3600)),
            StopGrace = TimeSpan.FromSeconds(section["StopGraceSeconds"] is null ? 10 : ReadLong(section, "StopGraceSeconds", SectionName, 1, 120)),
        };
    }

    private static double ReadDouble(IConfigurationSection section, string key, double fallback, double min, double max)
    {
        string? raw = section[key];
        if (raw is null) return fallback;
        if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= min && v <= max) return v;
        throw Invalid($"{section.Path}:{key}", raw, $"a number from {min} to {max}");
    }

    private static bool IsUrlSafe(string s) => s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    private static bool ReadBool(IConfigurationSection section, string key, bool fallback)
    {
        string? raw = section[key];
        if (raw is null) return fallback;
        return bool.TryParse(raw, out bool v) ? v : throw Invalid($"{section.Path}:{key}", raw, "true or false");
    }

    private static int ReadInt(IConfigurationSection section, string key, string prefix, int min, int max) =>
        (int)ReadLong(section, key, prefix, min, max);

    private static long ReadLong(IConfigurationSection section, string key, string prefix, long min, long max)
    {
        string? raw = section[key];
        if (long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out long v) && v >= min && v <= max) return v;
        throw Invalid($"{prefix}:{key}", raw, $"an integer from {min} to {max}");
    }

    private static InvalidOperationException Invalid(string key, string? value, string expected) =>
        new($"Invalid configuration {key} = '{value ?? "(missing)"}': expected {expected}.");
}
