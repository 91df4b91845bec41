using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Packager.Live;
using Microsoft.Extensions.Options;

namespace Broadcast.Publish;

/// <summary>
/// The one door every source of media goes through before it writes into a channel's hub on this node: the channel's
/// lease (one node at a time writes a channel's playlists), then the continuation of a broadcast of the channel that a
/// dead node left unfinished within the reconnect grace (the same broadcast goes on here: the same playlists, the next
/// segment numbers after one discontinuity), then the start. An encoder's publish (RTMP, SRT), a pull and a program take
/// their lease where the control plane decides them (<see cref="PublishPolicy"/>, the pull scheduler, the program
/// service) and come here for the continuation (<see cref="ContinueAsync"/>); a room's show, which none of those starts,
/// takes its lease through the gate (<see cref="AdmitAsync"/>: control's <see cref="PublishPolicy.DecideRoomShowAsync"/>)
/// and then the continuation.
/// </summary>
internal sealed class PublishGate(LivePackager packager, IOptions<IngestOptions> ingest, PublishPolicy policy)
{
    private TimeSpan Grace => TimeSpan.FromSeconds(ingest.Value.ReconnectGraceSeconds);

    /// <summary>The lease of <paramref name="slug"/>'s channel is this node's: a broadcast a dead node left is continued here.</summary>
    public Task ContinueAsync(string slug, CancellationToken cancellationToken) =>
        packager.PrepareContinuationAsync(slug, Grace, cancellationToken);

    /// <summary>
    /// Takes <paramref name="slug"/>'s lease for this node (<see cref="PublishPolicy.DecideRoomShowAsync"/>) and prepares the
    /// continuation; null when the source may start, else why not (another node holds the lease: the channel is live there).
    /// </summary>
    public async Task<string?> AdmitAsync(string slug, CancellationToken cancellationToken)
    {
        var verdict = await policy.DecideRoomShowAsync(slug, cancellationToken).ConfigureAwait(false);
        if (!verdict.Allowed) return verdict.Reason;
        await ContinueAsync(slug, cancellationToken).ConfigureAwait(false);
        return null;
    }
}

/// <summary>The gate on an ingest node, with the encoders' way to it and control's view of the node's live streams.</summary>
public static class PublishGateSetup
{
    /// <summary>
    /// <see cref="PublishGate"/>, ingest's <see cref="IPublishAuthorizer"/> over control's <see cref="PublishPolicy"/> through
    /// it, and this node's live streams as control's <see cref="IChannelStreamPresence"/>.
    /// </summary>
    public static IServiceCollection AddPublishGate(this IServiceCollection services) =>
        services.AddSingleton<IChannelStreamPresence, RegistryStreamPresence>().AddSingleton<IPublishAuthorizer, ChannelPublishAuthorizer>()
            .AddSingleton<PublishGate>();
}
