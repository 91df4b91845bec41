using Broadcast.Control.Events;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Quartz;

namespace Broadcast.Control.Scheduling;

internal static class SchedulingServiceCollectionExtensions
{
    /// <summary>
    /// Quartz with the event jobs. Embedded (SQLite): the RAM store, rebuilt from the events table at each
    /// start. PostgreSQL: the clustered AdoJobStore in the same database (Quartz creates its qrtz_* tables),
    /// so each trigger fires on exactly one node; Scheduling:Clustered=false opts out.
    /// </summary>
    public static IServiceCollection AddEventScheduling(this IServiceCollection services, ControlSettings settings)
    {
        var clustered = settings.ClusteredScheduling ?? settings.DatabaseKind is "postgres" or "postgresql";
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(o =>
            {
                o.InstanceName = "broadcast";
                if (settings.SchedulerInstanceId is { } id) o.InstanceId = id;
            });
            q.UseTimeProvider(TimeProvider.System);
            if (clustered)
            {
                q.UsePersistentStore(store =>
                {
                    store.UsePostgres(NpgsqlFactory.Instance, settings.DatabaseConnectionString);
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = TimeSpan.FromSeconds(5);
                        c.CheckinMisfireThreshold = TimeSpan.FromSeconds(15);
                    });
                    store.ProvisionSchema();
                });
            }
            else
            {
                q.UseInMemoryStore(_ => { });
            }

            q.AddJob<OpenEventWindowJob>(j => j.WithIdentity(EventScheduler.OpenJob).StoreDurably());
            q.AddJob<MarkLateStartJob>(j => j.WithIdentity(EventScheduler.LateJob).StoreDurably());
            q.AddJob<EndEventJob>(j => j.WithIdentity(EventScheduler.EndJob).StoreDurably());
            q.AddJob<RecordingRetentionJob>(j => j.WithIdentity(EventScheduler.RetentionJob).StoreDurably());
            q.AddTrigger<RecordingRetentionJob>(t => t.WithIdentity("recording-retention", "broadcast").ForJob(EventScheduler.RetentionJob)
                .StartNow().WithSimpleSchedule(s => s.WithInterval(TimeSpan.FromHours(1)).RepeatForever()));
        });
        services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        services.AddSingleton<EventScheduler>();
        services.AddSingleton<IEventScheduleSink>(sp => sp.GetRequiredService<EventScheduler>());
        services.AddHostedService<ScheduleStartup>();
        return services;
    }
}
