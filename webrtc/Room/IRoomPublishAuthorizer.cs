namespace Broadcast.WebRtc.Room;

/// <summary>The answer to "may this stream key publish into its channel's room now": the channel's slug, or why not.</summary>
public readonly record struct RoomPublishDecision(bool Allowed, string? Channel, string? Reason, bool KeyRejected)
{
    public static RoomPublishDecision Allow(string channel) => new(true, channel, null, false);

    public static RoomPublishDecision Deny(string reason, bool keyRejected = false) => new(false, null, reason, keyRejected);
}

/// <summary>Decides whether a stream key may publish into its channel's room (WHIP). Owned by the room, implemented by the control plane.</summary>
public interface IRoomPublishAuthorizer
{
    /// <param name="address">The publisher's address and <paramref name="userAgent"/> its User-Agent: the platform's publish callback is told them.</param>
    ValueTask<RoomPublishDecision> AuthorizeAsync(string streamKey, System.Net.IPAddress? address, string? userAgent,
        CancellationToken cancellationToken);

    /// <summary>Whether <paramref name="channel"/> names a channel (a room exists only for a channel).</summary>
    ValueTask<bool> IsChannelAsync(string channel, CancellationToken cancellationToken);
}
