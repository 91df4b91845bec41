using System.Net;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Rtp;

namespace Broadcast.WebRtc.Whep;

/// <summary>One WHEP viewer: its resource id and channel, its NoSIP handle on Janus, the RTP leg that feeds it and its source.</summary>
internal sealed record WhepSession(string Id, string Channel, IJanusSession Janus, long Handle, RtpViewer Viewer, ChannelRtpSource Source,
    IPAddress? Client)
{
    /// <summary>When the viewer was answered (<see cref="TimeProvider.GetTimestamp"/>): its connection time is measured from here.</summary>
    public long AnsweredAt { get; init; }

    /// <summary>The playback token the viewer was admitted with; null for a channel that was public then.</summary>
    public string? PlaybackToken { get; init; }

    /// <summary>Janus said <c>webrtcup</c>: the viewer's PeerConnection works (set under the service's lock).</summary>
    public bool Connected { get; set; }

    /// <summary>The viewer's last full offer: the base of its next ICE restart's offer (set under the service's lock).</summary>
    public required string Offer { get; set; }

    /// <summary>The H.264 profile our plain answer to NoSIP named: the same again at a restart.</summary>
    public required int ProfileIdc { get; init; }

    /// <summary>The session's entity tag (RFC 9725 §4.3.1), new at each ICE restart.</summary>
    public required string ETag { get; set; }

    /// <summary>An ICE restart of it is with Janus now: one at a time (set under the service's lock).</summary>
    public bool Restarting { get; set; }

    /// <summary>When its ICE last restarted (<see cref="TimeProvider.GetTimestamp"/>), 0 before the first.</summary>
    public long RestartedAt { get; set; }
}
