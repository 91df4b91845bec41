namespace Broadcast.Processes;

/// <summary>
/// The ffmpeg every part of a node runs (transcoder, thumbnails, slate, pulls, SRT's Opus-to-AAC, WHEP's RTP, programs):
/// one setting, <see cref="SettingKey"/>, unless a part's own section names another (<c>Srt:FfmpegPath</c>,
/// <c>Pull:FfmpegPath</c>, <c>Whep:FfmpegPath</c>); <c>ffmpeg</c> on PATH when neither is set.
/// </summary>
public static class FfmpegExecutable
{
    /// <summary>The one setting every part falls back to.</summary>
    public const string SettingKey = "Transcode:FfmpegPath";

    public const string Default = "ffmpeg";

    /// <summary><paramref name="own"/> (a part's own setting) when set, else <paramref name="shared"/> (<see cref="SettingKey"/>),
    /// else <see cref="Default"/>.</summary>
    public static string Choose(string? own, string? shared) =>
        !string.IsNullOrWhiteSpace(own) ? own : !string.IsNullOrWhiteSpace(shared) ? shared : Default;

    /// <summary>
    /// The full path of <paramref name="configured"/> (a path, or a name looked up on PATH), checked at start-up: its
    /// absence is a clear error naming the Debian package and the setting.
    /// </summary>
    public static string Resolve(string configured)
    {
        ArgumentException.ThrowIfNullOrEmpty(configured);
        if (configured.Contains('/', StringComparison.Ordinal))
            return File.Exists(configured) ? configured : throw Missing(configured);
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, configured);
            if (File.Exists(candidate)) return candidate;
        }

        throw Missing(configured);
    }

    private static InvalidOperationException Missing(string name) =>
        new($"ffmpeg ('{name}', {SettingKey}) was not found. Install the Debian package 'ffmpeg' (apt-get install ffmpeg), " +
            $"point {SettingKey} at an ffmpeg binary, or set Transcode:Enabled=false to serve the source only.");
}
