using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Janus;

/// <summary>A publisher VideoRoom took: its id in the room and its SDP answer, as Janus wrote it and parsed.</summary>
internal sealed record VideoRoomPublisher(long Id, string AnswerSdp, SessionDescription Answer);

/// <summary>One stream of a publisher to forward: its mid, the loopback port it goes to and the payload type it is rewritten to.</summary>
internal sealed record VideoRoomForward(string Mid, int Port, int PayloadType);

/// <summary>
/// The requests of Janus's VideoRoom plugin (<c>janus.plugin.videoroom</c>) our rooms make, on handles of the one API session
/// (<see cref="IJanusSession"/>): rooms created, publishers joined with their offer, their RTP forwarded to loopback,
/// keyframes asked for, audio moderated, subscribers joined and started. One place for their JSON and for reading their
/// replies; which room, participant or place each is for is the caller's.
/// </summary>
internal static class VideoRoomRequests
{
    public const string Plugin = "janus.plugin.videoroom";

    /// <summary>How long Janus may take to answer one request.</summary>
    public static readonly TimeSpan ReplyTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// <c>create</c>: a private, temporary room on <paramref name="janus"/> with a new random id, which it returns. Asked on a
    /// handle of its own, detached again: a room outlives the handle that created it.
    /// </summary>
    public static async Task<long> CreateRoomAsync(IJanusSession janus, string description, int publishers, string videoCodecs, int bitrate,
        CancellationToken cancellationToken)
    {
        long roomId = RandomNumberGenerator.GetInt32(1, int.MaxValue);
        long handle = await janus.AttachAsync(Plugin, cancellationToken).ConfigureAwait(false);
        try
        {
            await janus.MessageAsync(handle, new JsonObject
            {
                ["request"] = "create",
                ["admin_key"] = janus.AdminKey,
                ["room"] = roomId,
                ["description"] = description,
                ["is_private"] = true,
                ["permanent"] = false,
                ["publishers"] = publishers,
                ["videocodec"] = videoCodecs,
                ["audiocodec"] = "opus",
                ["bitrate"] = bitrate,
                // A keyframe from every publisher at least this often (seconds), beside the ones the show asks for.
                ["fir_freq"] = 10,
            }, null, ReplyTimeout, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await janus.DetachQuietlyAsync(handle).ConfigureAwait(false);
        }

        return roomId;
    }

    /// <summary>
    /// <c>joinandconfigure</c>: the publisher on <paramref name="handle"/> joins room <paramref name="roomId"/> with its WebRTC
    /// <paramref name="offer"/>; throws <see cref="JanusApiException"/> when VideoRoom did not take it or gave no usable answer.
    /// </summary>
    public static async Task<VideoRoomPublisher> JoinPublisherAsync(IJanusSession janus, long handle, long roomId, string display, string offer,
        CancellationToken cancellationToken)
    {
        var reply = await janus.MessageAsync(handle, new JsonObject
        {
            ["request"] = "joinandconfigure",
            ["room"] = roomId,
            ["ptype"] = "publisher",
            ["display"] = display,
        }, new JsonObject { ["type"] = "offer", ["sdp"] = offer }, ReplyTimeout, cancellationToken).ConfigureAwait(false);
        if ((string?)reply.Data["videoroom"] != "joined" || reply.Data["id"] is not JsonValue idValue || !idValue.TryGetValue(out long publisherId))
            throw new JanusApiException("VideoRoom did not say the publisher joined");
        if (reply.Jsep?["sdp"] is not JsonValue answerValue || !SessionDescription.TryParse((string)answerValue!, out var answer, out _))
            throw new JanusApiException("VideoRoom joined the publisher but gave no usable SDP answer");
        return new VideoRoomPublisher(publisherId, (string)answerValue!, answer);
    }

    /// <summary><c>rtp_forward</c>: the publisher's <paramref name="streams"/> as plain RTP to loopback, payload types rewritten.</summary>
    public static async Task ForwardAsync(IJanusSession janus, long handle, long roomId, long publisherId, IEnumerable<VideoRoomForward> streams,
        CancellationToken cancellationToken)
    {
        var forwards = new JsonArray();
        foreach (var stream in streams) forwards.Add(new JsonObject { ["mid"] = stream.Mid, ["port"] = stream.Port, ["pt"] = stream.PayloadType });
        await janus.MessageAsync(handle, new JsonObject
        {
            ["request"] = "rtp_forward",
            ["admin_key"] = janus.AdminKey,
            ["room"] = roomId,
            ["publisher_id"] = publisherId,
            ["host"] = "127.0.0.1",
            ["host_family"] = "ipv4",
            ["streams"] = forwards,
        }, null, ReplyTimeout, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>configure</c> with <c>keyframe</c>: Janus sends the publisher on <paramref name="handle"/> a keyframe request (PLI).</summary>
    public static async Task RequestKeyframeAsync(IJanusSession janus, long handle, CancellationToken cancellationToken) =>
        await janus.MessageAsync(handle, new JsonObject { ["request"] = "configure", ["keyframe"] = true },
            null, ReplyTimeout, cancellationToken).ConfigureAwait(false);

    /// <summary><c>moderate</c>: mutes or unmutes the publisher's stream <paramref name="mid"/> for the whole room.</summary>
    public static async Task ModerateAsync(IJanusSession janus, long handle, long roomId, long publisherId, string mid, bool muted,
        CancellationToken cancellationToken) =>
        await janus.MessageAsync(handle, new JsonObject
        {
            ["request"] = "moderate",
            ["room"] = roomId,
            ["id"] = publisherId,
            ["mid"] = mid,
            ["mute"] = muted,
        }, null, ReplyTimeout, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// <c>join</c> as a subscriber to publisher <paramref name="feed"/>: Janus's SDP offer for the subscriber to answer (VideoRoom's
    /// subscribers only offer); throws <see cref="JanusApiException"/> when it gave none.
    /// </summary>
    public static async Task<string> JoinSubscriberAsync(IJanusSession janus, long handle, long roomId, long feed,
        CancellationToken cancellationToken)
    {
        var reply = await janus.MessageAsync(handle, new JsonObject
        {
            ["request"] = "join",
            ["ptype"] = "subscriber",
            ["room"] = roomId,
            ["streams"] = new JsonArray { new JsonObject { ["feed"] = feed } },
        }, null, ReplyTimeout, cancellationToken).ConfigureAwait(false);
        if (reply.Jsep?["sdp"] is not JsonValue offer || (string?)reply.Jsep["type"] != "offer")
            throw new JanusApiException("VideoRoom gave the subscriber no offer");
        return (string)offer!;
    }

    /// <summary><c>start</c>: the subscriber's <paramref name="answer"/> to Janus's offer starts its media.</summary>
    public static async Task StartSubscriberAsync(IJanusSession janus, long handle, string answer, CancellationToken cancellationToken) =>
        await janus.MessageAsync(handle, new JsonObject { ["request"] = "start" },
            new JsonObject { ["type"] = "answer", ["sdp"] = answer }, ReplyTimeout, cancellationToken).ConfigureAwait(false);
}
