using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Recordings;

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
    public async Task<Recording> AddAsync(string channelId, string? eventId, string broadcastId, string hlsPath, string? dashPath, long durationMs,
        long sizeBytes, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var recording = new Recording(RowId.New(now), channelId, eventId, broadcastId, hlsPath, dashPath, durationMs,
            sizeBytes,
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
