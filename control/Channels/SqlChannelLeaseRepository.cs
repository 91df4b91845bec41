using Broadcast.Control.Persistence;

namespace Broadcast.Control.Channels;

/// <summary>Who holds a channel, until when.</summary>
public sealed record ChannelLease(string ChannelId, string NodeId, DateTimeOffset ExpiresAt);

public interface IChannelLeaseRepository
{
    /// <summary>
    /// Takes or renews the lease for <paramref name="nodeId"/> when it is free, lapsed (at <paramref name="now"/>) or already
    /// this node's; returns whoever holds it afterwards (this node when it won). Null when the channel no longer exists.
    /// </summary>
    Task<ChannelLease?> AcquireAsync(string channelId, string nodeId, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken);

    /// <summary>
    /// Renews, at once, the leases <paramref name="nodeId"/> still holds among <paramref name="channelIds"/> (lapsed or
    /// not, as <see cref="AcquireAsync"/> renews its own); returns the ids renewed. A channel missing from the answer is
    /// held by another node, free, or deleted: <see cref="AcquireAsync"/> tells which.
    /// </summary>
    Task<IReadOnlySet<string>> RenewHeldAsync(IReadOnlyCollection<string> channelIds, string nodeId, DateTimeOffset expiresAt,
        CancellationToken cancellationToken);

    /// <summary>Gives the lease up, if <paramref name="nodeId"/> still holds it.</summary>
    Task ReleaseAsync(string channelId, string nodeId, CancellationToken cancellationToken);
}

public sealed class SqlChannelLeaseRepository(ControlDatabase database) : IChannelLeaseRepository
{
    public async Task<ChannelLease?> AcquireAsync(string channelId, string nodeId, DateTimeOffset now, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                // One statement decides, so two nodes racing for a free channel cannot both win: the row's conflict is
                // resolved under its lock (PostgreSQL) or the database's write lock (SQLite).
                await Sql.ExecuteAsync(database,
                    @"INSERT INTO channel_leases (channel_id, node_id, expires_at) VALUES (@channel_id, @node_id, @expires_at)
                    ON CONFLICT (channel_id) DO UPDATE SET node_id = excluded.node_id, expires_at = excluded.expires_at
                    WHERE channel_leases.node_id = excluded.node_id OR channel_leases.expires_at <= @now", c =>
                {
                    Sql.Add(c, "channel_id", channelId);
                    Sql.Add(c, "node_id", nodeId);
                    Sql.Add(c, "expires_at", Sql.Millis(expiresAt));
                    Sql.Add(c, "now", Sql.Millis(now));
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (System.Data.Common.DbException e) when (database.IsForeignKeyViolation(e))
            {
                return null;
            }

            var rows = await Sql.QueryAsync(database, "SELECT node_id, expires_at FROM channel_leases WHERE channel_id = @channel_id",
                c => Sql.Add(c, "channel_id", channelId), r => new ChannelLease(channelId, r.GetString(0), Sql.Time(r, 1)),
                cancellationToken).ConfigureAwait(false);
            if (rows.Count > 0) return rows[0];
            // No row after our upsert: it met another node's live lease, which that node released before the read. The
            // channel is free now, so try again rather than call it ours with no row behind it (a third node could take
            // it meanwhile, and this node would then publish beside that one).
            if (attempt == 3)
                throw new InvalidOperationException($"The lease of channel {channelId} was released under each of {attempt} attempts to take it.");
        }
    }

    /// <summary>
    /// Channels renewed by one statement: a node's whole pass in a few statements instead of two per channel, so its
    /// database work (and on SQLite its commits, each a sync to disk) does not grow with the channels it carries.
    /// Kept under SQLite's oldest limit of 999 parameters per statement.
    /// </summary>
    internal const int RenewBatch = 500;

    public async Task<IReadOnlySet<string>> RenewHeldAsync(IReadOnlyCollection<string> channelIds, string nodeId, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channelIds);
        var renewed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var batch in channelIds.Chunk(RenewBatch))
        {
            var names = string.Join(", ", batch.Select((_, i) => $"@c{i}"));
            // RETURNING (SQLite 3.35+, PostgreSQL): the rows this statement renewed, read under the same write.
            var rows = await Sql.QueryAsync(database,
                $"UPDATE channel_leases SET expires_at = @expires_at WHERE node_id = @node_id AND channel_id IN ({names}) RETURNING channel_id",
                c =>
                {
                    Sql.Add(c, "expires_at", Sql.Millis(expiresAt));
                    Sql.Add(c, "node_id", nodeId);
                    for (int i = 0; i < batch.Length; i++) Sql.Add(c, $"c{i}", batch[i]);
                }, r => r.GetString(0), cancellationToken).ConfigureAwait(false);
            renewed.UnionWith(rows);
        }
        return renewed;
    }

    public Task ReleaseAsync(string channelId, string nodeId, CancellationToken cancellationToken)
        => Sql.ExecuteAsync(database, "DELETE FROM channel_leases WHERE channel_id = @channel_id AND node_id = @node_id", c =>
        {
            Sql.Add(c, "channel_id", channelId);
            Sql.Add(c, "node_id", nodeId);
        }, cancellationToken);
}
