using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Scheduling;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;
using Owner = Broadcast.Control.Sources.PullSourceOwner;

namespace Broadcast.Control.Sources;

/// <summary>
/// One Quartz trigger per open event with a pull source, <c>{id}.pull</c> in the events group at the event's start, beside the
/// scheduler's open/late/end triggers. It wakes the coordinator, so a premiere starts on time; the event's end trigger (which
/// ends the broadcast) stops it. The coordinator's periodic check repairs a missed trigger and covers clustered nodes.
/// </summary>
public sealed partial class PullSourceScheduler(ISchedulerFactory factory, IPullSourceRepository sources, IEventRepository events,
    ILogger<PullSourceScheduler> logger) : IEventScheduleSink
{
    /// <summary>Re-derives the start triggers of open events with a source (start-up: the RAM store starts empty).</summary>
    public async Task<int> RebuildAsync(CancellationToken cancellationToken)
    {
        var withSource = await sources.ListAsync(Owner.Event, cancellationToken).ConfigureAwait(false);
        if (withSource.Count == 0) return 0;
        int count = 0;
        foreach (var ev in await events.ListOpenAsync(null, cancellationToken).ConfigureAwait(false))
        {
            if (!withSource.ContainsKey(ev.Id)) continue;
            await EventChangedAsync(ev, cancellationToken).ConfigureAwait(false);
            count++;
        }
        return count;
    }

    internal static readonly JobKey StartJob = new("start-pull-source", "broadcast");

    public async Task EventChangedAsync(BroadcastEvent ev, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ev);
        var scheduler = await factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        var key = new TriggerKey($"{ev.Id}.pull", EventScheduler.Group);
        if (!ev.State.IsOpen() || await sources.GetAsync(Owner.Event, ev.Id, cancellationToken).ConfigureAwait(false) is null)
        {
            await scheduler.UnscheduleJob(key, cancellationToken).ConfigureAwait(false);
            return;
        }
        await scheduler.AddJob(JobBuilder.Create<StartPullSourceJob>().WithIdentity(StartJob).StoreDurably().Build(), AddJobOptions.Replacing,
            cancellationToken)
            .ConfigureAwait(false);
        var trigger = TriggerBuilder.Create()
            .WithIdentity(key)
            .ForJob(StartJob)
            .UsingJobData("eventId", ev.Id)
            .StartAt(ev.StartsAt)
            .Build();
        await scheduler.ScheduleTrigger(trigger, TriggerConflict.Replace, cancellationToken).ConfigureAwait(false);
        LogScheduled(ev.Id, ev.StartsAt);
    }

    public async Task EventRemovedAsync(string eventId, CancellationToken cancellationToken)
    {
        var scheduler = await factory.GetScheduler(cancellationToken).ConfigureAwait(false);
        await scheduler.UnscheduleJob(new TriggerKey($"{eventId}.pull", EventScheduler.Group), cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 3751, Level = LogLevel.Information, Message = "Event {EventId}: its pull source starts at {StartsAt:o}")]
    private partial void LogScheduled(string eventId, DateTimeOffset startsAt);
}

/// <summary>The event's start: the coordinator checks what should pull now.</summary>
public sealed class StartPullSourceJob(PullSourceSignal signal) : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        signal.Wake();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// Keeps the node's pulls matching the table: on every wake-up (a source changed, an event started) and every
/// <see cref="Interval"/>, it computes <see cref="PullSourceService.AssignmentsAsync"/> and hands the runner those whose
/// channel's lease this node holds or takes (<see cref="MineAsync"/>). Every ingest node computes the same assignments,
/// so the lease picks one node per channel, as for a publish: the node that took it keeps it while it runs the pull (each
/// pass renews it), and when that node dies its lease lapses and the next pass of another node takes the pull over.
/// </summary>
public sealed partial class PullSourceCoordinator(
    PullSourceService sources,
    PullSourceScheduler scheduler,
    IPullSourceRunner runner,
    PullSourceSignal signal,
    TimeProvider time,
    ILogger<PullSourceCoordinator> logger,
    ChannelLeases? leases = null) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bool rebuilt = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!rebuilt) rebuilt = await scheduler.RebuildAsync(stoppingToken).ConfigureAwait(false) >= 0;
                runner.Apply(await MineAsync(await sources.AssignmentsAsync(time.GetUtcNow(), stoppingToken).ConfigureAwait(false), stoppingToken)
                    .ConfigureAwait(false));
                await signal.WaitAsync(Interval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database may be briefly unreachable: keep what runs, try again at the next tick.
                LogFailed(ex);
                try { await Task.Delay(Interval, time, stoppingToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
            }
        }
    }

    /// <summary>
    /// The assignments this node runs: all of them without leases (one node by configuration), none on a node that runs
    /// no pulls, else those whose channel's lease is free or this node's (taken or renewed now). A channel on air from an
    /// encoder on another node, or pulling there, stays there.
    /// </summary>
    public async Task<IReadOnlyList<PullAssignment>> MineAsync(IReadOnlyList<PullAssignment> assignments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(assignments);
        if (!runner.RunsPulls) return [];
        if (leases is null) return assignments;
        var mine = new List<PullAssignment>(assignments.Count);
        foreach (var assignment in assignments)
        {
            if (await leases.TryAcquireAsync(assignment.ChannelId, assignment.Slug, cancellationToken,
                quiet: true).ConfigureAwait(false) is null) mine.Add(assignment);
        }
        return mine;
    }

    [LoggerMessage(EventId = 3752, Level = LogLevel.Warning, Message = "Checking the pull sources failed; trying again")]
    private partial void LogFailed(Exception ex);
}

internal static class PullSourceServiceCollectionExtensions
{
    /// <summary>Pull sources of channels and events, their start triggers and the coordinator;
    /// the server replaces the runner and the validator.</summary>
    public static IServiceCollection AddPullSources(this IServiceCollection services)
    {
        services.AddSingleton<IPullSourceRepository, SqlPullSourceRepository>();
        services.AddSingleton<PullSourceSignal>();
        services.AddSingleton<PullSourceScheduler>();
        services.AddSingleton<IEventScheduleSink>(sp => sp.GetRequiredService<PullSourceScheduler>());
        services.AddSingleton<PullSourceService>();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton<IPullSourceRunner, NoPullSourceRunner>(services);
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddSingleton<IPullSourceValidator, SchemePullSourceValidator>(services);
        services.AddHostedService<PullSourceCoordinator>();
        return services;
    }
}
