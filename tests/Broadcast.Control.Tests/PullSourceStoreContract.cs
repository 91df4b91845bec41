using Broadcast.Control.Persistence;
using Broadcast.Control.Sources;
using PostgresTestCluster = Broadcast.TestSupport.PostgresTestCluster;
using Owner = Broadcast.Control.Sources.PullSourceOwner;

namespace Broadcast.Control.Tests;

/// <summary>The pull-source tables (migration 0004) behave the same on SQLite and PostgreSQL.</summary>
public abstract class PullSourceStoreContract : ChannelTableContract
{
    private SqlPullSourceRepository _sources = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _sources = new SqlPullSourceRepository(Database);
    }

    private static readonly DateTimeOffset At = new(2026, 5, 1, 13, 45, 0, 123, TimeSpan.Zero);

    [Fact]
    public async Task A_channel_source_is_stored_replaced_listed_and_deleted()
    {
        var id = await ChannelAsync();
        Assert.Null(await _sources.GetAsync(Owner.Channel, id, default));
        Assert.True(await _sources.SetAsync(Owner.Channel, id, new PullSource("rtmp://h/live/k", false, At), default));
        Assert.Equal(new PullSource("rtmp://h/live/k", false, At), await _sources.GetAsync(Owner.Channel, id, default));

        Assert.True(await _sources.SetAsync(Owner.Channel, id, new PullSource("file:a.mp4", true, At.AddMinutes(1)), default));
        Assert.Equal(new PullSource("file:a.mp4", true, At.AddMinutes(1)), await _sources.GetAsync(Owner.Channel, id, default));
        Assert.Equal(new PullSource("file:a.mp4", true, At.AddMinutes(1)), (await _sources.ListAsync(Owner.Channel, default))[id]);
        Assert.Empty(await _sources.ListAsync(Owner.Event, default));

        Assert.True(await _sources.DeleteAsync(Owner.Channel, id, default));
        Assert.False(await _sources.DeleteAsync(Owner.Channel, id, default));
        Assert.Null(await _sources.GetAsync(Owner.Channel, id, default));
    }

    [Fact]
    public async Task An_unknown_owner_is_refused_and_a_deleted_channel_takes_its_source_along()
    {
        Assert.False(await _sources.SetAsync(Owner.Channel, "no-such-channel", new PullSource("rtmp://h/a/b", false, At), default));
        Assert.False(await _sources.SetAsync(Owner.Event, "no-such-event", new PullSource("rtmp://h/a/b", false, At), default));

        var id = await ChannelAsync();
        Assert.True(await _sources.SetAsync(Owner.Channel, id, new PullSource("rtmp://h/a/b", false, At), default));
        Assert.True(await Channels.DeleteAsync(id));
        Assert.Null(await _sources.GetAsync(Owner.Channel, id, default));
    }
}

public sealed class SqlitePullSourceStoreTests : PullSourceStoreContract
{
    protected override ControlDatabase Create() => Sqlite();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresPullSourceStoreTests(PostgresTestCluster cluster) : PullSourceStoreContract
{
    protected override ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase("pull"));
}
