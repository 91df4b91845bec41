using System.Globalization;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control;

/// <summary>The configuration keys control reads, with the embedded defaults.</summary>
public sealed record ControlSettings
{
    public string DatabaseKind { get; init; } = "sqlite";

    public string DatabaseConnectionString { get; init; } = SqliteControlDatabase.DefaultConnectionString;

    /// <summary><c>Secrets:Key</c>: base64 of 32 bytes. When unset the key lives in <see cref="SecretKeyPath"/>.</summary>
    public string? SecretKey { get; init; }

    public string SecretKeyPath { get; init; } = "./data/secret.key";

    public string? AdminToken { get; init; }

    public string AdminTokenPath { get; init; } = "./data/admin-token";

    /// <summary><c>Playback:NodeToken</c>: origin nodes' read-only credential; unset, none can read private playback here.</summary>
    public string? PlaybackNodeToken { get; init; }

    public int RtmpPort { get; init; } = 1935;

    public string? PublicRtmpBaseUrl { get; init; }

    /// <summary>
    /// <c>Public:BackupRtmpBaseUrl</c>: a second ingest address (another node or region) shown beside the primary, as
    /// platforms show a backup server; unset: none.
    /// </summary>
    public string? PublicBackupRtmpBaseUrl { get; init; }

    /// <summary><c>Srt:Port</c> when SRT ingest is on (a positive port), else null.</summary>
    public int? SrtPort { get; init; }

    /// <summary><c>Public:SrtBaseUrl</c>: <c>srt://host:port</c> as encoders reach the SRT listener (behind NAT or a load balancer).</summary>
    public string? PublicSrtBaseUrl { get; init; }

    public string? PublicHttpBaseUrl { get; init; }

    /// <summary><c>Events:PublishLeadSeconds</c>: publishing opens this long before an event's start (default 15 min; tests use 0).</summary>
    public TimeSpan PublishLead { get; init; } = TimeSpan.FromMinutes(15);

    /// <summary><c>Events:LateAfterSeconds</c>: an event without a publisher this long after its start is marked late.</summary>
    public TimeSpan LateAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary><c>Recordings:RetentionDays</c>: recordings older than this are deleted; null keeps them forever.</summary>
    public TimeSpan? RecordingRetention { get; init; }

    /// <summary><c>Scheduling:Clustered</c>: Quartz's AdoJobStore on PostgreSQL; defaults to on when Database:Kind is postgres.</summary>
    public bool? ClusteredScheduling { get; init; }

    /// <summary>
    /// <c>Admin:PasswordHashIterations</c>: PBKDF2-SHA256 iterations for new password hashes (default 600,000, OWASP 2023).
    /// Tests lower it to keep hashing cheap; production should not. Stored per hash, so a change never locks anyone out.
    /// </summary>
    public int PasswordHashIterations { get; init; } = Users.PasswordHasher.DefaultIterations;

