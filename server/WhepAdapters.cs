using Broadcast.Control.Channels;
using Broadcast.WebRtc.Whep;

namespace Broadcast.Server;

/// <summary>A channel is played in real time first (WHEP) when its <c>realTime</c> setting says so; a stream with no channel is not.</summary>
internal sealed class ChannelRealTimeSetting(ChannelService channels) : IRealTimeChannels
{
    public async ValueTask<bool> IsRealTimeAsync(string channel, CancellationToken cancellationToken)
        => (await channels.GetBySlugAsync(channel, cancellationToken).ConfigureAwait(false))?.RealTime ?? false;
}
