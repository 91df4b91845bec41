using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Media;
using Broadcast.Packager;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Microsoft.Extensions.Options;

namespace Broadcast.Server;

/// <summary>Deletes a recording's manifests, VOD playlists and segments from the store.</summary>
internal sealed class StoreRecordingMedia(ISegmentStore store) : IRecordingMedia
{
    public async ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken)
    {
        var (channel, broadcastId) = RecordingKeys.Parse(recording.HlsPath);
        if (channel is null) return;
        var keys = await RecordingKeys.ListAsync(store, channel, broadcastId!, cancellationToken).ConfigureAwait(false);
        if (keys.Count > 0) await store.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
    }
}

internal static class RecordingKeys
{
    /// <summary>"/live/{channel}/recordings/{broadcastId}/master.m3u8" → (channel, broadcastId).</summary>
    public static (string? Channel, string? BroadcastId) Parse(string hlsPath)
    {
        var parts = hlsPath.Trim('/').Split('/');
        return parts is ["live", var channel, "recordings", var id, _] ? (channel, id) : (null, null);
    }

    /// <summary>Every object of one broadcast's recording: its recordings/ folder and the rendition files named after the broadcast.</summary>
    public static async Task<List<string>> ListAsync(ISegmentStore store, string channel, string broadcastId, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var key in store.ListAsync(channel + "/", cancellationToken).ConfigureAwait(false))
        {
            var name = key[(key.LastIndexOf('/') + 1)..];
            if (key.StartsWith($"{channel}/recordings/{broadcastId}/", StringComparison.Ordinal)
                || name.StartsWith(broadcastId + "-", StringComparison.Ordinal) || name == broadcastId + ".m3u8")
                keys.Add(key);
        }
        return keys;
    }
}

/// <summary>
/// What happens when a broadcast finishes on this ingest node. A recorded broadcast gets its Recording row: the event
/// it belongs to (the channel's event that went live most recently), the VOD manifest paths, and the duration and
/// size of the recording (<see cref="RecordedMedia"/>, plus the poster stored here). A broadcast whose channel no longer
/// exists (deleted through a node that could not see it live, or a publish that slipped in while it was being
/// deleted; <see cref="Broadcast.Control.Events.EventWindowEnforcer"/> ends it at once) has everything it stored under its slug removed,
/// final manifests included, so a deleted private channel leaves nothing behind that would now be served openly.
/// </summary>
internal sealed partial class RecordingListener(
    LivePackager packager,
    ISegmentStore store,
    ChannelService channels,
    EventService events,
    RecordingService recordings,
    IChannelMedia media,
    TimeProvider time,
    ILogger<RecordingListener> logger) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pending = [];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished += OnFinished;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        packager.StreamFinished -= OnFinished;
        Task[] pending;
        lock (_pending) pending = [.. _pending];
        try
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnFinished(BroadcastFinished finished)
    {
        var task = Task.Run(() => StoreAsync(finished, _stopping.Token));
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    internal async Task StoreAsync(BroadcastFinished finished, CancellationToken cancellationToken)
    {
        var status = finished.Status;
        try
        {
            var channel = await channels.GetBySlugAsync(status.Channel, cancellationToken).ConfigureAwait(false);
            if (channel is null)
            {
                await SweepDeletedChannelAsync(status.Channel, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (!status.Recording) return;
            var masterKey = StoreKeys.RecordingMaster(status.Channel, status.BroadcastId);
            if (finished.Recording is not { } recorded)
            {
                LogNoManifest(status.Channel, status.BroadcastId);
                return;
            }

            // The packager counted what it stored for the recording as it stored it; the poster is the one object added here.
            long size = recorded.Bytes + await KeepPosterAsync(status, cancellationToken).ConfigureAwait(false);
            var ev = await EventOfAsync(channel.Id, status.BroadcastId, cancellationToken).ConfigureAwait(false);
            await recordings.AddAsync(channel.Id, ev?.Id, status.BroadcastId, "/live/" + masterKey,
                "/live/" + StoreKeys.RecordingMpd(status.Channel, status.BroadcastId), recorded.DurationMilliseconds, size, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, status.Channel, status.BroadcastId);
        }
    }

    /// <summary>
    /// The broadcast's last live thumbnail becomes the recording's poster (the watch page's picture before playback and
    /// its link preview). A broadcast too short for a thumbnail has none. Returns the bytes stored.
    /// </summary>
    private async Task<long> KeepPosterAsync(StreamPackagerStatus status, CancellationToken cancellationToken)
    {
        if (await store.GetAsync(StoreKeys.Thumbnail(status.Channel), cancellationToken).ConfigureAwait(false) is not { } thumbnail) return 0;
        await store.PutAsync(StoreKeys.RecordingPoster(status.Channel, status.BroadcastId), thumbnail.Data, "image/jpeg", "public, max-age=86400",
            cancellationToken).ConfigureAwait(false);
        return thumbnail.Data.Length;
    }

    private async Task SweepDeletedChannelAsync(string slug, CancellationToken cancellationToken)
    {
        try
        {
            LogDeletedChannelSwept(slug, await media.DeleteAllAsync(slug, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogSweepFailed(ex, slug);
        }
    }

    /// <summary>
    /// The event whose window held the broadcast's start (the broadcast id is its UTC start, yyyyMMddTHHmmssZ);
    /// null for a broadcast outside every event (a channel without RequireSchedule).
    /// </summary>
    private async Task<BroadcastEvent?> EventOfAsync(string channelId, string broadcastId, CancellationToken cancellationToken)
    {
        if (!DateTimeOffset.TryParseExact(broadcastId, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var started))
            started = time.GetUtcNow();
        // The id has whole seconds; allow one second either side of the window.
        var candidates = await events.ListAsync(channelId, started - TimeSpan.FromSeconds(1), started + events.PublishLead + TimeSpan.FromSeconds(1),
            cancellationToken).ConfigureAwait(false);
        return candidates.Where(e => e.State != EventState.Cancelled
                && e.OpensAt(events.PublishLead) - TimeSpan.FromSeconds(1) <= started && started < e.EndsAt)
            .OrderByDescending(e => e.LiveAt is not null).ThenBy(e => e.StartsAt).FirstOrDefault();
    }

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning, Message = "Recorded broadcast {Channel}/{BroadcastId} finished without a recording manifest")]
    private partial void LogNoManifest(string channel, string broadcastId);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Error, Message = "Storing the recording of {Channel}/{BroadcastId} failed")]
    private partial void LogFailed(Exception ex, string channel, string broadcastId);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "Broadcast of deleted channel {Channel} finished: its {Objects} stored objects were removed")]
    private partial void LogDeletedChannelSwept(string channel, int objects);

    [LoggerMessage(EventId = 9106, Level = LogLevel.Error, Message = "Removing the stored objects of deleted channel {Channel} failed")]
    private partial void LogSweepFailed(Exception ex, string channel);
}
