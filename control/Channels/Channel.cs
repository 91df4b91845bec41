namespace Broadcast.Control.Channels;

/// <summary>A channel as the rest of the system sees it: never carries the stream key.</summary>
/// <param name="StreamKeyHint">The key masked to its last four characters, for telling keys apart in lists.</param>
/// <param name="RewindSeconds">How far back a viewer may go in the live broadcast (start-over and rewind); null follows
/// <c>Packager:DvrSeconds</c>, 0 keeps only the live window.</param>
/// <param name="AudioTracks">Names for the encoder's audio tracks that carry no language tag, in the order it sends them
/// (see <see cref="AudioTrackNames"/>); empty names none.</param>
/// <param name="KeyRotationSegments">How often a protected broadcast's content key changes (<see cref="ChannelKeyRotation"/>):
/// 0, one key for the whole broadcast; N, a new key every N segments. Kept while <see cref="Protection"/> is none.</param>
public sealed record Channel(
    string Id,
    string Name,
    string Slug,
    bool RequireSchedule,
    bool LowLatency,
    bool Revoked,
    DateTimeOffset CreatedAt,
    string StreamKeyHint,
    bool RealTime = false,
    int? RewindSeconds = null,
    IReadOnlyList<Broadcast.Media.AudioLabel>? AudioTracks = null,
    ChannelProtection Protection = ChannelProtection.None,
    int KeyRotationSegments = 0);

/// <summary>
/// How a channel's broadcasts are encrypted (docs/protection.md): <see cref="None"/>, in the clear; <see cref="Cenc"/>,
/// Common Encryption AES-CTR (ISO/IEC 23001-7 §10.1); <see cref="Cbcs"/>, AES-CBC with the 1:9 pattern (§10.4);
/// <see cref="Aes128"/>, HLS whole-segment AES-128 (RFC 8216bis §4.4.4.4; HLS only, no DASH). A change applies from the
/// channel's next broadcast.
/// </summary>
public enum ChannelProtection
{
    None = 0,
    Cenc,
    Cbcs,
    Aes128,
}

/// <summary>The spelling of <see cref="ChannelProtection"/> in the API, the database and the dashboard: "none", "cenc", "cbcs",
/// "aes-128".</summary>
public static class ChannelProtections
{
    public static string Name(ChannelProtection protection) => protection switch
    {
        ChannelProtection.Cenc => "cenc",
        ChannelProtection.Cbcs => "cbcs",
        ChannelProtection.Aes128 => "aes-128",
        _ => "none",
    };

    /// <summary>Reads a name; false for anything but "none", "cenc", "cbcs" or "aes-128" (case as written: the API's values are lower case).</summary>
    public static bool TryParse(string? name, out ChannelProtection protection)
    {
        protection = name switch
        {
            "none" => ChannelProtection.None,
            "cenc" => ChannelProtection.Cenc,
            "cbcs" => ChannelProtection.Cbcs,
            "aes-128" => ChannelProtection.Aes128,
            _ => (ChannelProtection)(-1),
        };
        return (int)protection >= 0;
    }
}

/// <summary>
/// The range of <see cref="Channel.KeyRotationSegments"/>: 0 keeps one content key for the whole broadcast; 1 to
/// <see cref="MaxSegments"/> takes a new key every that many segments, each announced in the manifests ahead of its use
/// (docs/protection.md). Like the scheme, a change applies from the channel's next broadcast.
/// </summary>
public static class ChannelKeyRotation
{
    /// <summary>The most segments one key may cover when the key rotates.</summary>
    public const int MaxSegments = 1000;

    /// <summary>The setting's name in the API and in field errors.</summary>
    public const string Field = "keyRotationSegments";

    /// <summary>Why a rotation is refused, or null when it is within 0..<see cref="MaxSegments"/>.</summary>
    public static string? Error(int segments) => segments is < 0 or > MaxSegments
        ? $"keyRotationSegments must be a whole number from 0 (one key per broadcast) to {MaxSegments} (a new content key every that many segments)."
        : null;
}

