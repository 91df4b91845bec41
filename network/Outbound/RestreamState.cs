namespace Broadcast.Network.Outbound;

/// <summary>
/// Where one restream destination's outbound session is. Declared here, beside the outbound URL policy, because the two
/// sides that share it know nothing of each other: ingest's restream supervisor produces it, control's API and dashboard
/// show it.
/// </summary>
public enum RestreamPhase
{
    /// <summary>Enabled, but the channel is not live.</summary>
    Idle,

    /// <summary>Connecting, handshaking or waiting for NetStream.Publish.Start.</summary>
    Connecting,

    /// <summary>Publishing: frames flow to the destination.</summary>
    Live,

    /// <summary>The last attempt failed; the next one is at <see cref="RestreamState.NextAttemptAt"/>.</summary>
    Retrying,

    /// <summary>Disabled, removed, or the channel's stream ended.</summary>
    Stopped,
}

/// <summary>A snapshot of one destination's session, safe to hand to the API.</summary>
/// <param name="BytesSent">Bytes written to the destination during this live broadcast, across reconnects.</param>
/// <param name="ConnectedSince">When the current connection went live (null unless <see cref="RestreamPhase.Live"/>).</param>
/// <param name="LastError">The reason the last connection failed or ended, in plain words.</param>
/// <param name="Attempts">Failed attempts since the last time the destination was live.</param>
/// <param name="VideoTracks">Video tracks going to a multitrack destination beside the default one (the encoder's rungs).</param>
/// <param name="AudioTracks">Audio tracks going to a multitrack destination beside the default one (the encoder's other languages).</param>
public sealed record RestreamState(
    string DestinationId,
    RestreamPhase Phase,
    long BytesSent = 0,
    DateTimeOffset? ConnectedSince = null,
    string? LastError = null,
    DateTimeOffset? LastErrorAt = null,
    DateTimeOffset? NextAttemptAt = null,
    int Attempts = 0,
    long FramesDropped = 0,
    int VideoTracks = 0,
    int AudioTracks = 0)
{
    public static RestreamState IdleFor(string destinationId) => new(destinationId, RestreamPhase.Idle);
}
