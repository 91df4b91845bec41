using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Sources;

/// <summary>What a pull source belongs to: a channel (pulled whenever it is enabled) or an event (pulled in its window).</summary>
public enum PullSourceOwner
{
    Channel,
    Event,
}

/// <summary>Pull sources of channels and events, keyed by their owner's id.</summary>
public interface IPullSourceRepository
{
    /// <summary>Inserts or replaces. False when the owner does not exist (foreign key).</summary>
    Task<bool> SetAsync(PullSourceOwner owner, string id, PullSource source, CancellationToken cancellationToken);

    Task<PullSource?> GetAsync(PullSourceOwner owner, string id, CancellationToken cancellationToken);

    Task<bool> DeleteAsync(PullSourceOwner owner, string id, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, PullSource>> ListAsync(PullSourceOwner owner, CancellationToken cancellationToken);
}

/// <summary>Pull sources of channels and events (tables <c>channel_pull_sources</c>, <c>event_pull_sources</c>);
/// SQL shared by both back-ends.</summary>
public sealed class SqlPullSourceRepository(ControlDatabase database) : IPullSourceRepository
{

    private static (string Table, string Column) Of(PullSourceOwner owner) => owner == PullSourceOwner.Channel
        ? ("channel_pull_sources", "channel_id")
        : ("event_pull_sources", "event_id");

    /// <summary>Inserts or replaces. False when the owner does not exist (foreign key).</summary>
    public async Task<bool> SetAsync(PullSourceOwner owner, string id, PullSource source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (table, column) = Of(owner);
        try
        {
            await Sql.ExecuteAsync(database,
                $"INSERT INTO {table} ({column}, url, looped, allow_untrusted_certificate, updated_at) VALUES (@id, @url, @looped, @untrusted, " +
                "@updated_at) " +
                $"ON CONFLICT ({column}) DO UPDATE SET url = excluded.url, looped = excluded.looped, " +
                "allow_untrusted_certificate = excluded.allow_untrusted_certificate, updated_at = excluded.updated_at",
                c =>
                {
                    Sql.Add(c, "id", id);
                    Sql.Add(c, "url", source.Url);
                    Sql.Add(c, "looped", source.Loop);
                    Sql.Add(c, "untrusted", source.AllowUntrustedCertificate);
                    Sql.Add(c, "updated_at", Sql.Millis(source.UpdatedAt));
                }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (DbException e) when (database.IsForeignKeyViolation(e))
        {
            return false;
        }
    }

    public async Task<PullSource?> GetAsync(PullSourceOwner owner, string id, CancellationToken cancellationToken)
    {
        var (table, column) = Of(owner);
        var rows = await Sql.QueryAsync(database,
            $"SELECT {column}, url, looped, updated_at, allow_untrusted_certificate FROM {table} WHERE {column} = @id",
            c => Sql.Add(c, "id", id), Map, cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0].Source;
    }

    public async Task<bool> DeleteAsync(PullSourceOwner owner, string id, CancellationToken cancellationToken)
    {
        var (table, column) = Of(owner);
        return await Sql.ExecuteAsync(database, $"DELETE FROM {table} WHERE {column} = @id", c => Sql.Add(c, "id", id), cancellationToken)
            .ConfigureAwait(false) > 0;
    }

    /// <summary>Every source of one kind of owner, by owner id.</summary>
    public async Task<IReadOnlyDictionary<string, PullSource>> ListAsync(PullSourceOwner owner, CancellationToken cancellationToken)
    {
        var (table, column) = Of(owner);
        var rows = await Sql.QueryAsync(database, $"SELECT {column}, url, looped, updated_at, allow_untrusted_certificate FROM {table}", _ => { },
            Map, cancellationToken)
            .ConfigureAwait(false);
        return rows.ToDictionary(r => r.Id, r => r.Source, StringComparer.Ordinal);
    }

    private static (string Id, PullSource Source) Map(DbDataReader r)
        => (r.GetString(0), new PullSource(r.GetString(1), r.GetBoolean(2), Sql.Time(r, 3), r.GetBoolean(4)));
}