/// <summary>What an admin asks for when creating a channel.</summary>
/// <param name="RealTime">The watch page plays it over WebRTC (WHEP) first, LL-HLS the fallback and overflow.</param>
/// <param name="RewindSeconds">The rewind window (see <see cref="Channel.RewindSeconds"/>); null follows the server's.</param>
/// <param name="Protection">How its broadcasts are encrypted (<see cref="ChannelProtection"/>).</param>
/// <param name="KeyRotationSegments">How often their content key changes (<see cref="Channel.KeyRotationSegments"/>).</param>
public sealed record ChannelSpec(string? Name, bool RequireSchedule = false, bool LowLatency = false, bool RealTime = false,
    int? RewindSeconds = null, ChannelProtection Protection = ChannelProtection.None, int KeyRotationSegments = 0);

/// <summary>
/// What an update does to a channel's rewind window (<see cref="Channel.RewindSeconds"/>): <see cref="Keep"/> (the
/// default) leaves it as it is; <see cref="To"/> sets it, null meaning "follow the server's <c>Packager:DvrSeconds</c>".
/// A plain <c>int?</c> could not tell "keep" from "back to the server's".
/// </summary>
public readonly record struct RewindChange
{
    private RewindChange(int? seconds)
    {
        IsSet = true;
        Seconds = seconds;
    }

    /// <summary>Leave the rewind window as it is.</summary>
    public static RewindChange Keep => default;

    /// <summary>True when the update sets the window to <see cref="Seconds"/>; false for <see cref="Keep"/>.</summary>
    public bool IsSet { get; }

    /// <summary>The new window in seconds (null: the server's); meaningful only when <see cref="IsSet"/>.</summary>
    public int? Seconds { get; }

    /// <summary>Set the window to <paramref name="seconds"/>; null returns it to the server's <c>Packager:DvrSeconds</c>.</summary>
    public static RewindChange To(int? seconds) => new(seconds);
}

/// <summary>A channel together with its full stream key: returned only by create, rotate and reveal.</summary>
public sealed record IssuedChannel(Channel Channel, string StreamKey);

/// <summary>The default channel at start-up. <see cref="StreamKey"/> is null when the key cannot be decrypted with the current secret.</summary>
public sealed record DefaultChannel(Channel Channel, string? StreamKey, bool Created);

public enum StreamKeyRejection
{
    None = 0,

    /// <summary>Not shaped like a key (wrong prefix, length or alphabet).</summary>
    Malformed,

    /// <summary>Well-formed but no channel has it (never issued, rotated away, or channel deleted).</summary>
    Unknown,

    /// <summary>The channel exists but its key was revoked.</summary>
    Revoked,
}

/// <summary>The answer to "which channel does this key publish to?"; <see cref="Channel"/> is null when rejected.</summary>
public readonly record struct StreamKeyLookup(Channel? Channel, StreamKeyRejection Rejection)
{
    public bool Found => Channel is not null;

    /// <summary>A reason fit for logs and for the publisher; never contains the key.</summary>
    public string? Reason => Rejection switch
    {
        StreamKeyRejection.None => null,
        StreamKeyRejection.Malformed => "stream key is malformed",
        StreamKeyRejection.Unknown => "stream key is unknown",
        StreamKeyRejection.Revoked => "stream key was revoked",
        _ => "stream key rejected",
    };
}

/// <summary>
/// One row of the <c>channels</c> table. The stream key appears only as its SHA-256
/// (<see cref="KeyHash"/>, the lookup index) and as AES-GCM ciphertext (<see cref="KeyCiphertext"/>).
/// </summary>
public sealed record ChannelRecord(
    string Id,
    string Name,
    string Slug,
    byte[] KeyHash,
    byte[] KeyCiphertext,
    bool RequireSchedule,
    bool LowLatency,
    bool Revoked,
    DateTimeOffset CreatedAt,
    bool RealTime = false,
    int? RewindSeconds = null,
    string? AudioTracks = null,
    ChannelProtection Protection = ChannelProtection.None,
    int KeyRotationSegments = 0);
