using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Ingest.Pull;
using Broadcast.Media;
using Broadcast.WebRtc.Relay;
using Broadcast.WebRtc.Room;

namespace Broadcast.Publish;

/// <summary>
/// The one door every source of media goes through before it writes into a hub on this node, and the only maker of the
/// <see cref="PublishTicket"/> a hub's start needs (the media assembly lets no other product assembly make one). For a
/// channel's broadcast the door is the channel's lease (one node at a time writes a channel's playlists), then the
/// continuation of a broadcast of the channel that a dead node left unfinished within the reconnect grace (the same
/// broadcast goes on here: the same playlists, the next segment numbers after one discontinuity), then the ticket. One admit
/// call per kind of source; the hubs of an encoder's own ladder and of its alternate audio are its source hub's
/// (<see cref="LiveStream.EncoderRungs"/>, <see cref="LiveStream.AlternateAudioTracks"/>) and are admitted with it.
/// </summary>
internal sealed class PublishGate(IPublishRules rules, IBroadcastContinuations continuations)
{
    /// <summary>
    /// An encoder over RTMP or RTMPS (the same protocol inside TLS, told to the rules as the request names it): its stream
    /// key, its channel's schedule, the platform's callback and the lease (<see cref="PublishPolicy.DecideAsync"/>), then the
    /// continuation. A refused key is told apart, so that ingest counts it against the address.
    /// </summary>
    public Task<PublishDecision> AdmitRtmpAsync(PublishRequest request, CancellationToken cancellationToken) =>
        AdmitEncoderAsync(request, cancellationToken);

    /// <summary>An encoder over SRT: as <see cref="AdmitRtmpAsync"/>, with SRT's words in a refusal of a wrong application.</summary>
    public Task<PublishDecision> AdmitSrtAsync(PublishRequest request, CancellationToken cancellationToken) =>
        AdmitEncoderAsync(request, cancellationToken);

    /// <summary>
    /// A channel's pull: control's pull scheduler took the channel's lease for this node before it assigned the pull here, so
    /// the gate continues a broadcast a dead node left and hands the attempt its ticket.
    /// </summary>
    public Task<PublishTicket> AdmitPullAsync(string slug, CancellationToken cancellationToken) => AdmitLeasedAsync(slug, cancellationToken);

    /// <summary>
    /// An API program that starts on this node: control's program service took the channel's lease, so the gate continues a
    /// broadcast a dead node left (like an encoder's publish to this node) and hands the program its ticket.
    /// </summary>
    public Task<PublishTicket> AdmitProgramAsync(string slug, CancellationToken cancellationToken) =>
        AdmitLeasedAsync(slug, cancellationToken);

    /// <summary>
    /// A room's show that starts on this node, which no control decision started: the gate takes the channel's lease
    /// (<see cref="PublishPolicy.DecideRoomShowAsync"/>: a room live on another node is refused while that node lives),
    /// then the continuation; refused with the reason when the lease is another node's.
    /// </summary>
    public async Task<Admission> AdmitRoomAsync(string slug, CancellationToken cancellationToken)
    {
        var verdict = await rules.DecideRoomShowAsync(slug, cancellationToken).ConfigureAwait(false);
        return verdict.Allowed ? Admission.Admitted(await AdmitLeasedAsync(slug, cancellationToken).ConfigureAwait(false))
            : Admission.Refused(verdict.Reason);
    }

    /// <summary>
    /// A WHIP publisher into its channel's room: its stream key and the channel's schedule
    /// (<see cref="PublishPolicy.DecideRoomPublishAsync"/>). No ticket: a room has several publishers and starts no hub of
    /// theirs; its one broadcast is the show's (<see cref="AdmitRoomAsync"/>).
    /// </summary>
    public async Task<RoomPublishDecision> AdmitWhipAsync(string streamKey, PublishCaller caller, CancellationToken cancellationToken)
    {
        var verdict = await rules.DecideWhipAsync(streamKey, caller, cancellationToken).ConfigureAwait(false);
        return verdict is { Allowed: true, Slug: { } slug }
            ? RoomPublishDecision.Allow(slug)
            : RoomPublishDecision.Deny(verdict.Reason ?? "publishing is not allowed now", verdict.KeyRejected);
    }

    /// <summary>
    /// A copy of a channel an ingest node's gate admitted, relayed into an origin-only node's own hubs for its real-time
    /// viewers (<see cref="ChannelRelays.Registry"/>): no broadcast of its own, so no lease and no continuation.
    /// </summary>
    public static PublishTicket AdmitRelay(string channel) => Ticket(channel);

    /// <summary>
    /// A program's URL or library input pulled into its program host's own feed hub: no channel's broadcast, so no lease
    /// and no continuation.
    /// </summary>
    public static PublishTicket AdmitProgramFeed(string streamName) => Ticket(streamName);

    private async Task<PublishDecision> AdmitEncoderAsync(PublishRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var caller = new PublishCaller(request.RemoteEndPoint?.Address, request.Encoder);
        var verdict = await rules.DecideEncoderAsync(request.App, request.StreamKey, request.Protocol, caller, cancellationToken)
            .ConfigureAwait(false);
        if (verdict is { Allowed: true, Slug: { } allowed }) await continuations.PrepareAsync(allowed, cancellationToken).ConfigureAwait(false);
        return verdict switch
        {
            { Allowed: true, Slug: { } slug, ChannelId: { } channelId } => PublishDecision.Allow(Ticket(slug), channelId),
            { KeyRejected: true } => PublishDecision.DenyKey(verdict.Reason ?? "stream key refused"),
            _ => PublishDecision.Deny(verdict.Reason ?? "publishing is not allowed now"),
        };
    }

    /// <summary>A source whose channel lease control already took for this node: the continuation, then the ticket.</summary>
    private async Task<PublishTicket> AdmitLeasedAsync(string slug, CancellationToken cancellationToken)
    {
        await continuations.PrepareAsync(slug, cancellationToken).ConfigureAwait(false);
        return Ticket(slug);
    }

    private static PublishTicket Ticket(string name) => new(name);
}

/// <summary>What the gate answers a source that may be refused: its ticket, or why not.</summary>
internal sealed record Admission(PublishTicket? Ticket, string? Refusal)
{
    public static Admission Admitted(PublishTicket ticket) => new(ticket, null);

    public static Admission Refused(string? reason) => new(null, reason ?? "publishing is not allowed now");
}
