using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Channels;

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

/// <summary>
/// Channels in plain ADO.NET over either back-end. The SQL is the common subset of SQLite and
/// PostgreSQL; both providers bind <c>@name</c> parameters, booleans and byte arrays, and read
/// <see cref="DateTimeOffset"/> from TEXT (SQLite) or timestamptz (PostgreSQL).
/// </summary>
public sealed class SqlChannelRepository(ControlDatabase database) : IChannelRepository
{
    private const string Columns = "id, name, slug, key_hash, key_ciphertext, require_schedule, low_latency, revoked, created_at";

    public async Task<bool> TryInsertAsync(ChannelRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        return await Sql.TryInsertAsync(database,
            $"INSERT INTO channels ({Columns}) VALUES (@id, @name, @slug, @key_hash, @key_ciphertext, @require_schedule, @low_latency, @revoked, @created_at)",
            command =>
            {
                Add(command, "id", record.Id);
                Add(command, "name", record.Name);
                Add(command, "slug", record.Slug);
                Add(command, "key_hash", record.KeyHash);
                Add(command, "key_ciphertext", record.KeyCiphertext);
                Add(command, "require_schedule", record.RequireSchedule);
                Add(command, "low_latency", record.LowLatency);
                Add(command, "revoked", record.Revoked);
                Add(command, "created_at", record.CreatedAt.ToUniversalTime());
            }, cancellationToken).ConfigureAwait(false);
    }

    public Task<ChannelRecord?> GetByIdAsync(string id, CancellationToken cancellationToken = default)
        => SingleAsync("id = @v", id, cancellationToken);

    public Task<ChannelRecord?> GetBySlugAsync(string slug, CancellationToken cancellationToken = default)
        => SingleAsync("slug = @v", slug, cancellationToken);

    public Task<ChannelRecord?> FindByKeyHashAsync(byte[] keyHash, CancellationToken cancellationToken = default)
        => SingleAsync("key_hash = @v", keyHash, cancellationToken);

    public async Task<IReadOnlyList<ChannelRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM channels ORDER BY created_at, id";
        return await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>> ListSlugsWithPrefixAsync(string prefix, CancellationToken cancellationToken = default)
    {
        if (!Slugs.IsValid(prefix.TrimEnd('-')))
        {
            throw new ArgumentException("A slug prefix holds only [a-z0-9-].", nameof(prefix));
        }

        // Slugs hold only [a-z0-9-], so the LIKE pattern needs no escaping.
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT slug FROM channels WHERE slug LIKE @pattern";
        Add(command, "pattern", prefix + "%");
        var slugs = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            slugs.Add(reader.GetString(0));
        }

        return slugs;
    }

    public async Task<bool> ReplaceKeyAsync(string id, byte[] keyHash, byte[] keyCiphertext, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE channels SET key_hash = @key_hash, key_ciphertext = @key_ciphertext, revoked = @revoked WHERE id = @id";
        Add(command, "key_hash", keyHash);
        Add(command, "key_ciphertext", keyCiphertext);
        Add(command, "revoked", false);
        Add(command, "id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> UpdateAsync(string id, string name, bool requireSchedule, bool lowLatency, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE channels SET name = @name, require_schedule = @require_schedule, low_latency = @low_latency WHERE id = @id";
        Add(command, "name", name);
        Add(command, "require_schedule", requireSchedule);
        Add(command, "low_latency", lowLatency);
        Add(command, "id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> SetRevokedAsync(string id, bool revoked, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE channels SET revoked = @revoked WHERE id = @id";
        Add(command, "revoked", revoked);
        Add(command, "id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM channels WHERE id = @id";
        Add(command, "id", id);
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private async Task<ChannelRecord?> SingleAsync(string where, object value, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT {Columns} FROM channels WHERE {where}";
        Add(command, "v", value);
        var rows = await ReadAllAsync(command, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    private static async Task<List<ChannelRecord>> ReadAllAsync(DbCommand command, CancellationToken cancellationToken)
    {
        var rows = new List<ChannelRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new ChannelRecord(
                Id: reader.GetString(0),
                Name: reader.GetString(1),
                Slug: reader.GetString(2),
                KeyHash: reader.GetFieldValue<byte[]>(3),
                KeyCiphertext: reader.GetFieldValue<byte[]>(4),
                RequireSchedule: reader.GetBoolean(5),
                LowLatency: reader.GetBoolean(6),
                Revoked: reader.GetBoolean(7),
                CreatedAt: reader.GetFieldValue<DateTimeOffset>(8).ToUniversalTime()));
        }

        return rows;
    }

    private static void Add(DbCommand command, string name, object? value) => MigrationRunner.AddParameter(command, name, value);
}
