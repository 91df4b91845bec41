using Broadcast.Control.Channels;
using Broadcast.Control.Restream;
using Broadcast.Ingest.Restream;
using Broadcast.Media;
using Broadcast.Network.Outbound;

namespace Broadcast.Server;

/// <summary>The restream supervisor's destinations, read from the control plane (keys decrypted only here, in memory).</summary>
internal sealed class ControlRestreamDestinations(ChannelService channels, DestinationService destinations) : IRestreamDestinationSource
{
    public async Task<IReadOnlyList<RestreamDestination>> GetDestinationsAsync(LiveStream stream, CancellationToken cancellationToken)
    {
        // The stream name is the channel slug (the publish authorizer names streams so).
        var channel = await channels.GetBySlugAsync(stream.Name, cancellationToken).ConfigureAwait(false);
        if (channel is null) return [];
        var list = await destinations.ListWithKeysAsync(channel.Id, cancellationToken).ConfigureAwait(false);
        return list.Select(d => new RestreamDestination(d.Destination.Id, d.Destination.Url, d.StreamKey, d.Destination.Enabled,
            d.Destination.AllowUntrustedCertificate, Multitrack: d.Destination.Multitrack)).ToList();
    }
}

/// <summary>
/// Destination states for the API and dashboard, from the restream supervisor; changes applied at once. The supervisor
/// is resolved on first use: it reads destinations through <see cref="DestinationService"/>, which reports to this.
/// </summary>
internal sealed class PipelineDestinationLiveStatus(IServiceProvider services) : IDestinationLiveStatus
{
    private RestreamSupervisor Supervisor => services.GetRequiredService<RestreamSupervisor>();

    public RestreamState? Get(string destinationId) => Supervisor.GetState(destinationId);

    public Task DestinationsChangedAsync(string channelSlug, CancellationToken cancellationToken) => Supervisor.RefreshAsync(channelSlug);
}
