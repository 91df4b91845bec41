using System.Net;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The publish policy around one RTMP session: who may publish (brute-force blocking per address, then the
/// <see cref="IPublishAuthorizer"/>), the stream in the <see cref="LiveStreamRegistry"/>, and how a publish ends: a drop
/// waits for the reconnect grace, a stop the authorizer holds waits as long as it says, anything else ends the broadcast.
/// The session does the protocol steps (replies, limits, state); this type decides.
/// </summary>
internal sealed class RtmpPublishPolicy
{
    private readonly long _connectionId;
    private readonly string _remote;
    private readonly IPAddress _address;
    private readonly IPEndPoint? _remoteEndPoint;
    private readonly RtmpOptions _options;
    private readonly LiveStreamRegistry _registry;
    private readonly IPublishAuthorizer _authorizer;
    private readonly RtmpAdmission _admission;
    private readonly ILogger _logger;
    private readonly Action _abort;
    private LiveStream? _stream;
    private int _publisherResumes;
    private string? _app;

    /// <param name="abort">Closes the session: the server ended the broadcast this session publishes.</param>
    public RtmpPublishPolicy(RtmpSessionServices services, long connectionId, string remote, IPAddress address, IPEndPoint? remoteEndPoint,
        Action abort)
    {
        _connectionId = connectionId;
        _remote = remote;
        _address = address;
        _remoteEndPoint = remoteEndPoint;
        _options = services.Options;
        _registry = services.Registry;
        _authorizer = services.Authorizer;
        _admission = services.Admission;
        _logger = services.Logger;
        _abort = abort;
        ReconnectGrace = services.ReconnectGrace;
        TakeoverSilence = services.TakeoverSilence;
        Protocol = services.Protocol;
    }

    /// <summary>How long a dropped publish waits for its encoder (<see cref="IngestOptions.ReconnectGraceSeconds"/>); zero ends it at once.</summary>
    public TimeSpan ReconnectGrace { get; }

    /// <summary>What the encoder called itself in connect (<c>flashVer</c>), told to the publish authorizer.</summary>
    public string? Encoder { get; set; }

    /// <summary>How the encoder came in: <c>rtmp</c>, or <c>rtmps</c> over TLS (<see cref="LiveStream.Protocol"/>).</summary>
    public string Protocol { get; }

    /// <summary>A connected publisher of the same key silent this long is taken over (zero: never).</summary>
    public TimeSpan TakeoverSilence { get; }

    /// <summary>The stream a new connection with this key took over from this one (this session's publisher had gone silent).</summary>
    public LiveStream? TakenOverBy { get; private set; }

    /// <summary>The stream this session publishes now, or null.</summary>
    public LiveStream? Stream => Volatile.Read(ref _stream);

    /// <summary>The authorizer's last verdict on this session (its channel names every log line after it).</summary>
    public PublishDecision Decision { get; private set; }

    /// <summary>The stream the server ended while this session published it (a scheduled event closed, an admin stopped it).</summary>
    public LiveStream? EndedByServer { get; private set; }

    /// <summary>
    /// Decides a publish of <paramref name="name"/> on <paramref name="app"/>: null when the stream is now this session's
    /// (<see cref="Stream"/>), otherwise the reason to refuse it with.
    /// </summary>
    public async ValueTask<string?> TryStartAsync(string app, string name, CancellationToken token)
    {
        if (_admission.IsPublishBlocked(_address, out int blockedFailures, out var blockLeft))
        {
            RtmpLog.PublishBlocked(_logger, _connectionId, _remote, blockedFailures, (int)Math.Ceiling(blockLeft.TotalSeconds));
            return "too many refused stream keys from this address: try again later";
        }
        var decision = await _authorizer.AuthorizeAsync(new PublishRequest(app, name, _remoteEndPoint, Encoder: Encoder), token).ConfigureAwait(false);
        if (!decision.Allowed && decision.KeyRejected && _admission.RecordFailedPublish(_address, out int failures))
            RtmpLog.AddressBlocked(_logger, _address.ToString(), failures, _options.FailedPublishWindowSeconds, _options.FailedPublishBlockSeconds);
        if (!decision.Allowed || decision.Ticket is not { } ticket || string.IsNullOrEmpty(decision.StreamName))
            return decision.Reason ?? "publish not allowed";
        Decision = decision;
        if (!_registry.TryStartPublish(ticket, TakeoverSilence, out var stream, out bool tookOver, Protocol))
        {
            if (_registry.Find(decision.StreamName) is { IsCompleted: false, IsReconnecting: false } live)
            {
                RtmpLog.PublishRefusedStillSending(_logger, _connectionId, _remote, decision.StreamName, (int)live.SilentFor.TotalMilliseconds,
                    decision.ChannelId);
                return "already publishing: another encoder is sending to this key";
            }
            return "already publishing";
        }
        stream.Tag = decision.ChannelId;
        _app = app;
        _publisherResumes = stream.Resumes;
        if (tookOver)
            RtmpLog.PublishTookOver(_logger, _connectionId, _remote, stream.Name, decision.ChannelId);
        _stream = stream;
        stream.Completed += OnStreamCompleted;
        stream.PublisherReplaced += OnPublisherReplaced;
        return null;
    }

    /// <summary>
    /// A new connection with this key took the stream over: this session's publisher had gone silent. The broadcast is
    /// the new one's now; close this connection without ending or interrupting it.
    /// </summary>
    private void OnPublisherReplaced(LiveStream stream)
    {
        if (stream.Resumes == _publisherResumes) return;
        if (!ReferenceEquals(Interlocked.CompareExchange(ref _stream, null, stream), stream)) return;
        stream.Completed -= OnStreamCompleted;
        stream.PublisherReplaced -= OnPublisherReplaced;
        TakenOverBy = stream;
        RtmpLog.PublishTakenOver(_logger, _connectionId, _remote, stream.Name, Decision.ChannelId);
        _abort();
    }

    /// <summary>
    /// The stream ended while this encoder still publishes it: the server ended the broadcast (a scheduled event
    /// closed, an admin stopped it). Close the connection so the encoder stops sending and its operator sees it.
    /// </summary>
    private void OnStreamCompleted(LiveStream stream)
    {
        stream.Completed -= OnStreamCompleted;
        if (!ReferenceEquals(Volatile.Read(ref _stream), stream)) return;
        EndedByServer = stream;
        _abort();
    }

    /// <summary>
    /// Ends the publish, if any. <paramref name="stoppedByPeer"/>: the encoder unpublished (FCUnpublish, deleteStream,
    /// closeStream), and <paramref name="sendUnpublished"/> tells it so; otherwise the connection closed.
    /// </summary>
    public async ValueTask EndAsync(bool stoppedByPeer, bool serverStopping, Action<LiveStream> sendUnpublished)
    {
        var stream = Interlocked.Exchange(ref _stream, null);
        if (stream is null) return;
        stream.Completed -= OnStreamCompleted;
        stream.PublisherReplaced -= OnPublisherReplaced;
        // Taken over by a new connection with this key while this one was silent: the broadcast goes on there.
        if (stream.Resumes != _publisherResumes) return;
        // A dropped connection (no unpublish command, not ended by the server, not a shutdown) may come back: the
        // broadcast waits for the grace period instead of ending.
        bool dropped = !stoppedByPeer && EndedByServer is null && !serverStopping;
        if (dropped && _registry.Interrupt(stream, ReconnectGrace))
        {
            RtmpLog.PublishInterrupted(_logger, _connectionId, _remote, stream.Name, (int)ReconnectGrace.TotalSeconds, Decision.ChannelId);
            EndAfterGrace(stream);
            return;
        }

        // A stop on purpose that the authorizer holds (inside a scheduled event) waits like a drop, for as long as it says.
        if (stoppedByPeer && EndedByServer is null && !serverStopping && await HoldAfterStopAsync().ConfigureAwait(false) is { } hold
            && _registry.Interrupt(stream, hold))
        {
            RtmpLog.PublishHeldAfterStop(_logger, _connectionId, _remote, stream.Name, (int)hold.TotalSeconds, Decision.ChannelId);
            sendUnpublished(stream);
            EndAfterGrace(stream);
            return;
        }
        _registry.EndPublish(stream);
        RtmpLog.PublishEnded(_logger, _connectionId, _remote, stream.Name, _app, Decision.ChannelId);
        if (stoppedByPeer) sendUnpublished(stream);
        await PublishGrace.NotifyUnpublishedAsync(_authorizer, Decision,
            ex => RtmpLog.Failed(_logger, ex, _connectionId, _remote, _app, Decision.ChannelId)).ConfigureAwait(false);
    }

    private async ValueTask<TimeSpan?> HoldAfterStopAsync()
    {
        try
        {
            return await _authorizer.HoldAfterStopAsync(Decision, CancellationToken.None).ConfigureAwait(false) is { } hold && hold > TimeSpan.Zero
                ? hold : null;
        }
        catch (Exception ex)
        {
            // Not knowing is no reason to keep a broadcast open: it ends as a stop always did.
            RtmpLog.Failed(_logger, ex, _connectionId, _remote, _app, Decision.ChannelId);
            return null;
        }
    }

    /// <summary>
    /// When the grace of a dropped publish runs out with no encoder back, the publish ends exactly as an unpublish would:
    /// logged, and the authorizer told (schedules, live state).
    /// </summary>
    private void EndAfterGrace(LiveStream stream)
    {
        var decision = Decision;
        string app = _app ?? "";
        PublishGrace.WhenExpired(stream, _publisherResumes, completed =>
        {
            RtmpLog.ReconnectGraceExpired(_logger, _connectionId, _remote, completed.Name, app, decision.ChannelId);
            _ = PublishGrace.NotifyUnpublishedAsync(_authorizer, decision,
                ex => RtmpLog.Failed(_logger, ex, _connectionId, _remote, app, decision.ChannelId));
        });
    }
}
