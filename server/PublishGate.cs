using System.Globalization;
using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Options;

namespace Broadcast.Server;

/// <summary>
/// The one door every source of media goes through before it writes into a channel's hub on this node: the channel's
/// lease (one node at a time writes a channel's playlists), then the continuation of a broadcast of the channel that a
/// dead node left unfinished within the reconnect grace (the same broadcast goes on here: the same playlists, the next
/// segment numbers after one discontinuity), then the start. An encoder's publish (RTMP, SRT), a pull and a program take
/// their lease where the control plane decides them (<see cref="PublishPolicy"/>, the pull scheduler, the program
/// service) and come here for the continuation (<see cref="ContinueAsync"/>); a room's show has no such decision and
/// comes here for both (<see cref="AdmitAsync"/>).
/// </summary>
internal sealed class PublishGate(LivePackager packager, IOptions<IngestOptions> ingest, ChannelService channels, ChannelLeases leases)
{
    private TimeSpan Grace => TimeSpan.FromSeconds(ingest.Value.ReconnectGraceSeconds);

    /// <summary>The lease of <paramref name="slug"/>'s channel is this node's: a broadcast a dead node left is continued here.</summary>
    public Task ContinueAsync(string slug, CancellationToken cancellationToken) =>
        packager.PrepareContinuationAsync(slug, Grace, cancellationToken);

    /// <summary>
    /// Takes <paramref name="slug"/>'s lease for this node and prepares the continuation; null when the source may start,
    /// else why not (another node holds the lease: the channel is live there).
    /// </summary>
    public async Task<string?> AdmitAsync(string slug, CancellationToken cancellationToken)
    {
        if (await channels.GetBySlugAsync(slug, cancellationToken).ConfigureAwait(false) is not { } channel) return $"no channel '{slug}'";
        if (await leases.TryAcquireAsync(channel, cancellationToken).ConfigureAwait(false) is { } holder)
        {
            return $"channel '{slug}' is live on ingest node {holder.NodeId}; join its room there, or again after "
                + $"{holder.ExpiresAt.UtcDateTime.ToString("HH:mm:ss", CultureInfo.InvariantCulture)} UTC when its lease lapses";
        }

        await ContinueAsync(slug, cancellationToken).ConfigureAwait(false);
        return null;
    }
}
