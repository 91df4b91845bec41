using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using PostgresTestCluster = Broadcast.TestSupport.PostgresTestCluster;

namespace Broadcast.Control.Tests;

/// <summary>Channel leases (migration 0010) behave the same on SQLite and PostgreSQL: one holder, renewals, lapse, release.</summary>
public abstract class ChannelLeaseStoreContract : ChannelTableContract
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 18, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Life = TimeSpan.FromSeconds(15);
    private SqlChannelLeaseRepository _leases = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _leases = new SqlChannelLeaseRepository(Database);
    }

    [Fact]
    public async Task One_node_holds_a_channel_until_its_lease_lapses_and_renews_it_meanwhile()
    {
        var channel = await ChannelAsync();
        Assert.Equal(new ChannelLease(channel, "a", T0 + Life), await _leases.AcquireAsync(channel, "a", T0, T0 + Life, default));

        // Another node is told who holds it and until when; nothing changes.
        Assert.Equal(new ChannelLease(channel, "a", T0 + Life), await _leases.AcquireAsync(channel, "b", T0.AddSeconds(5), T0.AddSeconds(5) + Life, default));

        // The holder renews: the lease runs on from the renewal.
        Assert.Equal(new ChannelLease(channel, "a", T0.AddSeconds(10) + Life), await _leases.AcquireAsync(channel, "a", T0.AddSeconds(10), T0.AddSeconds(10) + Life, default));
        Assert.Equal("a", (await _leases.AcquireAsync(channel, "b", T0.AddSeconds(20), T0.AddSeconds(20) + Life, default))!.NodeId);

        // Unrenewed past its end, it goes to the next node that asks.
        var lapsed = T0.AddSeconds(10) + Life;
        Assert.Equal(new ChannelLease(channel, "b", lapsed + Life), await _leases.AcquireAsync(channel, "b", lapsed, lapsed + Life, default));
        Assert.Equal("b", (await _leases.AcquireAsync(channel, "a", lapsed.AddSeconds(1), lapsed.AddSeconds(1) + Life, default))!.NodeId);
    }

    [Fact]
    public async Task Only_the_holder_releases_and_a_released_channel_is_free_at_once()
    {
        var channel = await ChannelAsync();
        await _leases.AcquireAsync(channel, "a", T0, T0 + Life, default);
        await _leases.ReleaseAsync(channel, "b", default);
        Assert.Equal("a", (await _leases.AcquireAsync(channel, "b", T0, T0 + Life, default))!.NodeId);
        await _leases.ReleaseAsync(channel, "a", default);
        Assert.Equal("b", (await _leases.AcquireAsync(channel, "b", T0, T0 + Life, default))!.NodeId);
    }

    [Fact]
    public async Task Nodes_racing_for_a_free_channel_get_one_holder_and_a_deleted_channel_has_none()
    {
        var channel = await ChannelAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => _leases.AcquireAsync(channel, $"node-{i}", T0, T0 + Life, default)));
        var holder = Assert.Single(answers.Select(a => a!.NodeId).Distinct());
        Assert.Equal(holder, (await _leases.AcquireAsync(channel, "late", T0, T0 + Life, default))!.NodeId);

        Assert.True(await Channels.DeleteAsync(channel));
        Assert.Null(await _leases.AcquireAsync(channel, "a", T0, T0 + Life, default));
    }
}

public sealed class SqliteChannelLeaseStoreTests : ChannelLeaseStoreContract
{
    protected override ControlDatabase Create() => Sqlite();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresChannelLeaseStoreTests(PostgresTestCluster cluster) : ChannelLeaseStoreContract
{
    protected override ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase("leases"));
}
