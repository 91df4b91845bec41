using Broadcast.Control.Channels;

namespace Broadcast.Control.Events;

/// <summary>Ends what is on air on a channel: disconnects the publisher so the live manifests end and the recording is finalised on this
/// node.</summary>
public interface IBroadcastTerminator
{
    /// <summary>Returns whether a live broadcast was ended.</summary>
    ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken);
}

/// <summary>Ends a channel's broadcast on this node through <see cref="IChannelStreamPresence"/>.</summary>
/// <remarks>
/// Ingest has no call to close a publisher's socket: ending the stream ends everything downstream, the encoder's further
/// frames are dropped, and the publish policy refuses a reconnect outside a window.
/// </remarks>
internal sealed class PresenceBroadcastTerminator(IChannelStreamPresence presence) : IBroadcastTerminator
{
    public ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return ValueTask.FromResult(presence.End(channel.Slug));
    }
}