    /// <summary><c>Clips:MaxSeconds</c>: the longest clip that may be cut (default 300 s).</summary>
    public TimeSpan ClipMaxLength { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary><c>Scheduling:InstanceId</c>: this node's Quartz instance id; generated when unset.</summary>
    public string? SchedulerInstanceId { get; init; }

    public static ControlSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var defaults = new ControlSettings();
        var port = configuration["Rtmp:Port"];
        return new ControlSettings
        {
            DatabaseKind = NonEmpty(configuration["Database:Kind"]) ?? defaults.DatabaseKind,
            DatabaseConnectionString = NonEmpty(configuration["Database:ConnectionString"]) ?? defaults.DatabaseConnectionString,
            SecretKey = NonEmpty(configuration["Secrets:Key"]),
            SecretKeyPath = NonEmpty(configuration["Secrets:KeyPath"]) ?? defaults.SecretKeyPath,
            AdminToken = AdminTokenOf(configuration["Admin:Token"]),
            AdminTokenPath = NonEmpty(configuration["Admin:TokenPath"]) ?? defaults.AdminTokenPath,
            PlaybackNodeToken = NonEmpty(configuration[Security.PlaybackNodeToken.ConfigurationKey]),
            RtmpPort = port is null ? defaults.RtmpPort
                : int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535 ? p
                : throw new InvalidOperationException($"Rtmp:Port '{port}' is not a TCP port."),
            PublicRtmpBaseUrl = NonEmpty(configuration["Public:RtmpBaseUrl"]),
            SrtPort = int.TryParse(configuration["Srt:Port"], NumberStyles.None, CultureInfo.InvariantCulture, out var srt)
                && srt is > 0 and <= 65535 ? srt : null,
            PublicSrtBaseUrl = NonEmpty(configuration["Public:SrtBaseUrl"]),
            PublicBackupRtmpBaseUrl = NonEmpty(configuration["Public:BackupRtmpBaseUrl"]),
            PublicHttpBaseUrl = NonEmpty(configuration["Public:HttpBaseUrl"]),
            PublishLead = Seconds(configuration, "Events:PublishLeadSeconds") ?? defaults.PublishLead,
            LateAfter = Seconds(configuration, "Events:LateAfterSeconds") ?? defaults.LateAfter,
            RecordingRetention = NonEmpty(configuration["Recordings:RetentionDays"]) is { } days
                ? double.TryParse(days, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d > 0 && d <= 36_500 ? TimeSpan.FromDays(d)
                    : throw new InvalidOperationException($"Recordings:RetentionDays '{days}' is not a number of days above 0.")
                : null,
            PasswordHashIterations = NonEmpty(configuration["Admin:PasswordHashIterations"]) is { } iterations
                ? int.TryParse(iterations, NumberStyles.None, CultureInfo.InvariantCulture, out var it) && it is >= 1_000 and <= 10_000_000 ? it
                    : throw new InvalidOperationException($"Admin:PasswordHashIterations '{iterations}' must be between 1000 and 10000000.")
                : defaults.PasswordHashIterations,
            SchedulerInstanceId = NonEmpty(configuration["Scheduling:InstanceId"]),
            ClipMaxLength = NonEmpty(configuration["Clips:MaxSeconds"]) is { } clipSeconds
                ? int.TryParse(clipSeconds, NumberStyles.None, CultureInfo.InvariantCulture, out var cs) && cs is >= 1 and <= 86_400
                    ? TimeSpan.FromSeconds(cs)
                    : throw new InvalidOperationException($"Clips:MaxSeconds '{clipSeconds}' is not a whole number of seconds from 1 to 86400.")
                : defaults.ClipMaxLength,
            ClusteredScheduling = NonEmpty(configuration["Scheduling:Clustered"]) is { } clustered
                ? bool.TryParse(clustered, out var c) ? c : throw new InvalidOperationException($"Scheduling:Clustered '{clustered}' is not true " +
                    "or false.")
                : null,
        };
    }

    /// <summary>The shortest <c>Admin:Token</c> accepted: 32 characters, 128 bits of randomness as hex.</summary>
    public const int MinAdminTokenLength = 32;

    /// <summary>
    /// A configured admin token unlocks the whole API from anywhere the HTTP port reaches: a short or example value is
    /// refused at start-up, with how to make a good one. Unset, one is generated into <c>Admin:TokenPath</c>.
    /// </summary>
    private static string? AdminTokenOf(string? configured)
    {
        var token = NonEmpty(configured)?.Trim();
        if (token is null || token.Length >= MinAdminTokenLength) return token;
        throw new InvalidOperationException(
            $"Admin:Token has {token.Length} characters; it must be at least {MinAdminTokenLength} random characters " +
            "(e.g. `openssl rand -hex 32`), or be left unset to have one generated into Admin:TokenPath.");
    }

    private static TimeSpan? Seconds(IConfiguration configuration, string key)
    {
        var value = NonEmpty(configuration[key]);
        if (value is null) return null;
        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var s) && s <= 7 * 86_400
            ? TimeSpan.FromSeconds(s)
            : throw new InvalidOperationException($"{key} '{value}' is not a whole number of seconds between 0 and 604800.");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
