using System.Text.Json.Nodes;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Janus;

/// <summary>
/// The requests of Janus's NoSIP plugin (<c>janus.plugin.nosip</c>), the RTP bridge between a WebRTC peer and a plain RTP
/// leg of ours: <c>generate</c> takes the peer's WebRTC offer and gives NoSIP's plain RTP offer; <c>process</c> takes our
/// plain answer to it and gives Janus's WebRTC answer for the peer. The same two again on a handle already up renegotiate
/// it (an ICE restart: Janus sees the offer's new credentials). One place for their JSON.
/// </summary>
public static class NoSipBridge
{
    public const string Plugin = "janus.plugin.nosip";

    /// <summary>How long Janus may take to answer one request.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    /// <summary><c>generate</c>: NoSIP's plain RTP offer for <paramref name="webRtcOffer"/>;
    /// throws <see cref="JanusApiException"/> when there is none.</summary>
    public static async Task<SessionDescription> GenerateAsync(IJanusSession janus, long handle, string webRtcOffer,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(janus);
        var generated = await janus.MessageAsync(handle, new JsonObject { ["request"] = "generate" },
            new JsonObject { ["type"] = "offer", ["sdp"] = webRtcOffer }, ReplyTimeout, cancellationToken).ConfigureAwait(false);
        if (generated.Data["result"]?["sdp"] is not JsonValue plain || !SessionDescription.TryParse((string)plain!, out var offer, out string error))
            throw new JanusApiException("NoSIP generated no usable plain SDP");
        return offer;
    }

    /// <summary><c>process</c>: Janus's WebRTC answer for the peer, given our <paramref name="plainAnswer"/>;
    /// throws <see cref="JanusApiException"/> when there is none.</summary>
    public static async Task<string> ProcessAnswerAsync(IJanusSession janus, long handle, string plainAnswer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(janus);
        var processed = await janus.MessageAsync(handle, new JsonObject { ["request"] = "process", ["type"] = "answer", ["sdp"] = plainAnswer },
            null, ReplyTimeout, cancellationToken).ConfigureAwait(false);
        if (processed.Jsep?["sdp"] is not JsonValue answer) throw new JanusApiException("NoSIP processed our answer but gave no JSEP answer");
        return (string)answer!;
    }
}
