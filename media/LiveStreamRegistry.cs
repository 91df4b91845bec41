using System.Collections.Concurrent;

namespace Broadcast.Media;

/// <summary>
/// Live streams by name. Publishing a name that is already live is refused; readers find streams here.
/// </summary>
public sealed class LiveStreamRegistry
{
    private readonly ConcurrentDictionary<string, LiveStream> _streams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<LiveStream, ITimer> _graceTimers = new();
    private readonly TimeProvider _timeProvider;

    public LiveStreamRegistry(TimeProvider? timeProvider = null) => _timeProvider = timeProvider ?? TimeProvider.System;

    /// <summary>Raised after a publisher has started a stream (tracks may not be known yet).</summary>
    public event Action<LiveStream>? Published;

    /// <summary>Raised after a stream has completed.</summary>
    public event Action<LiveStream>? Unpublished;

    public IReadOnlyCollection<LiveStream> Active => _streams.Values.ToArray();

    public LiveStream? Find(string name) => _streams.TryGetValue(name, out var s) ? s : null;

    /// <summary>
    /// The live stream named <paramref name="name"/>: at once while it is live, else when it is next published. For the
    /// jobs that follow one channel across its publishes (a compositor input, the WebRTC feed).
    /// </summary>
    public async Task<LiveStream> WaitForLiveAsync(string name, CancellationToken cancellationToken)
    {
        while (true)
        {
            var published = new TaskCompletionSource<LiveStream>(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnPublished(LiveStream stream)
            {
                if (stream.Name == name) published.TrySetResult(stream);
            }

            // Subscribed before looking, so a publish between the two is not missed.
            Published += OnPublished;
            try
            {
                if (Find(name) is { IsCompleted: false } live) return live;
                await published.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Published -= OnPublished;
            }
        }
    }

    /// <summary>Raised when a publisher dropped and the stream waits for it (<see cref="Interrupt"/>).</summary>
    public event Action<LiveStream>? Interrupted;

    /// <summary>Raised when a publisher took an interrupted stream over again: the same broadcast continues.</summary>
    public event Action<LiveStream>? Resumed;

    /// <summary>Raised when a new publisher took a stream from a silent one that was still connected (then <see cref="Resumed"/>).</summary>
    public event Action<LiveStream>? TakenOver;

    /// <summary>
    /// Starts the publish <paramref name="ticket"/> allows (the publish gate hands tickets out). A stream of that name that
    /// waits for its publisher (<see cref="LiveStream.IsReconnecting"/>) is resumed and returned (true, <see cref="Resumed"/>
    /// raised); one that still has its publisher is refused (false).
    /// </summary>
    /// <param name="protocol">How the publish comes in (<see cref="LiveStream.Protocol"/>), kept by a stream this begins.</param>
    public bool TryStartPublish(PublishTicket ticket, out LiveStream stream, string? protocol = null)
        => TryStartPublish(ticket, TimeSpan.Zero, out stream, out _, protocol);

    /// <summary>
    /// Starts a publish as <see cref="TryStartPublish(PublishTicket, out LiveStream, string?)"/> does, and with a positive
    /// <paramref name="takeoverAfterSilence"/> also takes over a stream whose publisher is still connected but has
    /// written nothing for that long (<see cref="LiveStream.TryTakeOver"/>: its old publisher is told to close, the same
    /// broadcast continues, <see cref="TakenOver"/> and <see cref="Resumed"/> raised). For encoders, whose stream key is
    /// their identity: the same key again is the same encoder coming back on a new network path. <paramref name="tookOver"/>
    /// says whether the publish took the stream from a silent publisher (for the log), and a stream this begins keeps
    /// <paramref name="protocol"/> (<see cref="LiveStream.Protocol"/>) before <see cref="Published"/> is raised.
    /// </summary>
    public bool TryStartPublish(PublishTicket ticket, TimeSpan takeoverAfterSilence, out LiveStream stream, out bool tookOver,
        string? protocol = null)
    {
        ArgumentNullException.ThrowIfNull(ticket);
        return TryStart(ticket.Name, takeoverAfterSilence, out stream, out tookOver, protocol);
    }

    private bool TryStart(string name, TimeSpan takeoverAfterSilence, out LiveStream stream, out bool tookOver, string? protocol)
    {
        tookOver = false;
        var candidate = new LiveStream(name, _timeProvider) { Protocol = protocol };
        if (!_streams.TryAdd(name, candidate))
        {
            stream = _streams.TryGetValue(name, out var existing) ? existing : candidate;
            if (ReferenceEquals(stream, candidate)) return false;
            if (stream.TryResume())
            {
                if (_graceTimers.TryRemove(stream, out var timer)) timer.Dispose();
                Resumed?.Invoke(stream);
                return true;
            }

            if (!stream.TryTakeOver(takeoverAfterSilence)) return false;
            tookOver = true;
            TakenOver?.Invoke(stream);
            Resumed?.Invoke(stream);
            return true;
        }
        stream = candidate;
        Published?.Invoke(candidate);
        return true;
    }

    /// <summary>
    /// Ends a publish. Idempotent: the publisher's own disconnect and a server-side end (a scheduled event
    /// closing) may both call it, and <see cref="Unpublished"/> is raised once.
    /// </summary>
    public void EndPublish(LiveStream stream)
    {
        if (_graceTimers.TryRemove(stream, out var timer)) timer.Dispose();
        stream.Complete();
        if (_streams.TryRemove(new KeyValuePair<string, LiveStream>(stream.Name, stream))) Unpublished?.Invoke(stream);
    }

    /// <summary>
    /// The publisher of <paramref name="stream"/> dropped. With a positive <paramref name="grace"/> the broadcast waits
    /// that long for the same stream name to publish again (<see cref="TryStartPublish(PublishTicket, out LiveStream, string?)"/> resumes it) and otherwise
    /// ends exactly as <see cref="EndPublish"/> does; with none it ends now. Returns true when the stream waits.
    /// </summary>
    public bool Interrupt(LiveStream stream, TimeSpan grace)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (grace <= TimeSpan.Zero || !stream.TryInterrupt(_timeProvider.GetUtcNow() + grace))
        {
            EndPublish(stream);
            return false;
        }
        int resumes = stream.Resumes;
        var timer = _timeProvider.CreateTimer(_ =>
        {
            if (stream.TryExpire(resumes)) EndPublish(stream);
        }, null, grace, Timeout.InfiniteTimeSpan);
        if (_graceTimers.TryRemove(stream, out var previous)) previous.Dispose();
        _graceTimers[stream] = timer;
        if (stream.IsCompleted && _graceTimers.TryRemove(stream, out var late)) late.Dispose();
        Interrupted?.Invoke(stream);
        return true;
    }
}
