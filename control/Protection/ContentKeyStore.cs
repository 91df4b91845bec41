using System.Globalization;
using System.Security.Cryptography;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;

namespace Broadcast.Control.Protection;

/// <summary>A content key as stored: its 16-byte KID (named in manifests) and its 16-byte AES-128 key (never shown).</summary>
public sealed class StoredContentKey(byte[] keyId, byte[] key)
{
    public byte[] KeyId { get; } = keyId;

    public byte[] Key { get; } = key;

    /// <summary>The KID only: a key never reaches a log through a string.</summary>
    public override string ToString() => $"content key {Convert.ToHexStringLower(KeyId)} (key withheld)";
}

/// <summary>
/// The built-in ClearKey provider's keys (docs/protection.md): a fresh random KID and AES-128 key per broadcast, kept in the
/// <c>content_keys</c> table encrypted under the server secret (AES-GCM, <see cref="StreamKeyProtector"/>; the KID and the
/// channel id are its associated data, so a ciphertext copied onto another row or channel does not decrypt). Every node
/// with the database (and the same <c>Secrets:Key</c>) answers for every broadcast, across restarts.
/// </summary>
public sealed class ContentKeyStore(ControlDatabase database, StreamKeyProtector protector, TimeProvider time)
{
    /// <summary>The most KIDs one lookup takes (the license endpoint caps a request's kids at this).</summary>
    public const int MaxKeysPerLookup = 16;

    private const int Size = 16;

    /// <summary>Makes and stores a new key for a broadcast of <paramref name="channelId"/>.</summary>
    public async Task<StoredContentKey> CreateAsync(string channelId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        var stored = new StoredContentKey(RandomNumberGenerator.GetBytes(Size), RandomNumberGenerator.GetBytes(Size));
        string kid = Convert.ToHexStringLower(stored.KeyId);
        // Millisecond precision: what both SQLite text and PostgreSQL timestamptz round-trip exactly.
        var createdAt = Sql.Millis(time.GetUtcNow());
        await Sql.ExecuteAsync(database,
            "INSERT INTO content_keys (kid, channel_id, key_ciphertext, created_at) VALUES (@kid, @channel_id, @key_ciphertext, @created_at)", c =>
            {
                Sql.Add(c, "kid", kid);
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "key_ciphertext", protector.Protect(AssociatedData(kid, channelId), Convert.ToBase64String(stored.Key)));
                Sql.Add(c, "created_at", createdAt);
            }, cancellationToken).ConfigureAwait(false);
        return stored;
    }

    /// <summary>
    /// Those of <paramref name="keyIds"/> (16 bytes each, at most <see cref="MaxKeysPerLookup"/>) that are keys of
    /// <paramref name="channelId"/>'s broadcasts; a KID of another channel, unknown, or stored under another server secret
    /// is left out.
    /// </summary>
    public async Task<IReadOnlyList<StoredContentKey>> FindAsync(string channelId, IReadOnlyList<byte[]> keyIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentNullException.ThrowIfNull(keyIds);
        if (keyIds.Count > MaxKeysPerLookup) throw new ArgumentException($"At most {MaxKeysPerLookup} key IDs per lookup.", nameof(keyIds));
        var kids = keyIds.Where(k => k.Length == Size).Select(Convert.ToHexStringLower).Distinct(StringComparer.Ordinal).ToArray();
        if (kids.Length == 0) return [];
        string names = string.Join(", ", kids.Select((_, i) => "@k" + i.ToString(CultureInfo.InvariantCulture)));
        var rows = await Sql.QueryAsync(database, $"SELECT kid, key_ciphertext FROM content_keys WHERE channel_id = @channel_id AND kid IN ({names})",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                for (int i = 0; i < kids.Length; i++) Sql.Add(c, "k" + i.ToString(CultureInfo.InvariantCulture), kids[i]);
            }, r => (Kid: r.GetString(0), Ciphertext: r.GetFieldValue<byte[]>(1)), cancellationToken).ConfigureAwait(false);
        var found = new List<StoredContentKey>(rows.Count);
        foreach (var (kid, ciphertext) in rows)
        {
            try
            {
                found.Add(new StoredContentKey(Convert.FromHexString(kid), Convert.FromBase64String(protector.Unprotect(AssociatedData(kid, channelId), ciphertext))));
            }
            catch (CryptographicException)
            {
                // Stored under another server secret: as good as unknown.
            }
        }

        return found;
    }

    /// <summary>Removes <paramref name="keyId"/>'s key of <paramref name="channelId"/>: a key made only to test the provider
    /// (the dashboard's "Test key"), which no broadcast names. Another channel's key of that KID is left alone.</summary>
    public Task DeleteAsync(string channelId, byte[] keyId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentNullException.ThrowIfNull(keyId);
        return Sql.ExecuteAsync(database, "DELETE FROM content_keys WHERE channel_id = @channel_id AND kid = @kid", c =>
        {
            Sql.Add(c, "channel_id", channelId);
            Sql.Add(c, "kid", Convert.ToHexStringLower(keyId));
        }, cancellationToken);
    }

    private static string AssociatedData(string kid, string channelId) => "content-key:" + kid + ":" + channelId;
}
