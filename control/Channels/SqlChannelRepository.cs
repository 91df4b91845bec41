using System.Data.Common;
using Broadcast.Control.Persistence;
using Broadcast.Control.Webhooks;

namespace Broadcast.Control.Channels;

/// <summary>The one persistence seam for channels; SQLite and PostgreSQL share <see cref="SqlChannelRepository"/>.</summary>
public interface IChannelRepository
{
    /// <summary>Inserts the row; false when its slug (or key hash) is already taken, so the caller can pick another.</summary>
    Task<bool> TryInsertAsync(ChannelRecord record, CancellationToken cancellationToken = default);

    /// <summary>The same, with <paramref name="happened"/> written to the webhook outbox in the insert's transaction.</summary>
    Task<bool> TryInsertAsync(ChannelRecord record, WebhookEvent? happened, CancellationToken cancellationToken)
        => TryInsertAsync(record, cancellationToken);

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

    /// <summary>
    /// Changes name, flags and rewind window (null: the server's); false when no such channel. The slug never changes (it
    /// is in every URL).
    /// </summary>
    Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, bool realTime, int? rewindSeconds,
        CancellationToken cancellationToken = default);

    /// <summary>The same, with <paramref name="happened"/> written to the webhook outbox in the update's transaction.</summary>
    Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, bool realTime, int? rewindSeconds,
        WebhookEvent? happened, CancellationToken cancellationToken)
        => UpdateAsync(id, name, requireSchedule, lowLatency, realTime, rewindSeconds, cancellationToken);

    /// <summary>Stores the channel's audio track names (<see cref="AudioTrackNames.Encode"/>; null: none); false when no such channel.</summary>
    Task<bool> SetAudioTracksAsync(string id, string? audioTracks, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores how the channel's next broadcasts are encrypted and how many segments one content key covers (0: the whole
    /// broadcast); false when no such channel.
    /// </summary>
    Task<bool> SetProtectionAsync(string id, ChannelProtection protection, int keyRotationSegments, CancellationToken cancellationToken = default);

    Task<bool> SetRevokedAsync(string id, bool revoked, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>The same, with <paramref name="happened"/> written to the webhook outbox in the delete's transaction.</summary>
    Task<bool> DeleteAsync(string id, WebhookEvent? happened, CancellationToken cancellationToken) => DeleteAsync(id, cancellationToken);
}

/// <summary>
/// Channels in plain ADO.NET over either back-end. The SQL is the common subset of SQLite and
/// PostgreSQL; both providers bind <c>@name</c> parameters, booleans and byte arrays, and read
/// <see cref="DateTimeOffset"/> from TEXT (SQLite) or timestamptz (PostgreSQL). With an <paramref name="outbox"/>, a
/// change's webhook event is kept in the change's own transaction: both or neither.
/// </summary>
public sealed class SqlChannelRepository(ControlDatabase database, WebhookOutbox? outbox = null) : IChannelRepository
{
    public Task<bool> TryInsertAsync(ChannelRecord record, CancellationToken cancellationToken = default)
        => TryInsertAsync(record, happened: null, cancellationToken);

    public Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, bool realTime, int? rewindSeconds,
        CancellationToken cancellationToken = default)
        => UpdateAsync(id, name, requireSchedule, lowLatency, realTime, rewindSeconds, happened: null, cancellationToken);

    public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => DeleteAsync(id, happened: null, cancellationToken);

    private Func<System.Data.Common.DbConnection, System.Data.Common.DbTransaction, CancellationToken, Task>? Outbox(WebhookEvent? happened)
        => happened is null || outbox is null ? null : (connection, transaction, token) => outbox.AppendAsync(connection, transaction, happened, token);

    private void Notify(WebhookEvent? happened, bool changed)
    {
        if (changed && happened is not null) outbox?.Notify();
    }

    private const string Columns =
        "id, name, slug, key_hash, key_ciphertext, require_schedule, low_latency, revoked, created_at, real_time, rewind_seconds, audio_tracks, protection, key_rotation_segments";

    public async Task<bool> TryInsertAsync(ChannelRecord record, WebhookEvent? happened, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        bool inserted = await Sql.TryInsertThenAsync(database,
            $"INSERT INTO channels ({Columns}) VALUES (@id, @name, @slug, @key_hash, @key_ciphertext, @require_schedule, @low_latency, @revoked, " +
            "@created_at, @real_time, @rewind_seconds, @audio_tracks, @protection, @key_rotation_segments)",
            c =>
            {
                Sql.Add(c, "id", record.Id);
                Sql.Add(c, "name", record.Name);
                Sql.Add(c, "slug", record.Slug);
                Sql.Add(c, "key_hash", record.KeyHash);
                Sql.Add(c, "key_ciphertext", record.KeyCiphertext);
                Sql.Add(c, "require_schedule", record.RequireSchedule);
                Sql.Add(c, "low_latency", record.LowLatency);
                Sql.Add(c, "revoked", record.Revoked);
                Sql.Add(c, "created_at", record.CreatedAt.ToUniversalTime());
                Sql.Add(c, "real_time", record.RealTime);
                Sql.Add(c, "rewind_seconds", record.RewindSeconds);
                Sql.Add(c, "audio_tracks", record.AudioTracks);
                Sql.Add(c, "protection", ChannelProtections.Name(record.Protection));
                Sql.Add(c, "key_rotation_segments", record.KeyRotationSegments);
            }, Outbox(happened), cancellationToken).ConfigureAwait(false);
        Notify(happened, inserted);
        return inserted;
    }

    public Task<ChannelRecord?> GetByIdAsync(string id, CancellationToken cancellationToken = default)
        => SingleAsync("id = @v", id, cancellationToken);

    public Task<ChannelRecord?> GetBySlugAsync(string slug, CancellationToken cancellationToken = default)
        => SingleAsync("slug = @v", slug, cancellationToken);

    public Task<ChannelRecord?> FindByKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default)
        => SingleAsync("key_hash = @v", keyHash, cancellationToken);

    public async Task<IReadOnlyList<ChannelRecord>> ListAsync(CancellationToken cancellationToken = default) =>
        await Sql.QueryAsync(database, $"SELECT {Columns} FROM channels ORDER BY created_at, id", _ => { }, Map,
            cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> ListSlugsWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        if (!Slugs.IsValid(prefix.TrimEnd('-')))
        {
            throw new ArgumentException("A slug prefix holds only [a-z0-9-].", nameof(prefix));
        }

        // Slugs hold only [a-z0-9-], so the LIKE pattern needs no escaping.
        return await Sql.QueryAsync(database, "SELECT slug FROM channels WHERE slug LIKE @pattern", c => Sql.Add(c, "pattern", prefix + "%"),
            r => r.GetString(0), cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> ReplaceKeyAsync(string id, byte[] keyHash, byte[] keyCiphertext, CancellationToken cancellationToken = default) =>
        await Sql.ExecuteAsync(database,
            "UPDATE channels SET key_hash = @key_hash, key_ciphertext = @key_ciphertext, revoked = @revoked WHERE id = @id", c =>
        {
            Sql.Add(c, "key_hash", keyHash);
            Sql.Add(c, "key_ciphertext", keyCiphertext);
            Sql.Add(c, "revoked", false);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, bool realTime, int? rewindSeconds,
        WebhookEvent? happened, CancellationToken cancellationToken)
    {
        bool updated = await Sql.ExecuteThenAsync(database,
            "UPDATE channels SET name = @name, require_schedule = @require_schedule, low_latency = @low_latency, " +
            "real_time = @real_time, rewind_seconds = @rewind_seconds WHERE id = @id", c =>
        {
            Sql.Add(c, "real_time", realTime);
            Sql.Add(c, "rewind_seconds", rewindSeconds);
            Sql.Add(c, "name", name);
            Sql.Add(c, "require_schedule", requireSchedule);
            Sql.Add(c, "low_latency", lowLatency);
            Sql.Add(c, "id", id);
        }, Outbox(happened), cancellationToken).ConfigureAwait(false) == 1;
        Notify(happened, updated);
        return updated;
    }

    public async Task<bool> SetAudioTracksAsync(string id, string? audioTracks, CancellationToken cancellationToken = default) =>
        await Sql.ExecuteAsync(database, "UPDATE channels SET audio_tracks = @audio_tracks WHERE id = @id", c =>
        {
            Sql.Add(c, "audio_tracks", audioTracks);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetProtectionAsync(string id, ChannelProtection protection, int keyRotationSegments,
        CancellationToken cancellationToken = default) =>
        await Sql.ExecuteAsync(database,
            "UPDATE channels SET protection = @protection, key_rotation_segments = @key_rotation_segments WHERE id = @id", c =>
        {
            Sql.Add(c, "protection", ChannelProtections.Name(protection));
            Sql.Add(c, "key_rotation_segments", keyRotationSegments);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> SetRevokedAsync(string id, bool revoked, CancellationToken cancellationToken = default) =>
        await Sql.ExecuteAsync(database, "UPDATE channels SET revoked = @revoked WHERE id = @id", c =>
        {
            Sql.Add(c, "revoked", revoked);
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> DeleteAsync(string id, WebhookEvent? happened, CancellationToken cancellationToken)
    {
        bool deleted = await Sql.ExecuteThenAsync(database, "DELETE FROM channels WHERE id = @id", c => Sql.Add(c, "id", id),
            Outbox(happened), cancellationToken).ConfigureAwait(false) == 1;
        Notify(happened, deleted);
        return deleted;
    }

    private async Task<ChannelRecord?> SingleAsync(string where, object value, CancellationToken cancellationToken)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM channels WHERE {where}", c => Sql.Add(c, "v", value), Map,
            cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static ChannelRecord Map(DbDataReader reader) => new(
        Id: reader.GetString(0),
        Name: reader.GetString(1),
        Slug: reader.GetString(2),
        KeyHash: reader.GetFieldValue<byte[]>(3),
        KeyCiphertext: reader.GetFieldValue<byte[]>(4),
        RequireSchedule: reader.GetBoolean(5),
        LowLatency: reader.GetBoolean(6),
        Revoked: reader.GetBoolean(7),
        CreatedAt: reader.GetFieldValue<DateTimeOffset>(8).ToUniversalTime(),
        RealTime: reader.GetBoolean(9),
        RewindSeconds: reader.IsDBNull(10) ? null : reader.GetInt32(10),
        AudioTracks: reader.IsDBNull(11) ? null : reader.GetString(11),
        // An unknown name (a newer build's scheme) reads as the strongest this build writes rather than as clear.
        Protection: ChannelProtections.TryParse(reader.GetString(12), out var protection) ? protection : ChannelProtection.Cbcs,
        KeyRotationSegments: reader.GetInt32(13));
}
