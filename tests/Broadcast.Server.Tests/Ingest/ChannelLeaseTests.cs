using System.Net;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Ingest;

/// <summary>
/// Two ingest nodes on one PostgreSQL: the node that accepts a channel's publish holds it, the other refuses the same
/// key with a reason naming the holder, and takes the channel once the holder's broadcast ends or the holder stops.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ChannelLeaseTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    // Nothing here waits for a lease to lapse (the holder releases it). A lease longer than the shortest allowed keeps a test
    // host that stalls a few seconds at its busy start from losing it: in row 85 node A was allowed the channel node B had
    // just taken and started, most likely because B's 3 s lease lapsed before its keeper ran (the failure prints the row).
    private const int LeaseSeconds = 10;

    [Fact]
    public async Task A_second_ingest_node_refuses_a_held_channel_and_takes_it_when_the_holder_lets_go()
    {
        using var pg = new PostgresTestCluster();
        string connection = pg.CreateDatabase("leases");
        string secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string[] Node(string id) =>
        [
            "--Transcode:Enabled=false", "--Database:Kind=postgres", $"--Database:ConnectionString={connection}", $"--Secrets:Key={secret}",
            $"--Ingest:NodeId={id}", $"--Ingest:LeaseSeconds={LeaseSeconds}", "--Scheduling:Clustered=false",
        ];
        string database = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connection }["Database"].ToString()!;
        string Leases() => $"leases at {DateTimeOffset.UtcNow:HH:mm:ss.fff}: " + pg.Psql("SELECT node_id || ' until ' || expires_at FROM channel_leases", database);
        await using var a = await InProcessServer.StartAsync(Node("ingest-a"));
        var b = await InProcessServer.StartAsync(Node("ingest-b"));
        try
        {
            var issued = await a.Services.GetRequiredService<ChannelService>().CreateAsync(new ChannelSpec("Main stage"));
            var request = new PublishRequest("live", issued.StreamKey, new IPEndPoint(IPAddress.Loopback, 50000));

            // Node A takes the channel; its broadcast lives in A's hub, so A renews the lease.
            Assert.True((await AuthorizeAsync(a, request)).Allowed);
            Assert.True(a.Services.GetRequiredService<LiveStreamRegistry>().TryStartPublish(issued.Channel.Slug, out var stream));

            // Node B refuses the same key, naming the holder, for longer than one lease's life (A renews it).
            var refused = await AuthorizeAsync(b, request);
            Assert.False(refused.Allowed);
            Assert.Contains("ingest-a", refused.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(issued.StreamKey, refused.Reason, StringComparison.Ordinal);
            var keeper = a.Services.GetRequiredService<ChannelLeases>();
            for (int pass = 0; pass < 3; pass++) await keeper.RenewOnceAsync(default);
            Assert.False((await AuthorizeAsync(b, request)).Allowed, Leases());

            // A's broadcast ends: the keeper releases the lease and B may publish at once.
            a.Services.GetRequiredService<LiveStreamRegistry>().EndPublish(stream);
            await WaitFor.ConditionAsync(async () => (await AuthorizeAsync(b, request)).Allowed, Bound, "node B to take the released channel");

            // Now B holds it, and A is refused until B stops; B's shutdown hands the channel back at once.
            Assert.True(b.Services.GetRequiredService<LiveStreamRegistry>().TryStartPublish(issued.Channel.Slug, out _));
            var back = await AuthorizeAsync(a, request);
            Assert.False(back.Allowed, Leases());
            Assert.Contains("ingest-b", back.Reason, StringComparison.Ordinal);
            await b.DisposeAsync();
            b = null;
            Assert.True((await AuthorizeAsync(a, request)).Allowed);
        }
        finally
        {
            if (b is not null) await b.DisposeAsync();
        }
    }

    private static ValueTask<PublishDecision> AuthorizeAsync(InProcessServer server, PublishRequest request)
        => server.Services.GetRequiredService<IPublishAuthorizer>().AuthorizeAsync(request, default);
}
