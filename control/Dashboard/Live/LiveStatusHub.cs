using Broadcast.Control.Channels;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;

namespace Broadcast.Control.Dashboard.Live;

/// <summary>The history the channel page draws first; later points arrive as "channel" messages.</summary>
public sealed record ChannelLiveSnapshot(ChannelLiveView View, LiveSample[] History);

/// <summary>
/// Live status push for signed-in admins (<c>/dashboard/hub/live</c>). Clients join a channel's group or the list
/// group; <see cref="LiveStatusMonitor"/> sends "channel" and "list" messages to them every second.
/// </summary>
[Authorize(Policy = DashboardAuth.Policy)]
public sealed class LiveStatusHub(ChannelService channels, LiveStatusMonitor monitor) : Hub
{
    public async Task<ChannelLiveSnapshot?> WatchChannel(string id)
    {
        var channel = await channels.GetAsync(id, Context.ConnectionAborted).ConfigureAwait(false);
        if (channel is null)
        {
            return null;
        }

        await Groups.AddToGroupAsync(Context.ConnectionId, LiveStatusMonitor.ChannelGroup(id), Context.ConnectionAborted).ConfigureAwait(false);
        var (view, history) = await monitor.GetAsync(channel, Context.ConnectionAborted).ConfigureAwait(false);
        return new ChannelLiveSnapshot(view, history);
    }

    public Task WatchList() => Groups.AddToGroupAsync(Context.ConnectionId, LiveStatusMonitor.ListGroup, Context.ConnectionAborted);
}
