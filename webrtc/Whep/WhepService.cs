using System.Net;
using Broadcast.Media;
using Broadcast.Refusals;
using Broadcast.WebRtc.Janus;
using Broadcast.WebRtc.Relay;
using Broadcast.WebRtc.Rtp;
using Broadcast.WebRtc.Sdp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// WHEP playback on this node: each viewer is one NoSIP handle on the node's Janus (the viewer's WebRTC offer in, a
/// plain RTP leg out to us) fed by its channel's <see cref="ChannelRtpSource"/>. Holds the viewer cap, the sessions by
/// resource id and by Janus handle (Janus says when a viewer's PeerConnection ended), and stops a channel's ffmpeg a
/// while after its last viewer left. On an origin-only node (<see cref="ChannelRelays"/>) a channel's hub is this node's
/// own, fed by a <see cref="ChannelRelay"/> from the ingest node that has it while the channel has viewers here.
/// </summary>
public sealed partial class WhepService : IAsyncDisposable
{
    private static readonly TimeSpan FirstPictureTimeout = TimeSpan.FromSeconds(10);
    // A viewer restarts ICE when its network changes or its TURN credential is renewed (every few minutes): one a
    // second is far more than either needs, and bounds the Janus work one session's owner can ask for.
    private static readonly TimeSpan MinRestartInterval = TimeSpan.FromSeconds(1);
    // A round over the ingest nodes is a few quick requests; this bounds one whose node does not answer.
    private static readonly TimeSpan RelayRoundTimeout = TimeSpan.FromSeconds(8);
    // A viewer connects (ICE, DTLS) within a second or so of its answer, a relayed one a little later: a session this
    // young is connecting, not holding a place, and is not ended for a newcomer.
    internal static readonly TimeSpan EvictionGrace = TimeSpan.FromSeconds(2);
    // Each eviction frees a place that a concurrent offer may take first: a few tries, then the newcomer is refused.
    private const int MaxEvictionsPerOffer = 3;
    // The connect deadline of a session answered while many others have not connected (a flood, or a crowd arriving at
    // once): still several times what a connecting viewer needs, and a flood's sessions end soon after it stops.
    internal static readonly TimeSpan PressureConnectTimeout = TimeSpan.FromSeconds(5);

    private readonly IJanusClient _janus;
    private readonly LiveStreamRegistry _registry;
    private readonly WhepOptions _options;
    private readonly ILogger<WhepService> _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, WhepSession> _sessions = new(StringComparer.Ordinal);
    // The same sessions by their NoSIP handle, changed with _sessions under _gate: what Janus's handle events name.
    private readonly JanusHandles<WhepSession> _handles = new();
    private readonly WhepChannelSources _channels;
    private readonly WhepAdmission _admission;
    private readonly ChannelRelays? _relays;
    private readonly WhepJanusWarmUp _warmUp;
    private readonly WhepAttendance _attendance = new();
    private int _feeds;
    private long _started;

    public WhepService(IJanusClient janus, LiveStreamRegistry registry, IOptions<WhepOptions> options, ILogger<WhepService> logger,
        TimeProvider? time = null)
        : this(janus, registry, options, logger, time, relays: null)
    {
    }

    /// <summary>An origin-only node's service: its channels come through <paramref name="relays"/>, into their registry.</summary>
    public WhepService(IJanusClient janus, ChannelRelays relays, IOptions<WhepOptions> options, ILogger<WhepService> logger,
        TimeProvider? time = null)
        : this(janus, relays.Registry, options, logger, time, relays)
    {
    }

    private WhepService(IJanusClient janus, LiveStreamRegistry registry, IOptions<WhepOptions> options, ILogger<WhepService> logger,
        TimeProvider? time, ChannelRelays? relays)
    {
        _relays = relays;
        _janus = janus;
        _registry = registry;
        _options = options.Value;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _admission = new WhepAdmission(_options, logger);
        _channels = new WhepChannelSources(registry, relays, _options, logger, _time);
        _warmUp = new WhepJanusWarmUp(janus, _options.ConnectTimeout, logger, _time);
        _janus.Lost += OnJanusLost;
        _janus.HandleEnded += OnHandleEnded;
        _janus.HandleUp += OnHandleUp;
    }

    public WhepOptions Options => _options;

    /// <summary>Whether this node plays WHEP at all (<c>Janus:Enabled</c>).</summary>
    public bool Enabled => _janus.Enabled;

