using Microsoft.Extensions.Configuration;

namespace Broadcast.Processes;

/// <summary>
/// The ffmpeg every part of a node runs (transcoder, thumbnails, slate, pulls, SRT's Opus-to-AAC, WHEP's RTP, programs,
/// clips): one setting, <see cref="SettingKey"/>, unless a part's own section names another (<c>Srt:FfmpegPath</c>,
/// <c>Pull:FfmpegPath</c>, <c>Whep:FfmpegPath</c>); <see cref="Default"/> (<c>ffmpeg</c> on PATH) when neither is set.
/// The node has one, registered by <see cref="FfmpegServiceCollectionExtensions"/>; parts receive it, none chooses a path
/// of its own.
/// </summary>
public sealed class FfmpegLocator
{
    /// <summary>The one setting every part falls back to.</summary>
    public const string SettingKey = "Transcode:FfmpegPath";

    /// <summary>The name a part's own section uses for its override (<c>{section}:FfmpegPath</c>).</summary>
    public const string SettingName = "FfmpegPath";

    public const string Default = "ffmpeg";

    private readonly Func<string, string?> _setting;

    /// <param name="setting">Reads a configuration key (null or blank: not set).</param>
    public FfmpegLocator(Func<string, string?> setting)
    {
        ArgumentNullException.ThrowIfNull(setting);
        _setting = setting;
    }

    public static FfmpegLocator FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new FfmpegLocator(key => configuration[key]);
    }

    /// <summary>The ffmpeg of the parts without a setting of their own: <see cref="SettingKey"/>, else <see cref="Default"/>.</summary>
    public string Shared => For(null);

    /// <summary>The ffmpeg of the part whose configuration section is <paramref name="section"/>: its own
    /// <c>{section}:FfmpegPath</c> when set, else <see cref="Shared"/>.</summary>
    public string For(string? section) => Choose(OwnSetting(section), _setting(SettingKey));

    /// <summary>The setting that names <see cref="For"/>'s answer (the part's own when set, else <see cref="SettingKey"/>),
    /// for error messages.</summary>
    public string SettingFor(string? section) =>
        !string.IsNullOrWhiteSpace(OwnSetting(section)) ? $"{section}:{SettingName}" : SettingKey;

    /// <summary>
    /// Checks that every part in <paramref name="requirements"/> has its ffmpeg: the first missing one is a clear error
    /// naming the Debian package, the setting and the parts that need it.
    /// </summary>
    public void Check(IEnumerable<FfmpegRequirement> requirements)
    {
        ArgumentNullException.ThrowIfNull(requirements);
        foreach (var group in requirements.GroupBy(r => (Path: For(r.Section), Setting: SettingFor(r.Section))))
        {
            if (TryResolve(group.Key.Path) is null)
                throw Missing(group.Key.Path, group.Key.Setting, group.Select(r => r.Part).Distinct(StringComparer.Ordinal));
        }
    }

    /// <summary>The full path of <paramref name="configured"/> (a path, or a name looked up on PATH); its absence is a
    /// clear error naming the Debian package and <see cref="SettingKey"/>.</summary>
    public static string Resolve(string configured) =>
        TryResolve(configured) ?? throw Missing(configured, SettingKey, []);

    private string? OwnSetting(string? section) => section is null ? null : _setting($"{section}:{SettingName}");

    private static string Choose(string? own, string? shared) =>
        !string.IsNullOrWhiteSpace(own) ? own : !string.IsNullOrWhiteSpace(shared) ? shared : Default;

    private static string? TryResolve(string configured)
    {
        ArgumentException.ThrowIfNullOrEmpty(configured);
        if (configured.Contains('/', StringComparison.Ordinal))
            return File.Exists(configured) ? configured : null;
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, configured);
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    private static InvalidOperationException Missing(string name, string setting, IEnumerable<string> parts)
    {
        string neededBy = string.Join(", ", parts);
        return new($"ffmpeg ('{name}', {setting}) was not found" + (neededBy.Length > 0 ? $"; needed by {neededBy}" : "") +
            $". Install the Debian package 'ffmpeg' (apt-get install ffmpeg), or point {setting} at an ffmpeg binary.");
    }
}

/// <summary>A part of this node that runs ffmpeg: <paramref name="Part"/> names it (and the setting that turns it off) in
/// the start-up error; <paramref name="Section"/> is its configuration section when it may name its own ffmpeg.</summary>
public sealed record FfmpegRequirement(string Part, string? Section = null);
