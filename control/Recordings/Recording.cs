using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Recordings;

/// <summary>
/// A finished recorded broadcast. <see cref="HlsPath"/> and <see cref="DashPath"/> are URL paths on the
/// origin (<c>/live/{slug}/recordings/{broadcastId}/master.m3u8</c>, <c>…/manifest.mpd</c>).
/// </summary>
public sealed record Recording(
    string Id,
    string ChannelId,
    string? EventId,
    string BroadcastId,
    string HlsPath,
    string DashPath,
    long DurationMs,
    long SizeBytes,
    DateTimeOffset CreatedAt);

/// <summary>Deletes a recording's media from the segment store. The server implements it; control knows no store.</summary>
public interface IRecordingMedia
{
    ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken);
}

internal sealed class NoRecordingMedia : IRecordingMedia
{
    public ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

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
        try
        {
            await Sql.ExecuteAsync(database,
                $"INSERT INTO recordings ({Columns}) VALUES (@id, @channel_id, @event_id, @broadcast_id, @hls_path, @dash_path, @duration_ms, @size_bytes, @created_at)",
                c =>
                {
                    Sql.Add(c, "id", recording.Id);
                    Sql.Add(c, "channel_id", recording.ChannelId);
                    Sql.Add(c, "event_id", recording.EventId);
                    Sql.Add(c, "broadcast_id", recording.BroadcastId);
                    Sql.Add(c, "hls_path", recording.HlsPath);
                    Sql.Add(c, "dash_path", recording.DashPath);
                    Sql.Add(c, "duration_ms", recording.DurationMs);
                    Sql.Add(c, "size_bytes", recording.SizeBytes);
                    Sql.Add(c, "created_at", Sql.Millis(recording.CreatedAt));
                }, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (System.Data.Common.DbException e) when (database.IsUniqueViolation(e))
        {
            return false;
        }
    }

    public async Task<Recording?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM recordings WHERE id = @id", c => Sql.Add(c, "id", id), Map, cancellationToken)
            .ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    public async Task<IReadOnlyList<Recording>> ListAsync(string? channelId, string? eventId, CancellationToken cancellationToken = default)
    {
        var where = new List<string>();
        if (channelId is not null) where.Add("channel_id = @channel_id");
        if (eventId is not null) where.Add("event_id = @event_id");
        return await Sql.QueryAsync(database,
            $"SELECT {Columns} FROM recordings" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "") + " ORDER BY created_at DESC, id DESC",
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
        => await Sql.ExecuteAsync(database, "DELETE FROM recordings WHERE id = @id", c => Sql.Add(c, "id", id), cancellationToken).ConfigureAwait(false) == 1;

    private static Recording Map(System.Data.Common.DbDataReader r) => new(
        r.GetString(0), r.GetString(1), Sql.NullableString(r, 2), r.GetString(3), r.GetString(4), r.GetString(5),
        r.GetInt64(6), r.GetInt64(7), Sql.Time(r, 8));
}

/// <summary>Recordings: stored by the server when a recorded broadcast finishes, listed and deleted by admins, expired by retention.</summary>
public sealed partial class RecordingService(
    IRecordingRepository repository,
    IRecordingMedia media,
    ControlSettings settings,
    TimeProvider time,
    ILogger<RecordingService> logger)
{
    public Task<Recording?> GetAsync(string id, CancellationToken cancellationToken = default) => repository.GetAsync(id, cancellationToken);

    public Task<IReadOnlyList<Recording>> ListAsync(string? channelId, string? eventId = null, CancellationToken cancellationToken = default)
        => repository.ListAsync(channelId, eventId, cancellationToken);

    /// <summary>Stores a finished recording; returns the existing row when this broadcast was already stored (idempotent).</summary>
    public async Task<Recording> AddAsync(string channelId, string? eventId, string broadcastId, string hlsPath, string dashPath, long durationMs,
        long sizeBytes, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var recording = new Recording(Guid.CreateVersion7(now).ToString("N"), channelId, eventId, broadcastId, hlsPath, dashPath, durationMs, sizeBytes,
            Sql.Millis(now));
        if (await repository.TryInsertAsync(recording, cancellationToken).ConfigureAwait(false))
        {
            LogStored(recording.Id, channelId, broadcastId, durationMs, sizeBytes);
            return recording;
        }

        var existing = await repository.ListAsync(channelId, null, cancellationToken).ConfigureAwait(false);
        return existing.First(r => r.BroadcastId == broadcastId);
    }

    /// <summary>Deletes the row and the media. False when no such recording.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var recording = await repository.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (recording is null) return false;
        await media.DeleteAsync(recording, cancellationToken).ConfigureAwait(false);
        var deleted = await repository.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        if (deleted) LogDeleted(id);
        return deleted;
    }

    /// <summary>Deletes recordings older than <c>Recordings:RetentionDays</c>; does nothing when unset. Returns how many.</summary>
    public async Task<int> ApplyRetentionAsync(CancellationToken cancellationToken = default)
    {
        if (settings.RecordingRetention is not { } retention) return 0;
        var old = await repository.ListOlderThanAsync(time.GetUtcNow() - retention, cancellationToken).ConfigureAwait(false);
        var count = 0;
        foreach (var recording in old)
        {
            if (await DeleteAsync(recording.Id, cancellationToken).ConfigureAwait(false)) count++;
        }

        return count;
    }

    [LoggerMessage(EventId = 3201, Level = LogLevel.Information,
        Message = "Recording {RecordingId} of channel {ChannelId} broadcast {BroadcastId} stored ({DurationMs} ms, {SizeBytes} bytes)")]
    private partial void LogStored(string recordingId, string channelId, string broadcastId, long durationMs, long sizeBytes);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information, Message = "Recording {RecordingId} deleted")]
    private partial void LogDeleted(string recordingId);
}
