using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Broadcast.Control.Scheduling;

/// <summary>Told each time a schedule job ran and changed something. For tests and diagnostics; none is registered by default.</summary>
public interface IScheduleJobObserver
{
    void JobRan(string job, string eventId, bool changed, string schedulerInstanceId);
}

/// <summary>
/// Derives Quartz triggers from the events table. Each open event gets three one-shot triggers in group
/// "events": <c>{id}.open</c> at start − lead, <c>{id}.late</c> at start + LateAfter, <c>{id}.end</c> at the
/// end. They are replaced whenever the event changes and removed when it is cancelled, ended or deleted.
/// The jobs are compare-and-set transitions on the events table, so a trigger that fires twice (a restart
/// replaying a past trigger) changes nothing the second time.
/// </summary>
// Depends on the repository, not EventService: EventService notifies this class, so the reverse edge would be a cycle.
public sealed partial class EventScheduler(ISchedulerFactory factory, IEventRepository events, ControlSettings settings, TimeProvider time,
    ILogger<EventScheduler> logger)
    : IEventScheduleSink
{
    public const string Group = "events";
    internal const string EventIdKey = "eventId";
    internal static readonly JobKey OpenJob = new("open-window", "broadcast");
    internal static readonly JobKey LateJob = new("mark-late", "broadcast");
    internal static readonly JobKey EndJob = new("end-event", "broadcast");
    internal static readonly JobKey RetentionJob = new("recording-retention", "broadcast");

    public async Task EventChangedAsync(BroadcastEvent ev, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        var scheduler = await factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        if (!ev.State.IsOpen())
        {
            await UnscheduleAsync(scheduler, ev.Id, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (ev.State == EventState.Scheduled)
            await ScheduleAsync(scheduler, OpenJob, ev.Id, "open", ev.OpensAt(settings.PublishLead), cancellationToken).ConfigureAwait(false);
        if (!ev.Late && ev.State != EventState.Live)
            await ScheduleAsync(scheduler, LateJob, ev.Id, "late", ev.StartsAt + settings.LateAfter, cancellationToken).ConfigureAwait(false);
        else
            await scheduler.UnscheduleJob(new TriggerKey($"{ev.Id}.late", Group), cancellationToken).ConfigureAwait(false);
        await ScheduleAsync(scheduler, EndJob, ev.Id, "end", ev.EndsAt, cancellationToken).ConfigureAwait(false);
    }

    public async Task EventRemovedAsync(string eventId, CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        await UnscheduleAsync(scheduler, eventId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Re-derives every open event's triggers from the table (start-up; repairs anything missed).</summary>
    public async Task<int> RebuildAsync(CancellationToken cancellationToken)
    {
        var open = await events.ListOpenAsync(null, cancellationToken).ConfigureAwait(false);
        foreach (var ev in open)
        {
            await EventChangedAsync(ev, cancellationToken).ConfigureAwait(false);
        }

        LogRebuilt(open.Count);
        return open.Count;
    }

    private async Task ScheduleAsync(IScheduler scheduler, JobKey job, string eventId, string suffix, DateTimeOffset at,
        CancellationToken cancellationToken)
    {
        var trigger = TriggerBuilder.Create(time)
            .WithIdentity($"{eventId}.{suffix}", Group)
            .ForJob(job)
            .UsingJobData(EventIdKey, eventId)
            // A trigger in the past (a restart after the time passed) fires at once: the job decides from the table whether anything is left to do.
            .StartAt(at)
            .Build();
        await scheduler.ScheduleTrigger(trigger, TriggerConflict.Replace, cancellationToken).ConfigureAwait(false);
    }

    private static async Task UnscheduleAsync(IScheduler scheduler, string eventId, CancellationToken cancellationToken)
    {
        await scheduler.UnscheduleJobs([new TriggerKey($"{eventId}.open", Group), new TriggerKey($"{eventId}.late", Group),
            new TriggerKey($"{eventId}.end", Group)],
            cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Schedule rebuilt from the events table: {Count} open events")]
    private partial void LogRebuilt(int count);
}

/// <summary>Base of the event jobs: reads the event id and reports to observers.</summary>
public abstract class EventJob(IEnumerable<IScheduleJobObserver> observers) : IJob
{
    protected abstract string Name { get; }

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.MergedJobDataMap.TryGetValue(EventScheduler.EventIdKey, out var value) || value?.ToString() is not { Length: > 0 } eventId)
        {
            return;
        }

        var changed = await RunAsync(eventId, cancellationToken).ConfigureAwait(false);
        foreach (var observer in observers)
        {
            observer.JobRan(Name, eventId, changed, context.Scheduler.SchedulerInstanceId);
        }
    }

    protected abstract Task<bool> RunAsync(string eventId, CancellationToken cancellationToken);
}

/// <summary>start − lead: scheduled → ready.</summary>
public sealed class OpenEventWindowJob(EventService events, IEnumerable<IScheduleJobObserver> observers) : EventJob(observers)
{
    protected override string Name => "open";

    protected override Task<bool> RunAsync(string eventId, CancellationToken cancellationToken) => events.OpenWindowAsync(eventId, cancellationToken);
}

/// <summary>start + LateAfter: flags an event nobody has published to.</summary>
public sealed class MarkLateStartJob(EventService events, IEnumerable<IScheduleJobObserver> observers) : EventJob(observers)
{
    protected override string Name => "late";

    protected override Task<bool> RunAsync(string eventId, CancellationToken cancellationToken) => events.MarkLateAsync(eventId, cancellationToken);
}

/// <summary>end: the event ends, the publisher is disconnected, the recording is finalised.</summary>
public sealed class EndEventJob(EventService events, IEnumerable<IScheduleJobObserver> observers) : EventJob(observers)
{
    protected override string Name => "end";

    protected override async Task<bool> RunAsync(string eventId, CancellationToken cancellationToken)
    {
        var before = await events.GetAsync(eventId, cancellationToken).ConfigureAwait(false);
        if (before is null || !before.State.IsOpen()) return false;
        try
        {
            var after = await events.EndAsync(eventId, "scheduled end", cancellationToken).ConfigureAwait(false);
            return after?.State == EventState.Ended;
        }
        catch (ConflictException)
        {
            return false;
        }
    }
}

/// <summary>Hourly: deletes recordings older than Recordings:RetentionDays.</summary>
[DisallowConcurrentExecution]
public sealed class RecordingRetentionJob(RecordingService recordings) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        => await recordings.ApplyRetentionAsync(cancellationToken).ConfigureAwait(false);
}

/// <summary>After migrations: derives the triggers from the events table (the RAM store starts empty; the clustered store is repaired).</summary>
internal sealed class ScheduleStartup(EventScheduler scheduler) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => scheduler.RebuildAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
