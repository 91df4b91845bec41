using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Recordings;

/// <summary>
/// A broadcast that finished on this ingest node, as the pipeline reports it: the channel's slug, the broadcast id (its
/// UTC start, <c>yyyyMMddTHHmmssZ</c>), and, when it was recorded, what its recording holds.
/// </summary>
public sealed record FinishedBroadcast(string ChannelSlug, string BroadcastId, bool WasRecorded, RecordedBroadcast? Recording);

/// <summary>
/// A finished broadcast's recording as the pipeline stored it: the master playlist and MPD (origin paths) and the
/// duration and bytes it counted while storing them (nothing re-reads playlists or objects to learn them).
/// </summary>
public sealed record RecordedBroadcast(string HlsPath, string? DashPath, long DurationMs, long Bytes);

/// <summary>
/// What happens when a broadcast finishes on this ingest node. A recorded broadcast gets its Recording row, attached to
/// the event whose window held its start. A broadcast whose channel no longer exists (deleted through a node that could
/// not see it live, or a publish that slipped in while it was being deleted; <see cref="EventWindowEnforcer"/> ends it)
/// has everything it stored under its slug removed, final manifests included, so a deleted private channel leaves
/// nothing behind that would now be served openly. Work runs off the pipeline's thread; stopping the host waits for it.
/// </summary>
public sealed partial class FinishedBroadcasts(
    ChannelService channels,
    EventService events,
    RecordingService recordings,
    IChannelMedia media,
    TimeProvider time,
    ILogger<FinishedBroadcasts> logger,
    Webhooks.BroadcastWebhooks? webhooks = null) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _pending = [];

    /// <summary>Takes a finished broadcast from the pipeline (any thread) and books it in the background.</summary>
    public void Report(FinishedBroadcast finished)
    {
        var task = Task.Run(() => BookAsync(finished, _stopping.Token));
        lock (_pending)
        {
            _pending.RemoveAll(t => t.IsCompleted);
            _pending.Add(task);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
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

    /// <summary>Books one finished broadcast now; failures are logged, never thrown.</summary>
    public async Task BookAsync(FinishedBroadcast finished, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(finished);
        try
        {
            var channel = await channels.GetBySlugAsync(finished.ChannelSlug, cancellationToken).ConfigureAwait(false);
            if (channel is null)
            {
                await SweepDeletedChannelAsync(finished.ChannelSlug, cancellationToken).ConfigureAwait(false);
                return;
            }

            if (!finished.WasRecorded) return;
            if (finished.Recording is not { } recorded)
            {
                LogNoManifest(finished.ChannelSlug, finished.BroadcastId);
                return;
            }

            var ev = await EventOfAsync(channel.Id, finished.BroadcastId, cancellationToken).ConfigureAwait(false);
            var recording = await recordings.AddAsync(channel.Id, ev?.Id, finished.BroadcastId, recorded.HlsPath, recorded.DashPath,
                recorded.DurationMs, recorded.Bytes, cancellationToken).ConfigureAwait(false);
            webhooks?.RecordingReady(recording, channel.Slug);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogFailed(ex, finished.ChannelSlug, finished.BroadcastId);
        }
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

    [LoggerMessage(EventId = 3121, Level = LogLevel.Warning,
        Message = "Recorded broadcast {Channel}/{BroadcastId} finished without a recording manifest")]
    private partial void LogNoManifest(string channel, string broadcastId);

    [LoggerMessage(EventId = 3122, Level = LogLevel.Error, Message = "Storing the recording of {Channel}/{BroadcastId} failed")]
    private partial void LogFailed(Exception ex, string channel, string broadcastId);

    [LoggerMessage(EventId = 3123, Level = LogLevel.Information,
        Message = "Broadcast of deleted channel {Channel} finished: its {Objects} stored objects were removed")]
    private partial void LogDeletedChannelSwept(string channel, int objects);

    [LoggerMessage(EventId = 3124, Level = LogLevel.Error, Message = "Removing the stored objects of deleted channel {Channel} failed")]
    private partial void LogSweepFailed(Exception ex, string channel);
}
