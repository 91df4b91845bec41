using System.Collections.Concurrent;
using Broadcast.Control.Events;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Events;

/// <summary>Two nodes on one real PostgreSQL: a change announced on one is heard on the other, and on its own node once.</summary>
[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresPublishRuleChangesTests(PostgresTestCluster cluster)
{
    [Fact]
    public async Task A_change_announced_on_one_node_is_heard_on_the_other_once()
    {
        var connection = cluster.CreateDatabase("publishrules");
        var a = new PostgresPublishRuleChanges(connection, NullLogger<PostgresPublishRuleChanges>.Instance);
        var b = new PostgresPublishRuleChanges(connection, NullLogger<PostgresPublishRuleChanges>.Instance);
        var heardA = new ConcurrentQueue<string?>();
        var heardB = new ConcurrentQueue<string?>();
        a.Changed += heardA.Enqueue;
        b.Changed += heardB.Enqueue;
        using var stop = new CancellationTokenSource();
        await a.StartAsync(stop.Token);
        await b.StartAsync(stop.Token);
        try
        {
            await WaitFor.ConditionAsync(() => a.Listening && b.Listening, TimeSpan.FromSeconds(20), "both nodes to LISTEN");
            a.Announce("main-stage");
            a.Announce("side-room");
            await WaitFor.ConditionAsync(() => heardB.Count == 2, TimeSpan.FromSeconds(20), "node B to hear both changes",
                () => $"B heard [{string.Join(", ", heardB)}]");
            Assert.Equal(["main-stage", "side-room"], heardB);

            // A heard its own changes at once, and not again through PostgreSQL: a later change of B's arrives after them.
            b.Announce("third");
            await WaitFor.ConditionAsync(() => heardA.Count == 3, TimeSpan.FromSeconds(20), "node A to hear B's change");
            Assert.Equal(["main-stage", "side-room", "third"], heardA);
        }
        finally
        {
            await stop.CancelAsync();
            await a.StopAsync(CancellationToken.None);
            await b.StopAsync(CancellationToken.None);
            a.Dispose();
            b.Dispose();
        }
    }
}
