using System.Data.Common;
using System.Net;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Playback.Jwt;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Playback;

/// <summary>A token handed to a viewer and the URLs that carry it.</summary>
public sealed record MintedPlaybackToken(string Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Private playback: which channels need a signed token, the signing keys (current + previous, stored as
/// AES-GCM ciphertext under the server secret, like stream keys), minting and verifying tokens. Reads are served
/// from an in-memory snapshot that <see cref="RefreshAsync"/> rebuilds (at start, after every change made here, and
/// every <c>Playback:RefreshSeconds</c> for changes made by other nodes), so the origin's per-request check never
/// touches the database.
/// </summary>
/// <remarks>A private channel also opens to a JWT the platform signed (<see cref="PlaybackJwtVerifier"/>): one more door beside
/// the tokens minted here, taken by a token of a JWT's shape when <c>Playback:Jwt</c> is configured.</remarks>
public sealed partial class PlaybackAccessService(ControlDatabase database, StreamKeyProtector protector, TimeProvider time,
    ILogger<PlaybackAccessService> logger, PlaybackJwtVerifier? jwt = null)
{
    /// <summary>Longest token lifetime the API hands out.</summary>
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(7);

    private volatile Snapshot _snapshot = Snapshot.Empty;

    /// <summary>Hot path: one span lookup in a set; false at once when no channel is private.</summary>
    public bool IsPrivate(ReadOnlySpan<char> slug)
    {
        Snapshot snapshot = _snapshot;
        return snapshot.PrivateCount != 0 && snapshot.PrivateChannelIds.ContainsKey(slug);
    }

    /// <summary>
    /// Checks a token for a private channel's stream against the keys in force and the channel that holds the slug now
    /// (a token signed for a deleted channel with the same slug is refused). A slug that is not private has no channel
    /// here: <see cref="PlaybackTokenResult.UnknownChannel"/>.
    /// </summary>
    public PlaybackTokenResult Verify(ReadOnlySpan<char> slug, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
    {
        PlaybackTokenResult result = Verify(slug, token, null, out PlaybackGrant grant);
        expiresAt = grant.ExpiresAt;
        return result;
    }

    /// <summary>
    /// As <see cref="Verify(ReadOnlySpan{char}, ReadOnlySpan{char}, out DateTimeOffset)"/> from <paramref name="client"/> (a JWT bound
    /// to an address needs it), with what the token grants (the platform's viewer id for chat).
    /// </summary>
    public PlaybackTokenResult Verify(ReadOnlySpan<char> slug, ReadOnlySpan<char> token, IPAddress? client, out PlaybackGrant grant)
    {
        grant = default;
        if (jwt is { Enabled: true } && PlaybackJwtVerifier.LooksLikeJwt(token))
        {
            return _snapshot.PrivateChannelIds.ContainsKey(slug) ? jwt.Verify(slug, token, client, out grant) : PlaybackTokenResult.UnknownChannel;
        }

        PlaybackTokenResult own = VerifyOwn(slug, token, out DateTimeOffset expiresAt);
        if (own == PlaybackTokenResult.Valid) grant = new PlaybackGrant(expiresAt, null);
        return own;
    }

    private PlaybackTokenResult VerifyOwn(ReadOnlySpan<char> slug, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
    {
        expiresAt = default;
        Snapshot snapshot = _snapshot;
        if (snapshot.Keys is null)
        {
            return PlaybackTokenResult.UnknownKey;
        }

        if (!snapshot.PrivateChannelIds.TryGetValue(slug, out string? channelId))
        {
            return PlaybackTokenResult.UnknownChannel;
        }

        PlaybackTokenResult result = PlaybackToken.Verify(token, slug, channelId, time.GetUtcNow().ToUnixTimeSeconds(), snapshot.Keys);
        if (result == PlaybackTokenResult.Valid && PlaybackToken.TryParse(token, out _, out _, out long expires, out _))
        {
            expiresAt = DateTimeOffset.FromUnixTimeSeconds(expires);
        }

        return result;
    }

    /// <summary>
    /// For a private channel's slug, a short value derived from its channel id (16 hex characters of SHA-256, so the id
    /// itself is not handed out) that a CDN edge puts in its cache key; null for a public slug.
    /// </summary>
    public string? ScopeOf(ReadOnlySpan<char> slug)
        => _snapshot.PrivateChannelIds.TryGetValue(slug, out string? channelId)
            ? PlaybackScope.Of(channelId)
            : null;

    /// <summary>The keys in force (null before the first refresh).</summary>
    public PlaybackKeyRing? Keys => _snapshot.Keys;

    /// <summary>The private channels in the current snapshot, slug to channel id (for cluster nodes without the database).</summary>
    public IReadOnlyDictionary<string, string> PrivateChannels => _snapshot.PrivateChannelIds.Dictionary;

    /// <summary>
    /// Signs a token for <paramref name="channel"/>'s stream, bound to its slug and its id, that expires after
    /// <paramref name="lifetime"/> (1 s to 7 days).
    /// </summary>
    public async Task<MintedPlaybackToken> MintAsync(Channel channel, TimeSpan lifetime, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (lifetime < TimeSpan.FromSeconds(1) || lifetime > MaxLifetime)
        {
            throw new ArgumentOutOfRangeException(nameof(lifetime), "A token lives from 1 second to 7 days.");
        }

        PlaybackKeyRing keys = _snapshot.Keys ?? await RefreshAsync(cancellationToken).ConfigureAwait(false);
        long expires = time.GetUtcNow().Add(lifetime).ToUnixTimeSeconds();
        return new MintedPlaybackToken(PlaybackToken.Sign(channel.Slug, channel.Id, expires, keys.Current),
            DateTimeOffset.FromUnixTimeSeconds(expires));
    }

    /// <summary>Makes a channel private or public; false when no such channel.</summary>
    public async Task<bool> SetPrivateAsync(string channelId, bool isPrivate, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(channelId);
        var exists = await Sql.QueryAsync(database, "SELECT id FROM channels WHERE id = @id", c => Sql.Add(c, "id", channelId), r => r.GetString(0),
            cancellationToken).ConfigureAwait(false);
        if (exists.Count == 0)
        {
            return false;
        }

        if (isPrivate)
        {
            try
            {
                await Sql.ExecuteAsync(database, "INSERT INTO private_playback_channels (channel_id, since) VALUES (@id, @since)", c =>
                {
                    Sql.Add(c, "id", channelId);
                    Sql.Add(c, "since", Sql.Millis(time.GetUtcNow()));
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (DbException e) when (database.IsUniqueViolation(e))
            {
                // Already private.
            }
            catch (DbException e) when (database.IsForeignKeyViolation(e))
            {
                return false;
            }
        }
        else
        {
            await Sql.ExecuteAsync(database, "DELETE FROM private_playback_channels WHERE channel_id = @id", c => Sql.Add(c, "id", channelId),
                cancellationToken).ConfigureAwait(false);
        }

        LogPrivacyChanged(channelId, isPrivate);
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// A new current key; the current one becomes previous (still verifies), the previous one is deleted (its tokens
    /// stop working at once: this is also how to revoke every token in circulation, by rotating twice).
    /// </summary>
    public async Task<PlaybackKeyRing> RotateAsync(CancellationToken cancellationToken = default)
    {
        await InsertKeyAsync(PlaybackSigningKey.Generate(), time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
        PlaybackKeyRing ring = await RefreshAsync(cancellationToken).ConfigureAwait(false);
        // Keep the two newest; older keys are gone from every node at its next refresh.
        await Sql.ExecuteAsync(database,
            "DELETE FROM playback_signing_keys WHERE id NOT IN (SELECT id FROM playback_signing_keys ORDER BY created_at DESC, id DESC LIMIT 2)",
            _ => { }, cancellationToken).ConfigureAwait(false);
        LogKeysRotated(ring.Current.Id);
        return ring;
    }

    /// <summary>Reloads private channels and keys from the database (creating the first key when there is none).</summary>
    public async Task<PlaybackKeyRing> RefreshAsync(CancellationToken cancellationToken = default)
    {
        var channels = await Sql.QueryAsync(database,
            "SELECT c.slug, c.id FROM private_playback_channels p JOIN channels c ON c.id = p.channel_id", _ => { },
            r => KeyValuePair.Create(r.GetString(0), r.GetString(1)), cancellationToken).ConfigureAwait(false);
        var keys = await LoadKeysAsync(cancellationToken).ConfigureAwait(false);
        if (keys.Count == 0)
        {
            // First start: one key. Two nodes racing here both insert; the newest wins as current, the other verifies.
            await InsertKeyAsync(PlaybackSigningKey.Generate(), time.GetUtcNow(), cancellationToken).ConfigureAwait(false);
            keys = await LoadKeysAsync(cancellationToken).ConfigureAwait(false);
        }

        var ring = new PlaybackKeyRing(keys[0], keys.Count > 1 ? keys[1] : null);
        _snapshot = new Snapshot(new Dictionary<string, string>(channels, StringComparer.Ordinal), ring);
        return ring;
    }

    private async Task<List<PlaybackSigningKey>> LoadKeysAsync(CancellationToken cancellationToken)
    {
        var rows = await Sql.QueryAsync(database,
            "SELECT id, secret_ciphertext FROM playback_signing_keys ORDER BY created_at DESC, id DESC LIMIT 2", _ => { },
            r => (Id: r.GetString(0), Ciphertext: r.GetFieldValue<byte[]>(1)), cancellationToken).ConfigureAwait(false);
        var keys = new List<PlaybackSigningKey>(rows.Count);
        foreach (var (id, ciphertext) in rows)
        {
            try
            {
                keys.Add(new PlaybackSigningKey(id, Convert.FromBase64String(protector.Unprotect(AssociatedData(id), ciphertext))));
            }
            catch (CryptographicException)
            {
                // Written under another server secret: unusable here; rotating replaces it.
                LogUndecryptableKey(id);
            }
        }

        return keys;
    }

    // The newest key is the current one, so a new key must sort after every existing one: two rotations within one
    // millisecond (rotating twice is how every token is revoked) would otherwise tie, and the random id would pick the
    // current key. created_at is therefore max(now, newest + 1 ms).
    private async Task InsertKeyAsync(PlaybackSigningKey key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var newest = await Sql.QueryAsync(database, "SELECT MAX(created_at) FROM playback_signing_keys", _ => { },
            r => Sql.NullableTime(r, 0), cancellationToken).ConfigureAwait(false);
        DateTimeOffset createdAt = Sql.Millis(now);
        if (newest is [{ } latest] && latest >= createdAt) createdAt = latest.AddMilliseconds(1);
        await Sql.ExecuteAsync(database, "INSERT INTO playback_signing_keys (id, secret_ciphertext, created_at) VALUES (@id, @secret, @created_at)",
            c =>
        {
            Sql.Add(c, "id", key.Id);
            Sql.Add(c, "secret", protector.Protect(AssociatedData(key.Id), Convert.ToBase64String(key.Secret)));
            Sql.Add(c, "created_at", createdAt);
        }, cancellationToken).ConfigureAwait(false);
    }

    // The row id is bound into the ciphertext, so a ciphertext copied onto another key row does not decrypt.
    private static string AssociatedData(string keyId) => "playback-signing-key:" + keyId;

    private sealed class Snapshot(Dictionary<string, string> privateChannels, PlaybackKeyRing? keys)
    {
        public static readonly Snapshot Empty = new(new Dictionary<string, string>(StringComparer.Ordinal), null);

        public int PrivateCount { get; } = privateChannels.Count;

        /// <summary>Slug → id of the channel that holds it, looked up by span.</summary>
        public Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> PrivateChannelIds { get; } =
            privateChannels.GetAlternateLookup<ReadOnlySpan<char>>();

        public PlaybackKeyRing? Keys { get; } = keys;
    }

    [LoggerMessage(EventId = 3801, Level = LogLevel.Information, Message = "Channel {ChannelId} private playback set to {Private}")]
    private partial void LogPrivacyChanged(string channelId, bool @private);

    [LoggerMessage(EventId = 3802, Level = LogLevel.Information, Message = "Playback signing keys rotated; current key id {KeyId}")]
    private partial void LogKeysRotated(string keyId);

    [LoggerMessage(EventId = 3803, Level = LogLevel.Warning,
        Message = "Playback signing key {KeyId} cannot be decrypted with the current server secret; " +
            "rotate with POST /api/playback/signing-keys/rotate")]
    private partial void LogUndecryptableKey(string keyId);
}