    /// <summary>
    /// Keeps <paramref name="channel"/>'s RTP ffmpeg running and this node's Janus started until <see cref="ReleaseWarm"/>,
    /// so its first viewer finds both up and the keyframe cache full. Holding a warm channel twice holds it once.
    /// </summary>
    public void HoldWarm(string channel)
    {
        if (!_janus.Enabled || !_channels.HoldWarm(channel)) return;
        _janus.StartWithoutWaiting();
        LogWarm(channel);
        _ = _warmUp.RunAsync();
    }

    /// <summary>Ends <see cref="HoldWarm"/>: the channel's ffmpeg stops after <see cref="WhepOptions.IdleStop"/> unless viewers hold it.</summary>
    public void ReleaseWarm(string channel) => _channels.ReleaseWarm(channel);

    /// <summary>The channels held warm now: on an ingest node its live real-time channels, which origin nodes warm too.</summary>
    public IReadOnlyList<string> WarmChannels => _channels.WarmChannels;

    /// <summary>Whether <paramref name="channel"/> is held warm now.</summary>
    public bool IsWarm(string channel) => _channels.IsWarm(channel);

    /// <summary>WebRTC viewers on this node now (set up or being set up).</summary>
    public int ViewerCount => _admission.Viewers;

    /// <summary>Of <see cref="ViewerCount"/>, the sessions that have not connected yet.</summary>
    public int PendingCount => _admission.Pending;

    /// <summary>Slots held in the table of sessions per client address: zero when no session is held.</summary>
    internal int AddressSlotCount => _admission.AddressSlots;

    /// <summary>Channels this node holds a source for now (an RTP ffmpeg's socket and thread, and on an origin-only node a relay).</summary>
    public int HeldChannels => _channels.Count;

    public WhepStatus Status => new(ViewerCount, _options.MaxViewersPerNode, _janus.IsReady, Interlocked.Read(ref _started),
        _admission.RefusedAtCap,
        _channels.WarmCount, Volatile.Read(ref _feeds), _channels.RelayedCount, _admission.Evicted,
        _admission.Pending);

    /// <summary>A relay feed to an origin-only node began (<see cref="RealTimeFeedEndpoints"/>): counted for /metrics.</summary>
    internal void FeedOpened() => Interlocked.Increment(ref _feeds);

    internal void FeedClosed() => Interlocked.Decrement(ref _feeds);

    /// <summary>Answers the offer of a viewer at <paramref name="client"/> for <paramref name="channel"/>, or throws <see cref="Refusal"/>.</summary>
    /// <param name="playbackToken">The private channel's playback token the viewer was admitted with (null for a public
    /// channel): <see cref="WhepAuthorizationWatch"/> ends the session once it no longer authorises the channel.</param>
    public async Task<WhepAnswer> StartAsync(string channel, string offer, IPAddress? client, CancellationToken cancellationToken,
        string? playbackToken = null)
    {
        if (!_janus.Enabled) throw Refuse.Unavailable("real-time playback is off on this node (Janus:Enabled=false)");
        long received = _time.GetTimestamp();
        CheckOffer(offer);
        await CheckLiveAsync(channel, cancellationToken).ConfigureAwait(false);
        await AdmitAsync(channel, client).ConfigureAwait(false);
        await using var claim = new WhepOfferClaim(_channels, _admission, channel, client);
        try
        {
            if (claim.Source.Relay is { } relay) RefuseUnlessLive(channel, await relay.WaitLiveAsync(RelayRoundTimeout, cancellationToken).ConfigureAwait(false));
            var (mode, janus) = await WaitForPictureAndEngineAsync(claim, cancellationToken).ConfigureAwait(false);
            var (answer, session) = await NegotiateAsync(claim, janus, offer, mode, client, playbackToken, cancellationToken).ConfigureAwait(false);
            Keep(claim, session);
            LogStarted(channel, session.Id, session.Handle, mode.PassThrough ? "passthrough" : "re-encode", ViewerCount,
                (int)_time.GetElapsedTime(received).TotalMilliseconds);
            return new WhepAnswer(session.Id, answer, session.ETag);
        }
        catch (JanusApiException e)
        {
            LogJanusFailed(channel, e.Message);
            throw Refuse.EngineFailed($"the WebRTC engine refused the session: {e.Message}");
        }
    }

    // The offer alone: SDP that parses, with H.264 video to receive. Nothing is taken for an offer that fails here.
    private static void CheckOffer(string offer)
    {
        if (!SessionDescription.TryParse(offer, out var parsed, out string error)) throw Refuse.Malformed($"malformed SDP offer: {error}");
        if (!parsed.Media.Any(m => m.Media == "video" && m.Port != 0 && m.Direction is "recvonly" or "sendrecv" && NoSipAnswer.ChooseH264(m, 0) is not null))
            throw Refuse.Malformed("the offer has no H.264 video to receive (recvonly, packetization-mode=1)");
    }

