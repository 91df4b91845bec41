using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Events;

public enum EventWriteResult
{
    Saved,
    NotFound,

    /// <summary>The database's overlap guard refused it (another event of the channel took the time first).</summary>
    Overlap,

    /// <summary>The channel does not exist (foreign key).</summary>
    NoChannel,
}

/// <summary>The persistence seam for events; SQLite and PostgreSQL share <see cref="SqlEventRepository"/>.</summary>
public interface IEventRepository
{
    Task<EventWriteResult> InsertAsync(BroadcastEvent ev, CancellationToken cancellationToken = default);

    /// <summary>Replaces title, description, times, record flag and updated_at.</summary>
    Task<EventWriteResult> UpdateAsync(BroadcastEvent ev, CancellationToken cancellationToken = default);

    Task<BroadcastEvent?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Events that intersect [from, to) (either bound optional), optionally of one channel, by start.</summary>
    Task<IReadOnlyList<BroadcastEvent>> ListAsync(string? channelId, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken = default);

    /// <summary>Non-cancelled events of the channel intersecting [start, end), except <paramref name="exceptId"/>.</summary>
    Task<IReadOnlyList<BroadcastEvent>> FindOverlappingAsync(string channelId, DateTimeOffset start, DateTimeOffset end, string? exceptId,
        CancellationToken cancellationToken = default);

    /// <summary>Events still scheduled, ready or live, by start: the ones the scheduler needs triggers for.</summary>
    Task<IReadOnlyList<BroadcastEvent>> ListOpenAsync(string? channelId = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Moves the event to <paramref name="to"/> only if it is in one of <paramref name="from"/>: a compare-and-set,
    /// so two nodes or a job racing an admin cannot both win. Sets live_at / ended_at / late when given.
    /// </summary>
    Task<bool> TransitionAsync(string id, IReadOnlyCollection<EventState> from, EventState to, DateTimeOffset now,
        DateTimeOffset? liveAt = null, DateTimeOffset? endedAt = null, CancellationToken cancellationToken = default);

    /// <summary>Sets the late flag when the event is still ready and nobody published.</summary>
    Task<bool> MarkLateAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default);

    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

public sealed class SqlEventRepository(ControlDatabase database) : IEventRepository
{
    private const string Columns =
        "id, channel_id, title, description, starts_at, ends_at, record, state, late, live_at, ended_at, created_at, updated_at";

    private const string OpenStates = "('scheduled', 'ready', 'live')";

    public async Task<EventWriteResult> InsertAsync(BroadcastEvent ev, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return await WriteAsync(
            $"INSERT INTO events ({Columns}) VALUES (@id, @channel_id, @title, @description, @starts_at, @ends_at, @record, @state, @late, " +
            "@live_at, @ended_at, @created_at, @updated_at)",
            command => Bind(command, ev), cancellationToken).ConfigureAwait(false);
    }

    public async Task<EventWriteResult> UpdateAsync(BroadcastEvent ev, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ev);
        return await WriteAsync(
            "UPDATE events SET title = @title, description = @description, starts_at = @starts_at, ends_at = @ends_at, record = @record, " +
            "updated_at = @updated_at WHERE id = @id",
            command => Bind(command, ev), cancellationToken).ConfigureAwait(false);
    }

