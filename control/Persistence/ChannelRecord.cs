namespace Broadcast.Control.Persistence;

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
    DateTimeOffset CreatedAt);