    // The channel is live here, or (on an origin-only node) on an ingest node. An origin-only node asks the ingest nodes
    // before it gives the request anything of its own (a relay, an RTP ffmpeg's socket and thread, held for
    // Whep:IdleStop): anonymous requests for made-up or off-air channels cost one small cached probe, not a channel source each.
    private async Task CheckLiveAsync(string channel, CancellationToken cancellationToken)
    {
        if (!ChannelNames.IsValid(channel)) throw Refuse.NotFound("no such channel");
        if (_relays is null && _registry.Find(channel) is not { IsCompleted: false }) throw Refuse.NotFound($"channel {channel} is not live");
        if (_relays is not null && !_channels.IsHeld(channel))
        {
            RefuseUnlessLive(channel, await _relays.ProbeAsync(channel, cancellationToken).ConfigureAwait(false));
        }
    }

    private static void RefuseUnlessLive(string channel, RelayRound round)
    {
        switch (round)
        {
            case RelayRound.NotLive: throw Refuse.NotFound($"channel {channel} is not live");
            case RelayRound.Unreachable: throw Refuse.Unavailable("this node cannot reach the channel's ingest node now; play LL-HLS instead");
        }
    }

    // Janus (started on the first request) and the channel's first frames are awaited together.
    private async Task<(WebRtcVideoMode Mode, IJanusSession Janus)> WaitForPictureAndEngineAsync(WhepOfferClaim claim,
        CancellationToken cancellationToken)
    {
        var janusReady = _janus.GetSessionAsync(cancellationToken);
        // Observed even when the channel's picture never comes and this request gives up before Janus answers.
        _ = janusReady.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        WebRtcVideoMode mode;
        try { mode = await claim.Source.Source.WaitForModeAsync(FirstPictureTimeout, cancellationToken).ConfigureAwait(false); }
        catch (TimeoutException) { throw Refuse.Unavailable($"channel {claim.Channel} has sent no picture yet; try again"); }

        try
        {
            return (mode, await janusReady.ConfigureAwait(false));
        }
        catch (TimeoutException)
        {
            throw Refuse.Unavailable("the WebRTC engine (Janus) is not running; play LL-HLS instead");
        }
    }

    // NoSIP turns the viewer's offer into a plain RTP offer; our answer names the viewer's RTP socket; Janus's answer goes
    // to the viewer. The session is made here and kept by the caller.
    private async Task<(string Answer, WhepSession Session)> NegotiateAsync(WhepOfferClaim claim, IJanusSession janus, string offer,
        WebRtcVideoMode mode, IPAddress? client, string? playbackToken, CancellationToken cancellationToken)
    {
        long handle = await claim.AttachAsync(janus, cancellationToken).ConfigureAwait(false);
        var rtpOffer = await NoSipBridge.GenerateAsync(janus, handle, offer, cancellationToken).ConfigureAwait(false);
        var viewer = claim.BindViewer();
        if (!NoSipAnswer.TryBuild(rtpOffer, viewer.Port, mode.ProfileIdc, out string rtpAnswer, out var plan, out string error)) throw Refuse.Malformed(error);
        string answer = await NoSipBridge.ProcessAnswerAsync(janus, handle, rtpAnswer, cancellationToken).ConfigureAwait(false);
        viewer.Connect(plan);
        var session = new WhepSession(RandomTokens.New(16), claim.Channel, janus, handle, viewer, claim.Source.Source, client)
        {
            AnsweredAt = _time.GetTimestamp(), PlaybackToken = playbackToken, Offer = offer, ProfileIdc = mode.ProfileIdc, ETag = NewETag(),
        };
        return (answer, session);
    }

    // The session takes over what the claim held: listed by id and by handle, fed by its channel, and ended if its viewer
    // never connects.
    private void Keep(WhepOfferClaim claim, WhepSession session)
    {
        lock (_gate)
        {
            _sessions[session.Id] = session;
            _handles.Track(session.Janus, session.Handle, session);
        }

        claim.Source.Source.Fanout.Add(session.Viewer);
        claim.Keep();
        _ = EndIfNeverConnectedAsync(session);
        Interlocked.Increment(ref _started);
    }

