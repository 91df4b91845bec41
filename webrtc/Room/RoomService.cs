using System.Globalization;
using System.Net;
using Broadcast.Network;
using Broadcast.Refusals;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Sdp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Room;

/// <summary>
/// A participant that joined: its public id (in the room's lists, what hosts act on), its token (known to the participant
/// alone: its resource URL and its bearer for the room's list and subscriptions) and Janus's SDP answer for it.
/// </summary>
public sealed record RoomAnswer(string Id, string Token, string Sdp);

/// <summary>A participant of a room, for the API and the dashboard; <paramref name="SharedBy"/> is the id of the participant whose screen share it
/// is.</summary>
public sealed record RoomParticipantInfo(string Id, string Display, string Source, bool IsScreen, string VideoCodec, bool HasAudio, bool Connected,
    bool Muted, DateTimeOffset JoinedAt,
    string? SharedBy = null);

/// <summary>A subscription that was set up: its id and Janus's SDP offer for the subscriber to answer.</summary>
public sealed record RoomOffer(string Id, string Sdp);

/// <summary>
/// The live rooms of this node: one Janus VideoRoom per channel, created on its first participant. Every participant is
/// a VideoRoom publisher handle our server holds (browsers and WHIP encoders only ever talk to us), its media forwarded
/// as plain RTP to the place the channel's show (<see cref="IRoomShow"/>) gives it. A participant leaves when its
/// publisher ends the session (WHIP DELETE), when a host removes it, when its PeerConnection ends (Janus's hangup), when
/// it never connects, or when Janus stops (the show keeps its places as placeholders meanwhile, then lets them go).
/// </summary>
public sealed partial class RoomService : IAsyncDisposable
{
    private readonly IJanusClient _janus;
    private readonly IRoomShow _show;
    private readonly RoomOptions _options;
    private readonly ILogger<RoomService> _logger;
    private readonly TimeProvider _time;
    private readonly RoomRoster _roster;
    private readonly RoomSubscriptions _subscriptions = new();
    private readonly RoomRejoins _rejoins;

    public RoomService(IJanusClient janus, IRoomShow show, IOptions<RoomOptions> options, ILogger<RoomService> logger, TimeProvider? time = null)
    {
        _janus = janus;
        _show = show;
        _options = options.Value;
        _roster = new RoomRoster(_options);
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _rejoins = new RoomRejoins(_time);
        _janus.Lost += OnJanusLost;
        _janus.HandleEnded += OnHandleEnded;
        _janus.HandleUp += OnHandleUp;
    }

    public RoomOptions Options => _options;

    /// <summary>The participants of <paramref name="channel"/>'s room now, in the order they joined.</summary>
    public IReadOnlyList<RoomParticipantInfo> Participants(string channel)
    {
        return [.. _roster.In(channel).Select(p => new RoomParticipantInfo(p.Id, p.Display, p.Source, p.IsScreen, p.VideoCodec,
            p.AudioMid is not null,
            p.Connected, p.Muted, p.JoinedAt, p.Owner))];
    }

