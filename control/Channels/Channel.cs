namespace Broadcast.Control.Channels;

/// <summary>A channel as the rest of the system sees it: never carries the stream key.</summary>
/// <param name="StreamKeyHint">The key masked to its last four characters, for telling keys apart in lists.</param>
public sealed record Channel(
    string Id,
    string Name,
    string Slug,
    bool RequireSchedule,
    bool LowLatency,
    bool Revoked,
    DateTimeOffset CreatedAt,
    string StreamKeyHint,
    bool RealTime = false);

/// <summary>What an admin asks for when creating a channel.</summary>
/// <param name="RealTime">The watch page plays it over WebRTC (WHEP) first, LL-HLS the fallback and overflow.</param>
public sealed record ChannelSpec(string? Name, bool RequireSchedule = false, bool LowLatency = false, bool RealTime = false);

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
    bool RealTime = false);