    /// <summary>
    /// Restarts the ICE of session <paramref name="id"/> with the viewer's new credentials and candidates
    /// (RFC 9725 §4.3.2): the session's offer with them goes to Janus as a renegotiation, NoSIP keeps its RTP leg
    /// (our answer to its plain offer is the same), and Janus's answer carries its own new credentials and candidates.
    /// The media never stops: the viewer keeps its old path until the new one is checked. Throws
    /// <see cref="Refusal"/>: 404 for no such session, 429 for a second restart within a second, 409 while one is
    /// under way, 502 when Janus refuses.
    /// </summary>
    public async Task<WhepIceRestart> RestartIceAsync(string channel, string id, TrickleIceFragment fragment, CancellationToken cancellationToken)
    {
        WhepSession? session;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(id, out session) || session.Channel != channel) throw Refuse.NotFound("no such WHEP session");
            if (session.RestartedAt != 0 && _time.GetElapsedTime(session.RestartedAt) < MinRestartInterval)
                throw Refuse.TooMany("this session restarted its ICE less than a second ago");
            if (session.Restarting) throw Refuse.Conflict("an ICE restart of this session is under way");
            session.Restarting = true;
        }

        try
        {
            string offer = fragment.ApplyTo(session.Offer);
            var rtpOffer = await NoSipBridge.GenerateAsync(session.Janus, session.Handle, offer, cancellationToken).ConfigureAwait(false);
            if (!NoSipAnswer.TryBuild(rtpOffer, session.Viewer.Port, session.ProfileIdc, out string rtpAnswer, out _, out string error)) throw new JanusApiException(error);
            string answer = await NoSipBridge.ProcessAnswerAsync(session.Janus, session.Handle, rtpAnswer, cancellationToken).ConfigureAwait(false);
            if (TrickleIceFragment.AnswerOf(answer) is not { } answerFragment) throw new JanusApiException("the restart's answer has no ICE credentials");
            string etag = NewETag();
            lock (_gate)
            {
                session.Offer = offer;
                session.ETag = etag;
                session.RestartedAt = _time.GetTimestamp();
            }

            LogIceRestarted(channel, id, fragment.Candidates.Count);
            return new WhepIceRestart(answerFragment, etag);
        }
        catch (Exception e) when (e is JanusApiException or HttpRequestException)
        {
            // Janus refused, did not answer, or is gone (its handle ends the session when it comes back).
            LogJanusFailed(channel, e.Message);
            throw Refuse.EngineFailed($"the WebRTC engine refused the ICE restart: {e.Message}");
        }
        finally
        {
            lock (_gate) session.Restarting = false;
        }
    }

    /// <summary>The entity tag of session <paramref name="id"/> of <paramref name="channel"/> now, or null when there is no such session.</summary>
    public string? ETagOf(string channel, string id)
    {
        lock (_gate) return _sessions.TryGetValue(id, out var session) && session.Channel == channel ? session.ETag : null;
    }

    /// <summary>A strong entity tag (RFC 9110 §8.8.3) for a session's ICE state: new at each restart.</summary>
    private static string NewETag() => "\"" + RandomTokens.New(12) + "\"";

    /// <summary>Ends the session <paramref name="id"/> of <paramref name="channel"/>; false when there is none.</summary>
    public Task<bool> EndAsync(string channel, string id) => EndAsync(channel, id, "ended by the viewer");

    /// <summary>Ends the session <paramref name="id"/> of <paramref name="channel"/> for <paramref name="reason"/> (logged); false when there is none.</summary>
    public async Task<bool> EndAsync(string channel, string id, string reason)
    {
        WhepSession? session;
        lock (_gate)
        {
            if (!_sessions.TryGetValue(id, out session) || session.Channel != channel) return false;
            _sessions.Remove(id);
            _handles.Forget(session.Janus, session.Handle);
        }

        await CloseAsync(session, reason, detach: true).ConfigureAwait(false);
        return true;
    }

    /// <summary>The sessions now, each with the playback token it was admitted with: what <see cref="WhepAuthorizationWatch"/> checks.</summary>
    public IReadOnlyList<WhepSessionGrant> Grants()
    {
        lock (_gate) return [.. _sessions.Values.Select(GrantOf)];
    }

    /// <summary>The viewers of the bucket being read, for the audience sampler (once a bucket): see <see cref="WhepAttendance"/>.</summary>
    public IReadOnlyList<WhepSessionGrant> Attendance()
    {
        List<WhepSessionGrant> connected;
        lock (_gate) connected = [.. _sessions.Values.Where(s => s.Connected).Select(GrantOf)];
        return _attendance.Read(connected);
    }

    private static WhepSessionGrant GrantOf(WhepSession session) => new(session.Channel, session.Id, session.PlaybackToken, session.Client);

    private async Task CloseAsync(WhepSession session, string reason, bool detach)
    {
        // Removed from the tables before this: its Connected cannot change any more.
        bool pending;
        lock (_gate) pending = !session.Connected;
        if (!pending) _attendance.Ended(GrantOf(session));
        session.Source.Fanout.Remove(session.Viewer);
        long dropped = session.Viewer.Dropped;
        session.Viewer.Dispose();
        if (detach) await session.Janus.DetachQuietlyAsync(session.Handle).ConfigureAwait(false);
        _channels.Release(session.Channel);
        _admission.Leave(session.Client, pending);
        LogEnded(session.Channel, session.Id, reason, dropped, ViewerCount);
    }

    private void OnHandleUp(IJanusSession janus, long handle)
    {
        lock (_gate)
        {
            if (_handles.Find(janus, handle) is { } session)
            {
                // What the viewer was sent before its DTLS was up is lost: the picture since the last keyframe goes again.
                if (!session.Connected)
                {
                    session.Source.Fanout.Replay(session.Viewer);
                    _admission.Connected(session.Client);
                    LogConnected(session.Channel, session.Id, session.Source.Fanout.KeyframePackets,
                        (int)_time.GetElapsedTime(session.AnsweredAt).TotalMilliseconds);
                }

                session.Connected = true;
            }
        }
    }

    /// <summary>Janus ended a viewer's PeerConnection (the viewer closed it, ICE or DTLS failed): the session ends here too.</summary>
    private void OnHandleEnded(IJanusSession janus, long handle) => _ = OnHandleEndedAsync(janus, handle);

    private async Task OnHandleEndedAsync(IJanusSession janus, long handle)
    {
        WhepSession? session;
        lock (_gate)
        {
            session = _handles.Find(janus, handle);
            if (session is null || !_sessions.Remove(session.Id)) return;
            _handles.Forget(janus, handle);
        }

        await CloseAsync(session, "the viewer's PeerConnection ended", detach: true).ConfigureAwait(false);
    }

    private void OnJanusLost(IJanusSession janus)
    {
        List<WhepSession> lost;
        lock (_gate) lost = [.. _handles.ForgetAllOf(janus).Where(s => _sessions.Remove(s.Id))];

        foreach (var session in lost) _ = CloseAsync(session, "Janus stopped", detach: false);
    }

    public async ValueTask DisposeAsync()
    {
        _janus.Lost -= OnJanusLost;
        _janus.HandleEnded -= OnHandleEnded;
        _janus.HandleUp -= OnHandleUp;
        List<WhepSession> sessions;
        lock (_gate)
        {
            sessions = [.. _sessions.Values];
            _sessions.Clear();
            foreach (var session in sessions) _handles.Forget(session.Janus, session.Handle);
        }

        foreach (var session in sessions)
        {
            session.Viewer.Dispose();
            await session.Janus.DetachQuietlyAsync(session.Handle).ConfigureAwait(false);
        }

        await _channels.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 8201, Level = LogLevel.Information,
        Message = "WHEP {Channel}: session {SessionId} started (Janus handle {Handle}, {Mode}), answered {AnswerMs} ms after its offer; " +
            "{Viewers} real-time viewers on this node")]
    private partial void LogStarted(string channel, string sessionId, long handle, string mode, int viewers, int answerMs);

    [LoggerMessage(EventId = 8202, Level = LogLevel.Information,
        Message = "WHEP {Channel}: session {SessionId} ended ({Reason}; {Dropped} packets dropped for it); {Viewers} real-time viewers on this node")]
    private partial void LogEnded(string channel, string sessionId, string reason, long dropped, int viewers);

    [LoggerMessage(EventId = 8204, Level = LogLevel.Warning, Message = "WHEP {Channel}: Janus refused the session: {Reason}")]
    private partial void LogJanusFailed(string channel, string reason);

    [LoggerMessage(EventId = 8207, Level = LogLevel.Information,
        Message = "WHEP {Channel}: session {SessionId} connected {ConnectMs} ms after its answer (ICE, DTLS); " +
            "it is sent the {Packets} video packets since the latest keyframe first")]
    private partial void LogConnected(string channel, string sessionId, int packets, int connectMs);

    [LoggerMessage(EventId = 8213, Level = LogLevel.Information,
        Message = "WHEP {Channel}: session {SessionId} restarted its ICE ({Candidates} candidates)")]
    private partial void LogIceRestarted(string channel, string sessionId, int candidates);

    [LoggerMessage(EventId = 8209, Level = LogLevel.Information,
        Message = "WHEP {Channel}: real-time channel live; its RTP ffmpeg and Janus are started before its first viewer")]
    private partial void LogWarm(string channel);
}