    /// <summary>
    /// Joins a publisher to <paramref name="channel"/>'s room with its WebRTC <paramref name="offer"/> and returns Janus's
    /// answer, its media forwarded into the channel's show; or throws <see cref="Refusal"/>.
    /// </summary>
    /// <param name="source">Who publishes, for the list and the log: <c>whip</c>, <c>studio</c>, <c>guest</c>.</param>
    public async Task<RoomAnswer> JoinAsync(string channel, string display, string source, bool isScreen, string offer, IPAddress? client,
        CancellationToken cancellationToken)
        => await JoinAsync(channel, display, source, isScreen, offer, client, rejoin: null, owner: null, cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A participant that Janus's stop took out of the room comes back with its token (within <see cref="RoomOptions.EmptyHold"/>):
    /// the same id, name and token. Throws <see cref="Refusal"/> (401 when the token is no such participant).
    /// </summary>
    public async Task<RoomAnswer> RejoinAsync(string channel, string token, string offer, IPAddress? client, CancellationToken cancellationToken)
    {
        var rejoin = _rejoins.Find(channel, token) ?? throw Refuse.UnknownCredential("no participant of this room to rejoin with that token");

        // The token stays good until a rejoin succeeds: an attempt that fails (Janus still starting) may be made again.
        var answer = await JoinAsync(channel, rejoin.Display, rejoin.Source, rejoin.IsScreen, offer, client, rejoin, rejoin.Owner,
            cancellationToken).ConfigureAwait(false);
        _rejoins.Used(token);
        return answer;
    }

    /// <summary>
    /// The participant holding <paramref name="ownerToken"/> shares a screen: a participant of its own (its own token, so it
    /// rejoins by itself after a Janus restart) that belongs to the sharer and leaves with it, one per sharer. Throws
    /// <see cref="Refusal"/>: 403 when the token is no participant of the room, 409 when it already shares one.
    /// </summary>
    public async Task<RoomAnswer> ShareScreenAsync(string channel, string ownerToken, string offer, IPAddress? client,
        CancellationToken cancellationToken)
    {
        var owner = _roster.FindByToken(channel, ownerToken) ?? throw Refuse.Forbidden("only a participant of the room shares a screen into it");
        if (owner.IsScreen) throw Refuse.Malformed("a screen share cannot share another screen");
        return await JoinAsync(channel, $"{owner.Display} (screen)", owner.Source, isScreen: true, offer, client, rejoin: null, owner.Id,
            cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task<RoomAnswer> JoinAsync(string channel, string display, string source, bool isScreen, string offer, IPAddress? client,
        RoomRejoin? rejoin,
        string? owner, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(channel);
        if (!_janus.Enabled) throw Refuse.Unavailable("the live room is off on this node (Janus:Enabled=false)");
        if (!SessionDescription.TryParse(offer, out var parsed, out string error)) throw Refuse.Malformed($"malformed SDP offer: {error}");
        if (!parsed.Media.Any(m => m.Media == "video" && m.Port != 0 && m.Direction is "sendonly" or "sendrecv"))
            throw Refuse.Malformed("the offer sends no video (a room participant sends a camera or a screen)");
        display = Display(display);

        var room = _roster.Open(channel);
        await room.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        RoomParticipant? participant = null;
        IJanusSession? janus = null;
        long handle = 0;
        bool joined = false;
        try
        {
            if (room.Participants.Count >= _options.MaxParticipants)
                throw Refuse.Conflict($"the room of {channel} is full ({_options.MaxParticipants} participants)");
            if (owner is not null && rejoin is null)
            {
                // Checked under the room's gate: the sharer may have left, or started another share, meanwhile.
                if (!room.Participants.Any(p => p.Id == owner)) throw Refuse.Forbidden("only a participant of the room shares a screen into it");
                if (room.Participants.Any(p => p.Owner == owner)) throw new Refusal(RefusalKind.Conflict,
                    "this participant already shares a screen: stop it first");
            }

            try
            {
                janus = await _janus.GetSessionAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw Refuse.Unavailable("the WebRTC engine (Janus) is not running; try again shortly");
            }

            long roomId = await room.EnsureOnAsync(janus, cancellationToken).ConfigureAwait(false);
            handle = await janus.AttachAsync(VideoRoomRequests.Plugin, cancellationToken).ConfigureAwait(false);
            var publisher = await VideoRoomRequests.JoinPublisherAsync(janus, handle, roomId, display, offer,
                cancellationToken).ConfigureAwait(false);
            var answer = publisher.Answer;
            var video = answer.Media.FirstOrDefault(m => m.Media == "video" && m.Port != 0 && m.RtpMaps().Any());
            string? codec = video?.RtpMaps().First().Encoding.ToUpperInvariant();
            if (video?.Mid is null || codec is null)
                throw Refuse.Malformed($"none of the offered video codecs is taken here ({_options.VideoCodecs})");
            var audio = answer.Media.FirstOrDefault(m => m.Media == "audio" && m.Port != 0 && m.RtpMaps().Any(r => r.Encoding.Equals("opus",
                StringComparison.OrdinalIgnoreCase)));

            participant = new RoomParticipant(rejoin?.Id ?? NewId(), rejoin?.Token ?? NewId(), channel, display, source, isScreen, janus, roomId,
                handle,
                publisher.Id, codec, video.Mid, audio?.Mid, client, _time.GetUtcNow(), owner);
            _roster.Add(room, participant);
            IReadOnlyDictionary<string, RoomRtpTarget> targets;
            try
            {
                targets = await _show.ShowAsync(channel, Feeds(room), cancellationToken).ConfigureAwait(false);
            }
            catch (RoomShowRefusedException e)
            {
                throw Refuse.Conflict(e.Message);
            }

            if (!targets.TryGetValue(participant.Id, out var target)) throw Refuse.Conflict("the show has no place for another participant");
            await ForwardAsync(participant, target, cancellationToken).ConfigureAwait(false);
            joined = true;
            _ = LeaveIfNeverConnectedAsync(participant);
            LogJoined(channel, participant.Id, display, source, codec, audio is not null, room.Participants.Count);
            return new RoomAnswer(participant.Id, participant.Token, publisher.AnswerSdp);
        }
        catch (JanusApiException e)
        {
            LogJanusFailed(channel, e.Message);
            throw Refuse.EngineFailed($"the WebRTC engine refused the participant: {e.Message}");
        }
        finally
        {
            if (!joined)
            {
                if (participant is not null)
                {
                    _roster.Remove(room, participant);
                    await ShowQuietlyAsync(channel, room).ConfigureAwait(false);
                }

                if (janus is not null && handle != 0) await janus.DetachQuietlyAsync(handle).ConfigureAwait(false);
            }

            room.Gate.Release();
        }
    }

    /// <summary>A host removes participant <paramref name="id"/> from <paramref name="channel"/>'s room; false when there is none.</summary>
    public Task<bool> RemoveAsync(string channel, string id, string reason) => RemoveAsync(channel, p => p.Id == id, reason);

    /// <summary>The participant holding <paramref name="token"/> leaves (its resource's DELETE); false when there is none.</summary>
    public Task<bool> LeaveAsync(string channel, string token, string reason) => RemoveAsync(channel, p => BearerSecret.Same(p.Token, token), reason);

    private async Task<bool> RemoveAsync(string channel, Func<RoomParticipant, bool> which, string reason, bool detach = true)
    {
        if (_roster.Find(channel) is not { } room) return false;
        await room.Gate.WaitAsync().ConfigureAwait(false);
        RoomParticipant? participant;
        try
        {
            participant = room.Participants.FirstOrDefault(which);
            if (participant is null) return false;
            _roster.Remove(room, participant);
            await ShowQuietlyAsync(channel, room).ConfigureAwait(false);
        }
        finally
        {
            room.Gate.Release();
        }

        await _subscriptions.EndAllOfAsync(participant.Id).ConfigureAwait(false);
        if (detach) await participant.Janus.DetachQuietlyAsync(participant.Handle).ConfigureAwait(false);
        LogLeft(channel, participant.Id, participant.Display, reason, room.Participants.Count);
        // A participant's screen share leaves with it (a removed guest's share must not stay on air).
        await RemoveAsync(channel, p => p.Owner == participant.Id, $"its sharer {participant.Id} left", detach).ConfigureAwait(false);
        return true;
    }

    /// <summary>The public id of the participant holding <paramref name="token"/> in <paramref name="channel"/>'s room now, or null.</summary>
    public string? ParticipantOf(string channel, string token) => token.Length == 0 ? null : _roster.FindByToken(channel, token)?.Id;

    /// <summary>The address a participant joined from (for a ban), or null.</summary>
    public IPAddress? AddressOf(string channel, string id) => _roster.FindById(channel, id)?.Client;

    /// <summary>
    /// The participant holding <paramref name="ownerToken"/> subscribes to <paramref name="targetId"/>'s media: a VideoRoom subscriber handle
    /// whose offer the participant's browser answers (<see cref="AnswerAsync"/>). Janus's subscribers only offer.
    /// </summary>
    public async Task<RoomOffer> SubscribeAsync(string channel, string ownerToken, string targetId, CancellationToken cancellationToken)
    {
        var owner = _roster.FindByToken(channel, ownerToken) ?? throw Refuse.Forbidden("only a participant of the room sees the others");
        var target = _roster.FindById(channel, targetId) ?? throw Refuse.NotFound("no such participant in the room");
        if (owner.Id == target.Id) throw Refuse.Malformed("a participant sees itself in its own preview");
        try
        {
            var offer = await _subscriptions.OpenAsync(channel, owner.Id, target.Id, target.Janus, target.JanusRoomId, target.PublisherId,
                _options.MaxParticipants * 2, cancellationToken).ConfigureAwait(false);
            LogSubscribed(channel, owner.Id, target.Id);
            return offer;
        }
        catch (JanusApiException e)
        {
            LogJanusFailed(channel, e.Message);
            throw Refuse.EngineFailed($"the WebRTC engine refused the subscription: {e.Message}");
        }
    }

    /// <summary>The subscriber's answer to Janus's offer starts the media; false when the subscription is not the owner's.</summary>
    public Task<bool> AnswerAsync(string channel, string ownerToken, string subscriptionId, string answer, CancellationToken cancellationToken)
        => _subscriptions.AnswerAsync(channel, ParticipantOf(channel, ownerToken), subscriptionId, answer, cancellationToken);

    /// <summary>Ends a subscription of the participant holding <paramref name="ownerToken"/>; false when there is none.</summary>
    public Task<bool> UnsubscribeAsync(string channel, string ownerToken, string subscriptionId)
        => _subscriptions.EndAsync(channel, ParticipantOf(channel, ownerToken), subscriptionId);

    /// <summary>A host mutes or unmutes a participant's sound for everyone (Janus's moderation: the room and the show);
    /// false when there is none.</summary>
    public async Task<bool> MuteAsync(string channel, string id, bool muted, CancellationToken cancellationToken)
    {
        if (_roster.FindById(channel, id) is not { } participant) return false;
        if (participant.AudioMid is { } mid)
        {
            try
            {
                await VideoRoomRequests.ModerateAsync(participant.Janus, participant.Handle, participant.JanusRoomId, participant.PublisherId, mid,
                    muted,
                    cancellationToken).ConfigureAwait(false);
            }
            catch (JanusApiException e)
            {
                throw Refuse.EngineFailed($"the WebRTC engine refused to mute: {e.Message}");
            }
        }

        participant.Muted = muted;
        LogMuted(channel, id, muted);
        return true;
    }

    private async Task ShowQuietlyAsync(string channel, ChannelRoom room)
    {
        try
        {
            await _show.ShowAsync(channel, Feeds(room), CancellationToken.None).ConfigureAwait(false);
        }
        catch (RoomShowRefusedException e)
        {
            LogShowRefused(channel, e.Message);
        }
    }

    private static List<RoomFeed> Feeds(ChannelRoom room) =>
        [.. room.Participants.Select(p => new RoomFeed(p.Id, p.Display, p.VideoCodec, p.AudioMid is not null, p.IsScreen,
            () => _ = RequestKeyframeAsync(p)))];

    /// <summary>Forwards the participant's video (and audio) RTP to its place in the show, payload types rewritten to the show's.</summary>
    private static async Task ForwardAsync(RoomParticipant participant, RoomRtpTarget target, CancellationToken cancellationToken)
    {
        List<VideoRoomForward> streams = [new(participant.VideoMid, target.VideoPort, target.VideoPayloadType)];
        if (participant.AudioMid is { } audioMid) streams.Add(new(audioMid, target.AudioPort, target.AudioPayloadType));
        await VideoRoomRequests.ForwardAsync(participant.Janus, participant.Handle, participant.JanusRoomId, participant.PublisherId, streams,
            cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>Asks Janus to send the participant a keyframe request (PLI): the show's decoder started mid-stream.</summary>
    private static async Task RequestKeyframeAsync(RoomParticipant participant)
    {
        try
        {
            using var timeout = new CancellationTokenSource(VideoRoomRequests.ReplyTimeout);
            await VideoRoomRequests.RequestKeyframeAsync(participant.Janus, participant.Handle, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is JanusApiException or HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
        {
            // Not connected yet, or gone: the next request (or the room's regular one) brings the keyframe.
        }
    }

    private void OnHandleUp(IJanusSession janus, long handle)
    {
        if (_roster.FindByHandle(janus, handle) is { } participant) participant.Connected = true;
    }

    private void OnHandleEnded(IJanusSession janus, long handle) => _ = OnHandleEndedAsync(janus, handle);

    private async Task OnHandleEndedAsync(IJanusSession janus, long handle)
    {
        if (_subscriptions.Forget(janus, handle)) return;
        if (_roster.FindByHandle(janus, handle) is { } participant)
            await RemoveAsync(participant.Channel, p => p == participant, "its PeerConnection ended").ConfigureAwait(false);
    }

    private async Task LeaveIfNeverConnectedAsync(RoomParticipant participant)
    {
        await Task.Delay(_options.ConnectTimeout, _time).ConfigureAwait(false);
        if (!participant.Connected)
            await RemoveAsync(participant.Channel, p => p == participant,
                $"no WebRTC connection within {_options.ConnectTimeout.TotalSeconds:0} s").ConfigureAwait(false);
    }

    private void OnJanusLost(IJanusSession janus)
    {
        var lost = _roster.LostWith(janus);
        _subscriptions.ForgetAll(janus);

        // Each may come back with its token while the show holds its place (their pages rejoin by themselves).
        foreach (var participant in lost)
        {
            _rejoins.Keep(new RoomRejoin(participant.Id, participant.Token, participant.Channel, participant.Display, participant.Source,
                participant.IsScreen, _time.GetUtcNow() + _options.EmptyHold, participant.Owner));
        }

        foreach (var participant in lost) _ = RemoveAsync(participant.Channel, p => p == participant, "Janus stopped", detach: false);
    }

    /// <summary>A display name fit for the room list and a name card: trimmed, no control characters, at most 64 characters.</summary>
    internal static string Display(string? display)
    {
        var text = new string((display ?? "").Where(c => !char.IsControl(c)).ToArray()).Trim();
        if (text.Length > 64) text = text[..64];
        return text.Length == 0 ? "Guest" : text;
    }

    private static string NewId() => RandomTokens.New(16);

    public async ValueTask DisposeAsync()
    {
        _janus.Lost -= OnJanusLost;
        _janus.HandleEnded -= OnHandleEnded;
        _janus.HandleUp -= OnHandleUp;
        foreach (var participant in _roster.All()) await participant.Janus.DetachQuietlyAsync(participant.Handle).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 8301, Level = LogLevel.Information,
        Message = "Room {Channel}: {ParticipantId} ({Display}, {Source}) joined with {Codec}, audio {HasAudio}; {Count} participants")]
    private partial void LogJoined(string channel, string participantId, string display, string source, string codec, bool hasAudio, int count);

    [LoggerMessage(EventId = 8302, Level = LogLevel.Information,
        Message = "Room {Channel}: {ParticipantId} ({Display}) left ({Reason}); {Count} participants")]
    private partial void LogLeft(string channel, string participantId, string display, string reason, int count);

    [LoggerMessage(EventId = 8303, Level = LogLevel.Warning, Message = "Room {Channel}: Janus refused a participant: {Reason}")]
    private partial void LogJanusFailed(string channel, string reason);

    [LoggerMessage(EventId = 8305, Level = LogLevel.Debug, Message = "Room {Channel}: {OwnerId} subscribed to {TargetId}")]
    private partial void LogSubscribed(string channel, string ownerId, string targetId);

    [LoggerMessage(EventId = 8306, Level = LogLevel.Information, Message = "Room {Channel}: {ParticipantId} muted {Muted} by a host")]
    private partial void LogMuted(string channel, string participantId, bool muted);

    [LoggerMessage(EventId = 8304, Level = LogLevel.Warning, Message = "Room {Channel}: the show refused the room's membership: {Reason}")]
    private partial void LogShowRefused(string channel, string reason);
}