    public async Task<BroadcastEvent?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM events WHERE id = @id", c => Sql.Add(c, "id", id), Map, cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<BroadcastEvent>> ListAsync(string? channelId, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        if (channelId is not null) where.Add("channel_id = @channel_id");
        if (from is not null) where.Add("ends_at > @from");
        if (to is not null) where.Add("starts_at < @to");
        var sql = $"SELECT {Columns} FROM events" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY starts_at, id";
        return await Sql.QueryAsync(database, sql, c =>
        {
            if (channelId is not null) Sql.Add(c, "channel_id", channelId);
            if (from is not null) Sql.Add(c, "from", from.Value.ToUniversalTime());
            if (to is not null) Sql.Add(c, "to", to.Value.ToUniversalTime());
        }, Map, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<BroadcastEvent>> FindOverlappingAsync(string channelId, DateTimeOffset start, DateTimeOffset end,
        string? exceptId,
        CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            $"SELECT {Columns} FROM events WHERE channel_id = @channel_id AND state <> 'cancelled' AND starts_at < @end AND ends_at > @start AND " +
            "id <> @except ORDER BY starts_at",
            c =>
            {
                Sql.Add(c, "channel_id", channelId);
                Sql.Add(c, "start", start.ToUniversalTime());
                Sql.Add(c, "end", end.ToUniversalTime());
                Sql.Add(c, "except", exceptId ?? "");
            }, Map, cancellationToken).ConfigureAwait(false);

    public async Task<IReadOnlyList<BroadcastEvent>> ListOpenAsync(string? channelId = null, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            $"SELECT {Columns} FROM events WHERE state IN {OpenStates}" + (channelId is null ? "" : " AND channel_id = @channel_id") +
                " ORDER BY starts_at, id",
            c =>
            {
                if (channelId is not null) Sql.Add(c, "channel_id", channelId);
            }, Map, cancellationToken).ConfigureAwait(false);

    public async Task<bool> TransitionAsync(string id, IReadOnlyCollection<EventState> from, EventState to, DateTimeOffset now,
        DateTimeOffset? liveAt = null, DateTimeOffset? endedAt = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        if (from.Count == 0) return false;
        var states = string.Join(", ", from.Select(s => $"'{s.ToWire()}'"));
        var set = "state = @to, updated_at = @now"
            + (liveAt is null ? "" : ", live_at = COALESCE(live_at, @live_at)")
            + (endedAt is null ? "" : ", ended_at = @ended_at");
        var count = await Sql.ExecuteAsync(database, $"UPDATE events SET {set} WHERE id = @id AND state IN ({states})", c =>
        {
            Sql.Add(c, "to", to.ToWire());
            Sql.Add(c, "now", Sql.Millis(now));
            if (liveAt is not null) Sql.Add(c, "live_at", Sql.Millis(liveAt.Value));
            if (endedAt is not null) Sql.Add(c, "ended_at", Sql.Millis(endedAt.Value));
            Sql.Add(c, "id", id);
        }, cancellationToken).ConfigureAwait(false);
        return count == 1;
    }

    public async Task<bool> MarkLateAsync(string id, DateTimeOffset now, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database,
            "UPDATE events SET late = @late, updated_at = @now WHERE id = @id AND state IN ('scheduled', 'ready') AND late = @not_late", c =>
            {
                Sql.Add(c, "late", true);
                Sql.Add(c, "not_late", false);
                Sql.Add(c, "now", Sql.Millis(now));
                Sql.Add(c, "id", id);
            }, cancellationToken).ConfigureAwait(false) == 1;

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM events WHERE id = @id", c => Sql.Add(c, "id", id),
            cancellationToken).ConfigureAwait(false) == 1;

    private async Task<EventWriteResult> WriteAsync(string sql, Action<DbCommand> bind, CancellationToken cancellationToken)
    {
        try
        {
            return await Sql.ExecuteAsync(database, sql, bind, cancellationToken).ConfigureAwait(false) == 1
                ? EventWriteResult.Saved
                : EventWriteResult.NotFound;
        }
        catch (DbException e) when (database.IsOverlapViolation(e))
        {
            return EventWriteResult.Overlap;
        }
        catch (DbException e) when (database.IsForeignKeyViolation(e))
        {
            return EventWriteResult.NoChannel;
        }
    }

    private static void Bind(DbCommand command, BroadcastEvent ev)
    {
        Sql.Add(command, "id", ev.Id);
        Sql.Add(command, "channel_id", ev.ChannelId);
        Sql.Add(command, "title", ev.Title);
        Sql.Add(command, "description", ev.Description);
        Sql.Add(command, "starts_at", Sql.Millis(ev.StartsAt));
        Sql.Add(command, "ends_at", Sql.Millis(ev.EndsAt));
        Sql.Add(command, "record", ev.Record);
        Sql.Add(command, "state", ev.State.ToWire());
        Sql.Add(command, "late", ev.Late);
        Sql.Add(command, "live_at", ev.LiveAt is { } l ? Sql.Millis(l) : null);
        Sql.Add(command, "ended_at", ev.EndedAt is { } e ? Sql.Millis(e) : null);
        Sql.Add(command, "created_at", Sql.Millis(ev.CreatedAt));
        Sql.Add(command, "updated_at", Sql.Millis(ev.UpdatedAt));
    }

    private static BroadcastEvent Map(DbDataReader r) => new(
        Id: r.GetString(0),
        ChannelId: r.GetString(1),
        Title: r.GetString(2),
        Description: r.GetString(3),
        StartsAt: Sql.Time(r, 4),
        EndsAt: Sql.Time(r, 5),
        Record: r.GetBoolean(6),
        State: EventStates.Parse(r.GetString(7)),
        Late: r.GetBoolean(8),
        LiveAt: Sql.NullableTime(r, 9),
        EndedAt: Sql.NullableTime(r, 10),
        CreatedAt: Sql.Time(r, 11),
        UpdatedAt: Sql.Time(r, 12));
}
