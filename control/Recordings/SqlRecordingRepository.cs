using Broadcast.Control.Persistence;

namespace Broadcast.Control.Recordings;

public interface IRecordingRepository
{
    /// <summary>Inserts; false when the channel already has a recording of this broadcast.</summary>
    Task<bool> TryInsertAsync(Recording recording, CancellationToken cancellationToken = default);

    Task<Recording?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Newest first, optionally of one channel or one event.</summary>
    Task<IReadOnlyList<Recording>> ListAsync(string? channelId, string? eventId, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<Recording>> ListOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

public sealed class SqlRecordingRepository(ControlDatabase database) : IRecordingRepository
{
    private const string Columns = "id, channel_id, event_id, broadcast_id, hls_path, dash_path, duration_ms, size_bytes, created_at";

    public async Task<bool> TryInsertAsync(Recording recording, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(recording);
        return await Sql.TryInsertAsync(database,
            $"INSERT INTO recordings ({Columns}) VALUES (@id, @channel_id, @event_id, @broadcast_id, @hls_path, @dash_path, @duration_ms, " +
            "@size_bytes, @created_at)",
            c =>
            {
                Sql.Add(c, "id", recording.Id);
                Sql.Add(c, "channel_id", recording.ChannelId);
                Sql.Add(c, "event_id", recording.EventId);
                Sql.Add(c, "broadcast_id", recording.BroadcastId);
                Sql.Add(c, "hls_path", recording.HlsPath);
                // The column is NOT NULL since migration 0002 (SQLite cannot drop that without rebuilding the table): a
                // recording with no MPD is stored as the empty path and read back as null.
                Sql.Add(c, "dash_path", recording.DashPath ?? "");
                Sql.Add(c, "duration_ms", recording.DurationMs);
                Sql.Add(c, "size_bytes", recording.SizeBytes);
                Sql.Add(c, "created_at", Sql.Millis(recording.CreatedAt));
            }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Recording?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM recordings WHERE id = @id", c => Sql.Add(c, "id", id), Map,
            cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Recording>> ListAsync(string? channelId, string? eventId, CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        if (channelId is not null) where.Add("channel_id = @channel_id");
        if (eventId is not null) where.Add("event_id = @event_id");
        return await Sql.QueryAsync(database,
            $"SELECT {Columns} FROM recordings" + (where.Count > 0 ? " WHERE " + string.Join(" AND ",
                where) : "") + " ORDER BY created_at DESC, id DESC",
            c =>
            {
                if (channelId is not null) Sql.Add(c, "channel_id", channelId);
                if (eventId is not null) Sql.Add(c, "event_id", eventId);
            }, Map, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<Recording>> ListOlderThanAsync(DateTimeOffset cutoff, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database, $"SELECT {Columns} FROM recordings WHERE created_at < @cutoff ORDER BY created_at",
            c => Sql.Add(c, "cutoff", Sql.Millis(cutoff)), Map, cancellationToken).ConfigureAwait(false);

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM recordings WHERE id = @id", c => Sql.Add(c, "id", id),
            cancellationToken).ConfigureAwait(false) == 1;

    private static Recording Map(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), Sql.NullableString(r, 2), r.GetString(3), r.GetString(4), r.GetString(5) is { Length: > 0 } dash ? dash : null,
        r.GetInt64(6), r.GetInt64(7), Sql.Time(r, 8));
}
