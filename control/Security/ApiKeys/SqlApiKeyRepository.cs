using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Security.ApiKeys;

/// <summary>
/// A scoped API key as stored: never its secret, only the secret's SHA-256. <see cref="Channels"/> empty means every
/// channel.
/// </summary>
public sealed record ApiKey(
    string Id,
    string Name,
    IReadOnlyList<string> Scopes,
    IReadOnlyList<string> Channels,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    byte[] SecretHash);

public interface IApiKeyRepository
{
    /// <summary>Inserts unless <paramref name="maxKeys"/> keys exist already (checked in the same statement).</summary>
    Task<bool> TryInsertAsync(ApiKey key, int maxKeys, CancellationToken cancellationToken = default);

    Task<ApiKey?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Oldest first.</summary>
    Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Records that the key was used at <paramref name="at"/>; false when it was revoked meanwhile.</summary>
    Task<bool> SetLastUsedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default);
}

public sealed class SqlApiKeyRepository(ControlDatabase database) : IApiKeyRepository
{
    private const string Columns = "id, name, secret_hash, scopes, channel_ids, expires_at, created_at, last_used_at";

    public async Task<bool> TryInsertAsync(ApiKey key, int maxKeys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        // The count and the insert in one statement: two requests at once cannot both take the last place on one node.
        return await Sql.ExecuteAsync(database,
            // A new key was never used: last_used_at stays NULL (a NULL parameter has no type in PostgreSQL's SELECT list).
            "INSERT INTO api_keys (id, name, secret_hash, scopes, channel_ids, expires_at, created_at) " +
            "SELECT @id, @name, @secret_hash, @scopes, @channel_ids, @expires_at, @created_at " +
            "WHERE (SELECT COUNT(*) FROM api_keys) < @max",
            c =>
            {
                Sql.Add(c, "id", key.Id);
                Sql.Add(c, "name", key.Name);
                Sql.Add(c, "secret_hash", key.SecretHash);
                Sql.Add(c, "scopes", string.Join(' ', key.Scopes));
                Sql.Add(c, "channel_ids", string.Join(' ', key.Channels));
                Sql.Add(c, "expires_at", Sql.Millis(key.ExpiresAt));
                Sql.Add(c, "created_at", Sql.Millis(key.CreatedAt));
                Sql.Add(c, "max", (long)maxKeys);
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<ApiKey?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM api_keys WHERE id = @id", c => Sql.Add(c, "id", id), Read,
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database, $"SELECT {Columns} FROM api_keys ORDER BY created_at, id", _ => { }, Read, cancellationToken)
            .ConfigureAwait(false);

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM api_keys WHERE id = @id", c => Sql.Add(c, "id", id), cancellationToken)
            .ConfigureAwait(false) == 1;

    public async Task<bool> SetLastUsedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE api_keys SET last_used_at = @at WHERE id = @id", c =>
        {
            Sql.Add(c, "id", id);
            Sql.Add(c, "at", Sql.Millis(at));
        }, cancellationToken).ConfigureAwait(false) == 1;

    private static ApiKey Read(DbDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        Split(r.GetString(3)),
        Split(r.GetString(4)),
        Sql.Time(r, 5),
        Sql.Time(r, 6),
        Sql.NullableTime(r, 7),
        r.GetFieldValue<byte[]>(2));

    private static string[] Split(string list) => list.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
