using Broadcast.Media;

namespace Broadcast.WebRtc.Relay;

/// <summary>
/// The publish gate's door for a relayed channel (implemented in <c>publish/</c>): a copy of a channel that an ingest node's
/// gate admitted, written into this node's relay hubs (<see cref="ChannelRelays.Registry"/>), never a broadcast of its own.
/// Asked each time a feed's first tag is about to start the copy.
/// </summary>
public interface IRelayAdmission
{
    PublishTicket Admit(string channel);
}
