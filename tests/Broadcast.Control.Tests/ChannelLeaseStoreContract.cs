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
    public async Task A_renewal_of_many_channels_renews_only_the_leases_the_node_holds_lapsed_or_not()
    {
        var mine = await ChannelAsync();
        var lapsedMine = await ChannelAsync();
        var theirs = await ChannelAsync();
        var free = await ChannelAsync();
        await _leases.AcquireAsync(mine, "a", T0, T0 + Life, default);
        await _leases.AcquireAsync(lapsedMine, "a", T0 - Life - Life, T0 - Life, default);
        await _leases.AcquireAsync(theirs, "b", T0, T0 + Life, default);

        // More ids than one statement takes (unknown ones among them): every batch is asked, and only "a"'s rows answer.
        var ids = Enumerable.Range(0, SqlChannelLeaseRepository.RenewBatch * 2 + 7).Select(i => $"missing-{i}").ToList();
        ids.Insert(3, mine);
        ids.Add(lapsedMine);
        ids.Insert(SqlChannelLeaseRepository.RenewBatch + 1, theirs);
        ids.Add(free);
        var later = T0.AddSeconds(5) + Life;
        var renewed = await _leases.RenewHeldAsync(ids, "a", later, default);
        Assert.Equal(new[] { lapsedMine, mine }.Order(StringComparer.Ordinal), renewed.Order(StringComparer.Ordinal));

        // The renewal moved "a"'s leases on and left "b"'s and the free channel as they were.
        Assert.Equal(new ChannelLease(mine, "a", later), await _leases.AcquireAsync(mine, "b", T0.AddSeconds(6), T0.AddSeconds(6) + Life, default));
        Assert.Equal(new ChannelLease(lapsedMine, "a", later), await _leases.AcquireAsync(lapsedMine, "b", T0.AddSeconds(6), T0.AddSeconds(6) + Life, default));
        Assert.Equal(new ChannelLease(theirs, "b", T0 + Life), await _leases.AcquireAsync(theirs, "c", T0.AddSeconds(6), T0.AddSeconds(6) + Life, default));
        Assert.Equal("c", (await _leases.AcquireAsync(free, "c", T0.AddSeconds(6), T0.AddSeconds(6) + Life, default))!.NodeId);
        Assert.Empty(await _leases.RenewHeldAsync([], "a", later, default));
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

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresChannelLeaseStoreTests(PostgresTestCluster cluster) : ChannelLeaseStoreContract
{
    protected override ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase("leases"));
}
