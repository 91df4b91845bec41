using Broadcast.Control.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests;

/// <summary>
/// A live room's show takes its channel's lease as an encoder's publish does (<see cref="PublishPolicy.DecideRoomShowAsync"/>):
/// let in while the lease is free or this node's, refused with the holder's name while another node's, and refused for a
/// channel that does not exist. Over SQLite with the real lease repository.
/// </summary>
public sealed class RoomShowLeaseTests
{
    [Fact]
    public async Task A_show_takes_the_lease_and_is_refused_while_another_node_holds_it()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Kind"] = "sqlite" }).Build();
        await using var host = await ControlApiHost.StartAsync("test-admin-token-room-show-0123456789",
            new Dictionary<string, string?> { ["Program:KeeperSeconds"] = "300" }, services => services.AddPublishPolicy(settings));
        var policy = host.App.Services.GetRequiredService<PublishPolicy>();
        var channels = host.App.Services.GetRequiredService<ChannelService>();
        var repository = host.App.Services.GetRequiredService<IChannelLeaseRepository>();
        var stage = (await channels.CreateAsync(new ChannelSpec("Stage"))).Channel;
        var hall = (await channels.CreateAsync(new ChannelSpec("Hall"))).Channel;

        var first = await policy.DecideRoomShowAsync(stage.Slug, default);
        Assert.True(first.Allowed, first.Reason);
        Assert.Equal(stage.Id, first.ChannelId);
        // Held by this node already: let in again (a show that starts anew on the node that holds the lease).
        Assert.True((await policy.DecideRoomShowAsync(stage.Slug, default)).Allowed);

        var now = DateTimeOffset.UtcNow;
        await repository.AcquireAsync(hall.Id, "other-node", now, now.AddMinutes(5), default);
        var refused = await policy.DecideRoomShowAsync(hall.Slug, default);
        Assert.False(refused.Allowed);
        Assert.Contains($"channel '{hall.Slug}' is live on ingest node other-node", refused.Reason, StringComparison.Ordinal);

        Assert.False((await policy.DecideRoomShowAsync("no-such-channel", default)).Allowed);
    }
}
