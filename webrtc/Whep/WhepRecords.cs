namespace Broadcast.WebRtc.Whep;

/// <summary>
/// Real-time playback on this node for /metrics: viewers now and the cap, whether Janus answers, sessions started and
/// refused at the cap, live real-time channels held warm.
/// </summary>
/// <param name="RelayFeeds">Feeds this (ingest) node sends to origin-only nodes now: one per origin node and channel.</param>
/// <param name="RelayedChannels">Channels this (origin-only) node relays from an ingest node now: one feed each, whatever its viewers.</param>
/// <param name="Pending">Of <paramref name="Viewers"/>, the sessions that have not connected yet.</param>
/// <param name="EvictedUnconnected">Sessions that had not connected, ended to make room for a newcomer when the node was full.</param>
public readonly record struct WhepStatus(int Viewers, int Cap, bool JanusUp, long SessionsStarted, long RefusedAtCap, int WarmChannels = 0,
    int RelayFeeds = 0, int RelayedChannels = 0, long EvictedUnconnected = 0, int Pending = 0);

/// <summary>A WHEP session's channel and resource id, and the playback token it was admitted with (null: the channel was public).</summary>
public readonly record struct WhepSessionGrant(string Channel, string Id, string? PlaybackToken, System.Net.IPAddress? Client = null);

/// <summary>A WHEP session that was set up: its resource id, Janus's SDP answer for the viewer and the session's entity tag.</summary>
public sealed record WhepAnswer(string Id, string Sdp, string ETag);

/// <summary>An ICE restart that was answered: the <c>application/trickle-ice-sdpfrag</c> body and the session's new entity tag.</summary>
public sealed record WhepIceRestart(string Fragment, string ETag);
