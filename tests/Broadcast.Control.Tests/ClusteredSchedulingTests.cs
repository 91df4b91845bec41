using System.Collections.Concurrent;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Scheduling;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Quartz;

namespace Broadcast.Control.Tests;

/// <summary>
/// Two control nodes, each with its own Quartz scheduler, on one PostgreSQL database (clustered AdoJobStore):
/// every trigger of every event fires exactly once across both, and the events reach their states.
/// </summary>
[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class ClusteredSchedulingTests(PostgresTestCluster cluster)
{
    private sealed class FireLog : IScheduleJobObserver
    {
        public ConcurrentQueue<(string Job, string EventId, bool Changed, string Node)> Runs { get; } = new();

        public void JobRan(string job, string eventId, bool changed, string schedulerInstanceId) => Runs.Enqueue((job, eventId, changed, schedulerInstanceId));
    }

    private static IHost Node(string connectionString, string instanceId, FireLog log, string dataDir)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Production" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Database:Kind"] = "postgres",
            ["Database:ConnectionString"] = connectionString,
            // Both nodes share the secret like production nodes do.
            ["Secrets:KeyPath"] = Path.Combine(dataDir, "secret.key"),
            ["Admin:Token"] = "cluster-test-token-0123456789abcdef",
            ["Events:PublishLeadSeconds"] = "0",
            ["Events:LateAfterSeconds"] = "1",
            ["Scheduling:InstanceId"] = instanceId,
        });
        builder.Services.AddControl(builder.Configuration);
        builder.Services.AddSingleton<IScheduleJobObserver>(log);
        return builder.Build();
    }

    [Fact]
    public async Task Two_schedulers_on_one_database_fire_each_trigger_once()
    {
        using var dir = new TempDirectory();
        var connectionString = cluster.CreateDatabase("cluster");
        var log = new FireLog();
        using var a = Node(connectionString, "node-a", log, dir.Path);
        using var b = Node(connectionString, "node-b", log, dir.Path);
        await a.StartAsync();
        await b.StartAsync();
        try
        {
            var channels = a.Services.GetRequiredService<ChannelService>();
            var events = a.Services.GetRequiredService<EventService>();
            var start = DateTimeOffset.UtcNow.AddSeconds(3);
            var created = new List<BroadcastEvent>();
            for (var i = 0; i < 3; i++)
            {
                var channel = (await channels.CreateAsync(new ChannelSpec($"Stage {i}", RequireSchedule: true))).Channel;
                created.Add(await events.CreateAsync(new EventSpec(channel.Id, $"Talk {i}", null, start.AddMilliseconds(300 * i), start.AddSeconds(3 + i), false)));
            }

            // Done when every event ended and no trigger of theirs is left in the shared store: after that no node can fire one again.
            var schedulerA = await a.Services.GetRequiredService<ISchedulerFactory>().GetScheduler(CancellationToken.None);
            var keys = created.SelectMany(e => new[] { "open", "late", "end" }.Select(s => new TriggerKey($"{e.Id}.{s}", EventScheduler.Group))).ToList();
            // The triggers node A scheduled are visible to node B: one shared (clustered) store, not two RAM stores.
            var schedulerB = await b.Services.GetRequiredService<ISchedulerFactory>().GetScheduler(CancellationToken.None);
            Assert.NotEqual(schedulerA.SchedulerInstanceId, schedulerB.SchedulerInstanceId);
            Assert.True(await schedulerB.Exists(keys.First(k => k.Name.EndsWith(".end", StringComparison.Ordinal)), CancellationToken.None),
                "node B does not see node A's trigger");
            await WaitFor.ConditionAsync(async () =>
                {
                    foreach (var e in created)
                    {
                        if ((await events.GetAsync(e.Id))!.State != EventState.Ended) return false;
                    }

                    foreach (var key in keys)
                    {
                        if (await schedulerA.Exists(key, CancellationToken.None)) return false;
                    }

                    // A job reports its run after it changed the event (and Quartz drops a fired trigger before the job
                    // finishes): wait for every report too, or a check right after the last change misses the last run.
                    var reported = log.Runs.ToArray();
                    return created.All(e => new[] { "open", "late", "end" }.All(job => reported.Any(r => r.EventId == e.Id && r.Job == job)));
                }, TimeSpan.FromSeconds(90), "every event to end and its triggers to be consumed",
                () => string.Join(Environment.NewLine, log.Runs.Select(r => r.ToString())));

            var runs = log.Runs.ToArray();
            foreach (var e in created)
            {
                foreach (var job in new[] { "open", "late", "end" })
                {
                    var fired = runs.Where(r => r.EventId == e.Id && r.Job == job).ToList();
                    Assert.True(fired.Count == 1, $"{job} of {e.Title} fired {fired.Count} times: {string.Join(", ", fired)}");
                    Assert.True(fired[0].Changed, $"{job} of {e.Title} ran but changed nothing");
                }

                var final = await events.GetAsync(e.Id);
                Assert.True(final!.Late, $"{e.Title} had no publisher and should be marked late");
            }
        }
        finally
        {
            await b.StopAsync();
            await a.StopAsync();
        }
    }
}
