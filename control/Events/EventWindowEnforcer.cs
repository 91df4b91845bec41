using System.Collections.Concurrent;
using Broadcast.Control.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Events;

/// <summary>
/// Ends live streams on this node whose publish no longer holds: a RequireSchedule channel outside every window, any
/// channel whose event was ended after the stream started, or a channel that was deleted. Event-driven, no polling: a
/// stream is checked when it starts, whenever its channel's rules change (<see cref="IPublishRuleChanges"/>: here, or on
/// another node through PostgreSQL, since the end job or the admin's call may run on a node that does not hold the
/// publisher), and at the end of its RequireSchedule window (a timer per stream). No periodic sweep: a change missed
/// while the notification connection was down is covered by the "check everything" that follows its recovery.
/// </summary>
public sealed partial class EventWindowEnforcer(
    IChannelStreamPresence streams,
    ChannelService channels,
    EventService events,
    IPublishRuleChanges changes,
    TimeProvider time,
    ILogger<EventWindowEnforcer> logger) : IHostedService, IDisposable
{
    // A timer that fires a hair early finds the window still open and waits again at least this long.
    private static readonly TimeSpan MinimumWait = TimeSpan.FromMilliseconds(50);

    private readonly ConcurrentDictionary<string, ITimer> _windowEnds = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        streams.Started += OnStarted;
        changes.Changed += OnChanged;
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        streams.Started -= OnStarted;
        changes.Changed -= OnChanged;
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var slug in _windowEnds.Keys) Disarm(slug);
    }

    public void Dispose()
    {
        foreach (var slug in _windowEnds.Keys) Disarm(slug);
        _stopping.Dispose();
    }

    private void OnStarted(OnAirStream stream) => CheckLater(stream.Slug);

    private void OnChanged(string? slug)
    {
        if (slug is not null)
        {
            CheckLater(slug);
            return;
        }

        foreach (var stream in streams.OnAir) CheckLater(stream.Slug);
    }

    // Off the caller's thread: the stream registry and the notification connection raise these synchronously.
    private void CheckLater(string slug)
    {
        if (_stopping.IsCancellationRequested) return;
        _ = Task.Run(() => CheckAsync(slug, _stopping.Token));
    }

    /// <summary>Checks the channel's broadcast on this node against its channel and events, ending it when its publish no longer holds.</summary>
    public async Task CheckAsync(string slug, CancellationToken cancellationToken)
    {
        try
        {
            if (streams.Find(slug) is not { } stream)
            {
                Disarm(slug);
                return;
            }

            var channel = await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false);
            if (channel is null)
            {
                // Deleted while live (through a node that could not see this stream): its private flag went with the row,
                // so nothing it stores may stay. End it now; Recordings/FinishedBroadcasts removes its objects once it has finished.
                End(slug, "its channel was deleted");
                return;
            }

            var now = time.GetUtcNow();
            var permission = await events.CanPublishAsync(channel, now, cancellationToken).ConfigureAwait(false);
            if (channel.RequireSchedule && !permission.Allowed)
            {
                End(slug, "outside every event window");
                return;
            }

            var recent = await events.ListAsync(channel.Id, stream.StartedAt, now + TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            if (recent.Any(e => e.State == EventState.Ended && e.EndedAt >= stream.StartedAt && e.LiveAt is not null))
            {
                End(slug, "its event was ended");
                return;
            }

            if (channel.RequireSchedule && permission.Event is { } current) Arm(slug, current.EndsAt - now);
            else Disarm(slug);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogCheckFailed(ex, slug);
        }
    }

    private void End(string slug, string reason)
    {
        Disarm(slug);
        LogEnding(slug, reason);
        streams.End(slug);
    }

    /// <summary>The window closes after <paramref name="wait"/>: check again then (a following event may keep it open).</summary>
    private void Arm(string slug, TimeSpan wait)
    {
        var timer = time.CreateTimer(_ => CheckLater(slug), null, wait < MinimumWait ? MinimumWait : wait, Timeout.InfiniteTimeSpan);
        ITimer? replaced = null;
        _windowEnds.AddOrUpdate(slug, timer, (_, old) =>
        {
            replaced = old;
            return timer;
        });
        replaced?.Dispose();
    }

    private void Disarm(string slug)
    {
        if (_windowEnds.TryRemove(slug, out var timer)) timer.Dispose();
    }

    [LoggerMessage(EventId = 3111, Level = LogLevel.Information, Message = "Ending the live stream of {Channel}: {Reason}")]
    private partial void LogEnding(string channel, string reason);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "Checking the live stream of {Channel} against its events failed")]
    private partial void LogCheckFailed(Exception ex, string channel);
}
