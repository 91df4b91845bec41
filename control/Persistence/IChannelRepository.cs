namespace Broadcast.Control.Persistence;

/// <summary>The one persistence seam for channels; SQLite and PostgreSQL share <see cref="SqlChannelRepository"/>.</summary>
public interface IChannelRepository
{
    /// <summary>Inserts the row; false when its slug (or key hash) is already taken, so the caller can pick another.</summary>
    Task<bool> TryInsertAsync(ChannelRecord record, CancellationToken cancellationToken = default);

    Task<ChannelRecord?> GetByIdAsync(string id, CancellationToken cancellationToken = default);

    Task<ChannelRecord?> GetBySlugAsync(string slug, CancellationToken cancellationToken = default);

    /// <summary>Indexed lookup by the SHA-256 of a stream key.</summary>
    Task<ChannelRecord?> FindByKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default);

    /// <summary>All channels, oldest first.</summary>
    Task<IReadOnlyList<ChannelRecord>> ListAsync(CancellationToken cancellationToken = default);

    /// <summary>Slugs that start with <paramref name="prefix"/> (itself only <c>[a-z0-9-]</c>), for picking a free suffix.</summary>
    Task<IReadOnlyList<string>> ListSlugsWithPrefixAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Replaces the key (hash and ciphertext) and clears <c>revoked</c>; false when no such channel.</summary>
    Task<bool> ReplaceKeyAsync(string id, byte[] keyHash, byte[] keyCiphertext, CancellationToken cancellationToken = default);

    /// <summary>Changes name and flags; false when no such channel. The slug never changes (it is in every URL).</summary>
    Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, CancellationToken cancellationToken = default);

    Task<bool> SetRevokedAsync(string id, bool revoked, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}
