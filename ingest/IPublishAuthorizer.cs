using System.Net;
using Broadcast.Media;

namespace Broadcast.Ingest;

/// <summary>What a publisher asked for: <c>rtmp://host/{App}/{StreamKey}</c>.</summary>
/// <param name="Encoder">What the encoder calls itself (RTMP connect's <c>flashVer</c>), when it says.</param>
public sealed record PublishRequest(string App, string StreamKey, IPEndPoint? RemoteEndPoint, string Protocol = "rtmp", string? Encoder = null);

/// <summary>
/// The answer to a publish request. When allowed, <see cref="StreamName"/> is the public name of the
/// live stream (the channel slug) and <see cref="ChannelId"/> identifies the channel in logs —
/// the stream key itself is never logged. <see cref="Ticket"/> is the publish gate's leave to start it.
/// </summary>
public readonly record struct PublishDecision(bool Allowed, string? StreamName, string? ChannelId, string? Reason)
{
    /// <summary>Allowed by the publish gate, which gave <paramref name="ticket"/> for the stream it names.</summary>
    public static PublishDecision Allow(PublishTicket ticket, string channelId)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        return new(true, ticket.Name, channelId, null) { Ticket = ticket };
    }

    public static PublishDecision Deny(string reason) => new(false, null, null, reason);

    /// <summary>
    /// A refusal because the stream key itself is unknown or revoked (not, say, outside a schedule): ingest counts
    /// these per IP address and blocks an address that keeps guessing.
    /// </summary>
    public static PublishDecision DenyKey(string reason) => new(false, null, null, reason) { KeyRejected = true };

    /// <summary>True when the stream key was refused (see <see cref="DenyKey"/>).</summary>
    public bool KeyRejected { get; init; }

    /// <summary>The gate's leave to start the publish (<see cref="LiveStreamRegistry.TryStartPublish(PublishTicket, out LiveStream, string?)"/>); null when refused.</summary>
    public PublishTicket? Ticket { get; private init; }
}

/// <summary>
/// Decides whether a stream key may publish (RTMP, RTMPS, SRT). Owned by ingest, implemented by the publish gate over the
/// control plane: an allowed decision carries the gate's <see cref="PublishDecision.Ticket"/>.
/// </summary>
public interface IPublishAuthorizer
{
    ValueTask<PublishDecision> AuthorizeAsync(PublishRequest request, CancellationToken cancellationToken);

    /// <summary>Told when an authorised publish has ended, so schedules and live state can follow.</summary>
    ValueTask OnUnpublishedAsync(PublishDecision decision, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>
    /// Asked when a publisher stops on purpose (FCUnpublish, deleteStream, closeStream): how long the broadcast waits for
    /// it to come back, as it does for a dropped connection (slate included), instead of ending now; null ends it now.
    /// A stop inside a scheduled event is an operator changing a setting, not the end of the show.
    /// </summary>
    ValueTask<TimeSpan?> HoldAfterStopAsync(PublishDecision decision, CancellationToken cancellationToken) => ValueTask.FromResult<TimeSpan?>(null);
}
