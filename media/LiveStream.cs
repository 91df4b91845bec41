using System.Collections.Concurrent;
using System.Threading.Channels;
using Broadcast.Media.Codecs.Captions;

namespace Broadcast.Media;

/// <summary>
/// The fan-out hub of one live broadcast: the publisher writes frames, any number of readers
/// (packager, transcoder, restream, preview) read them, each through its own bounded queue.
/// A reader that falls behind loses frames up to the next video keyframe; the publisher never waits.
/// </summary>
public sealed class LiveStream
{
    /// <summary>Upper bounds on the cached group of pictures handed to a reader that joins mid-stream.</summary>
    private const int GopCacheMaxFrames = 2048;
    private const long GopCacheMaxBytes = 64L * 1024 * 1024;

    private readonly object _gate = new();
    private readonly List<LiveStreamReader> _readers = new();
    private readonly List<MediaFrame> _gopCache = new();
    private long _gopCacheBytes;
    private VideoTrack? _video;
    private AudioTrack? _audio;
    private IReadOnlyDictionary<string, object?> _metadata = new Dictionary<string, object?>();
    private bool _completed;

    // Reconnect continuity (see TryInterrupt/TryResume); 90 kHz media times.
    private bool _reconnecting;
    private DateTimeOffset? _reconnectDeadline;
    private DateTimeOffset _interruptedAt;
    private int _epoch;
    private bool _joinPending;
    private long _joinGap;
    private long _joinOffset;
    private long _end = long.MinValue;
    private long _lastVideoDts = long.MinValue;
    private long _lastVideoDelta;
    private int _resumes;
    private bool _filling;
    private volatile bool _hasCaptions;

    public LiveStream(string name, TimeProvider? timeProvider = null)
    {
        Name = name;
        TimeProvider = timeProvider ?? TimeProvider.System;
        StartedAt = TimeProvider.GetUtcNow();
        Statistics = new StreamStatistics(TimeProvider);
    }

    /// <summary>The stream's name in URLs: the channel slug.</summary>
    public string Name { get; }

    /// <summary>Opaque tag set by whoever authorised the publish (e.g. the channel id) for logs and the control plane.</summary>
    public string? Tag { get; set; }

    public TimeProvider TimeProvider { get; }

    public DateTimeOffset StartedAt { get; }

    public StreamStatistics Statistics { get; }

    public VideoTrack? Video { get { lock (_gate) return _video; } }

    public AudioTrack? Audio { get { lock (_gate) return _audio; } }

    /// <summary>Encoder metadata (RTMP <c>onMetaData</c>): names to numbers, strings, booleans.</summary>
    public IReadOnlyDictionary<string, object?> Metadata { get { lock (_gate) return _metadata; } }

    public bool IsCompleted { get { lock (_gate) return _completed; } }

    /// <summary>The publisher left and the broadcast waits (until <see cref="ReconnectDeadline"/>) for it to come back.</summary>
    public bool IsReconnecting { get { lock (_gate) return _reconnecting; } }

    /// <summary>While <see cref="IsReconnecting"/>: when the broadcast ends unless the publisher is back.</summary>
    public DateTimeOffset? ReconnectDeadline { get { lock (_gate) return _reconnectDeadline; } }

    /// <summary>
    /// ATSC A/53 captions (CTA-608/708 cc_data in the video's SEI) were seen in a frame of this broadcast; it stays set for
    /// the rest of it, reconnects included. Every input gets it, since the check runs where frames enter the hub: until
    /// the first caption payload each video frame's SEI NAL units are looked at (<see cref="CaptionSei"/>, allocation-free),
    /// after it nothing more is done.
    /// </summary>
    public bool HasCaptions => _hasCaptions;

    /// <summary>How many times a publisher rejoined this broadcast; frames carry it as <see cref="MediaFrame.Epoch"/>.</summary>
    public int Epoch { get { lock (_gate) return _epoch; } }

    /// <summary>How many times a publisher took the broadcast over again after a drop (a slate fill does not count).</summary>
    public int Resumes { get { lock (_gate) return _resumes; } }

    /// <summary>
    /// While the broadcast waits for its publisher: starts filling the gap with stand-in media (a slate). The fill is a
    /// new <see cref="Epoch"/> placed like a reconnect (after the media plus the time away) and written with
    /// <see cref="WriteFill"/>; it ends when a publisher resumes (readers then see a gap before the new publish) or the
    /// grace runs out. Returns the fill's epoch, or -1 when the stream does not wait or already fills.
    /// </summary>
    public int TryBeginFill()
    {
        lock (_gate)
        {
            if (_completed || !_reconnecting || _filling) return -1;
            _filling = true;
            _epoch++;
            _joinPending = true;
            _joinGap = TimelineJoin.ToVideoTicks(TimeProvider.GetUtcNow() - _interruptedAt);
            return _epoch;
        }
    }

    /// <summary>Writes a frame of the fill <paramref name="fillEpoch"/>; takes over the reference. False (frame dropped) once that fill ended.</summary>
    public bool WriteFill(MediaFrame frame, int fillEpoch)
    {
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            if (_completed || !_filling || _epoch != fillEpoch)
            {
                frame.Release();
                return false;
            }
            Place(frame);
            UpdateGopCache(frame);
            foreach (var reader in _readers) reader.Offer(frame);
        }
        frame.Release();
        return true;
    }

    /// <summary>
    /// The publisher left (its connection dropped) but the broadcast goes on: readers keep their place, nothing is
    /// completed. False when the stream already ended or already waits.
    /// </summary>
    public bool TryInterrupt(DateTimeOffset deadline)
    {
        lock (_gate)
        {
            if (_completed || _reconnecting) return false;
            _reconnecting = true;
            _reconnectDeadline = deadline;
            _interruptedAt = TimeProvider.GetUtcNow();
            GapLocked();
            return true;
        }
    }

    /// <summary>
    /// A publisher took the interrupted broadcast over: from now on frames belong to a new <see cref="Epoch"/> and are
    /// moved on the timeline (<see cref="TimelineJoin"/>) to follow the previous media plus the time the broadcast
    /// waited. False unless the stream <see cref="IsReconnecting"/>.
    /// </summary>
    public bool TryResume()
    {
        lock (_gate)
        {
            if (_completed || !_reconnecting) return false;
            if (_filling)
            {
                // The slate stops here: readers see a gap after its last frame, and it kept pace with the clock.
                _filling = false;
                GapLocked();
                _interruptedAt = TimeProvider.GetUtcNow();
            }
            _reconnecting = false;
            _reconnectDeadline = null;
            _resumes++;
            _epoch++;
            _joinPending = true;
            _joinGap = TimelineJoin.ToVideoTicks(TimeProvider.GetUtcNow() - _interruptedAt);
            return true;
        }
    }

    /// <summary>
    /// The producer stopped here and what comes next (if anything) does not continue it: a transcoder's ffmpeg drained
    /// at its source's interruption. Readers see a gap after the frames already queued (<see cref="LiveStreamReader.ReadOrGapAsync"/>),
    /// and a reader opened from now on does not start with the cached frames from before it.
    /// </summary>
    public void MarkGap()
    {
        lock (_gate)
        {
            if (!_completed) GapLocked();
        }
    }

    private void GapLocked()
    {
        foreach (var reader in _readers) reader.OfferGap();
        ClearGopCache();
    }

    /// <summary>The grace period started after <paramref name="resumes"/> resumes ran out: true when the caller is to end the stream (no resume won the race).</summary>
    internal bool TryExpire(int resumes)
    {
        lock (_gate)
        {
            if (_completed || !_reconnecting || _resumes != resumes) return false;
            _filling = false;
            _reconnecting = false;
            _reconnectDeadline = null;
            return true;
        }
    }

    /// <summary>Raised once when the publisher has ended (after every reader has been completed).</summary>
    public event Action<LiveStream>? Completed;

    /// <summary>Raised when a track is announced or its decoder configuration changes.</summary>
    public event Action<LiveStream, MediaTrack>? TrackChanged;

    /// <summary>
    /// The newest video frame's decode time in the stream's timeline (90 kHz, after any reconnect join shifted the
    /// publisher's clock); null before the first. Where a publisher's signal (an ad cue point) lands among the frames.
    /// </summary>
    public long? LastVideoTime { get { lock (_gate) return _lastVideoDts == long.MinValue ? null : _lastVideoDts; } }

    /// <summary>Raised when an ad break is asked for on this stream (see <see cref="InsertCue"/>); the packager places it.</summary>
    public event Action<LiveStream, Scte35.SpliceCue>? CueInserted;

    /// <summary>
    /// An ad break for this broadcast: from the encoder (RTMP onCuePoint, SCTE-35 in MPEG-TS) or an admin. Signalled beside the frames, not in
    /// them: every reader but the packager would only skip it. Returns whether anyone listened (false: nothing packages it).
    /// </summary>
    public bool InsertCue(Scte35.SpliceCue cue)
    {
        ArgumentNullException.ThrowIfNull(cue);
        var handlers = CueInserted;
        if (handlers is null || IsCompleted) return false;
        handlers(this, cue);
        return true;
    }

    public void SetMetadata(IReadOnlyDictionary<string, object?> metadata)
    {
        lock (_gate) _metadata = metadata;
    }

    public void SetTrack(MediaTrack track)
    {
        lock (_gate)
        {
            switch (track)
            {
                case VideoTrack v: _video = v; break;
                case AudioTrack a: _audio = a; break;
            }
        }
        TrackChanged?.Invoke(this, track);
    }

    /// <summary>
    /// Publishes a frame. Takes over the caller's reference: the caller must not release it afterwards.
    /// </summary>
    public void Write(MediaFrame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        Statistics.OnFrame(frame);
        if (!_hasCaptions && frame.Track is VideoTrack video
            && CaptionSei.TryFind(frame.Data.Span, video.Codec, video.NalLengthSize, out var captions) && captions.CarriesCaptions)
            _hasCaptions = true;
        lock (_gate)
        {
            if (_completed)
            {
                frame.Release();
                return;
            }
            Place(frame);
            UpdateGopCache(frame);
            foreach (var reader in _readers) reader.Offer(frame);
        }
        frame.Release();
    }

    /// <summary>
    /// Opens a reader. It starts at the most recent video keyframe (the cached group of pictures), so
    /// a late joiner can decode from its first frame.
    /// </summary>
    /// <param name="name">For logs and counters.</param>
    /// <param name="capacity">Frames the reader may fall behind before it is resynced at the next keyframe.</param>
    /// <param name="consumeOnWriterThread">
    /// When the reader is waiting, its continuation runs on the thread that writes the frame (inside <see cref="Write"/>)
    /// instead of being queued to the thread pool. For consumers whose per-frame work is short CPU work and that hand
    /// slow work (storage) to real asynchronous I/O, such as the packager: it saves a thread wake-up per frame. While the
    /// consumer is busy elsewhere (awaiting a store), frames queue as usual and the writer never waits for it.
    /// </param>
    public LiveStreamReader OpenReader(string name, int capacity = 1024, bool consumeOnWriterThread = false)
    {
        var reader = new LiveStreamReader(this, name, capacity, consumeOnWriterThread);
        lock (_gate)
        {
            if (_completed)
            {
                reader.Complete();
                return reader;
            }
            foreach (var cached in _gopCache) reader.Offer(cached);
            _readers.Add(reader);
        }
        return reader;
    }

    internal void Detach(LiveStreamReader reader)
    {
        lock (_gate) _readers.Remove(reader);
    }

    /// <summary>Ends the stream: every reader drains what it has and then sees completion.</summary>
    public void Complete()
    {
        List<LiveStreamReader> readers;
        lock (_gate)
        {
            if (_completed) return;
            _completed = true;
            readers = new List<LiveStreamReader>(_readers);
            _readers.Clear();
            ClearGopCache();
        }
        foreach (var reader in readers) reader.Complete();
        Completed?.Invoke(this);
    }

    /// <summary>Applies the current join offset and epoch to a frame, and keeps track of where the media ends.</summary>
    private void Place(MediaFrame frame)
    {
        int timescale = frame.Track.Timescale;
        if (_epoch > 0)
        {
            if (_joinPending)
            {
                _joinPending = false;
                long first = Timescales.Rescale(frame.Dts, timescale, Timescales.Video);
                _joinOffset = _end == long.MinValue ? 0 : TimelineJoin.Offset(_end, _joinGap, first);
                _lastVideoDts = long.MinValue;
            }
            if (_joinOffset != 0) frame.Shift(Timescales.Rescale(_joinOffset, Timescales.Video, timescale));
            frame.Epoch = _epoch;
        }
        long dts = Timescales.Rescale(frame.Dts, timescale, Timescales.Video);
        long duration;
        if (frame.Track is AudioTrack audio)
            duration = Timescales.Rescale(audio.SamplesPerFrame, audio.SampleRate, Timescales.Video);
        else
        {
            if (_lastVideoDts != long.MinValue && dts > _lastVideoDts) _lastVideoDelta = dts - _lastVideoDts;
            _lastVideoDts = dts;
            duration = _lastVideoDelta > 0 ? _lastVideoDelta : Timescales.Video / 30;
        }
        if (dts + duration > _end) _end = dts + duration;
    }

    private void UpdateGopCache(MediaFrame frame)
    {
        bool hasVideo = _video is not null;
        if (frame.Kind == MediaKind.Video && frame.IsKeyframe) ClearGopCache();
        else if (hasVideo && _gopCache.Count == 0) return; // wait for the first keyframe
        if (_gopCache.Count >= GopCacheMaxFrames || _gopCacheBytes + frame.Length > GopCacheMaxBytes)
        {
            // An encoder with a very long GOP: keep nothing rather than an undecodable tail.
            ClearGopCache();
            return;
        }
        _gopCache.Add(frame.AddRef());
        _gopCacheBytes += frame.Length;
    }

    private void ClearGopCache()
    {
        foreach (var f in _gopCache) f.Release();
        _gopCache.Clear();
        _gopCacheBytes = 0;
    }
}

/// <summary>
/// One consumer's view of a <see cref="LiveStream"/>: a bounded queue. When it is full the queue is emptied
/// and frames are skipped until the next video keyframe, so the reader resumes with something decodable.
/// </summary>
public sealed class LiveStreamReader : IDisposable
{
    private readonly LiveStream _stream;
    private readonly Channel<MediaFrame> _queue;
    private bool _waitingForKeyframe;
    private long _dropped;
    private int _disposed;

    internal LiveStreamReader(LiveStream stream, string name, int capacity, bool consumeOnWriterThread)
    {
        _stream = stream;
        Name = name;
        _queue = Channel.CreateBounded<MediaFrame>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = consumeOnWriterThread,
        });
        _waitingForKeyframe = stream.Video is not null;
    }

    public string Name { get; }

    public LiveStream Stream => _stream;

    /// <summary>Frames this reader lost because it fell behind.</summary>
    public long DroppedFrames => Interlocked.Read(ref _dropped);

    /// <summary>The in-band gap marker (<see cref="LiveStream.MarkGap"/>): never handed out by <see cref="ReadAsync"/> or <see cref="TryRead"/>.</summary>
    private static readonly MediaFrame GapMarker = MediaFrame.CreateMarker();

    /// <summary>Called by the hub under its lock; never blocks. A reader whose queue is full misses the gap (it resyncs anyway).</summary>
    internal void OfferGap() => _queue.Writer.TryWrite(GapMarker);

    /// <summary>Called by the hub under its lock; never blocks.</summary>
    internal void Offer(MediaFrame frame)
    {
        if (_waitingForKeyframe)
        {
            if (frame.Kind == MediaKind.Video && frame.IsKeyframe) _waitingForKeyframe = false;
            else if (_stream.Video is not null)
            {
                Interlocked.Increment(ref _dropped);
                _stream.Statistics.OnReaderDrop(1);
                return;
            }
            else _waitingForKeyframe = false;
        }
        frame.AddRef();
        if (_queue.Writer.TryWrite(frame)) return;
        frame.Release();
        // Full: this reader is too slow. Empty its queue and resync at the next keyframe.
        long dropped = 0;
        while (_queue.Reader.TryRead(out var stale))
        {
            if (ReferenceEquals(stale, GapMarker)) continue;
            stale.Release();
            dropped++;
        }
        bool resumeNow = _stream.Video is null || (frame.Kind == MediaKind.Video && frame.IsKeyframe);
        _waitingForKeyframe = !resumeNow;
        if (!resumeNow || !_queue.Writer.TryWrite(frame.AddRef()))
        {
            if (resumeNow) frame.Release();
            dropped++;
        }
        Interlocked.Add(ref _dropped, dropped);
        _stream.Statistics.OnReaderDrop(dropped);
    }

    internal void Complete() => _queue.Writer.TryComplete();

    /// <summary>Waits for the next frame; returns null when the stream has ended and the queue is drained.
    /// The caller owns one reference of the returned frame and must release it.</summary>
    public async ValueTask<MediaFrame?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_queue.Reader.TryRead(out var frame) && !ReferenceEquals(frame, GapMarker)) return frame;
        }
        return null;
    }

    /// <summary>
    /// Like <see cref="ReadAsync"/>, and also reports where the producer stopped (its publisher dropped,
    /// <see cref="LiveStream.TryInterrupt"/>, or <see cref="LiveStream.MarkGap"/>), in order with the frames: every frame
    /// from before the gap comes first. The end of the stream is a result with neither a frame nor a gap.
    /// </summary>
    public async ValueTask<LiveStreamRead> ReadOrGapAsync(CancellationToken cancellationToken = default)
    {
        while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (_queue.Reader.TryRead(out var frame))
                return ReferenceEquals(frame, GapMarker) ? new LiveStreamRead(null, IsGap: true) : new LiveStreamRead(frame, IsGap: false);
        }
        return default;
    }

    public bool TryRead(out MediaFrame? frame)
    {
        while (_queue.Reader.TryRead(out var f))
        {
            if (ReferenceEquals(f, GapMarker)) continue;
            frame = f;
            return true;
        }
        frame = null;
        return false;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stream.Detach(this);
        _queue.Writer.TryComplete();
        while (_queue.Reader.TryRead(out var f))
            if (!ReferenceEquals(f, GapMarker)) f.Release();
    }
}

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

    /// <summary>Raised when a publisher dropped and the stream waits for it (<see cref="Interrupt"/>).</summary>
    public event Action<LiveStream>? Interrupted;

    /// <summary>Raised when a publisher took an interrupted stream over again: the same broadcast continues.</summary>
    public event Action<LiveStream>? Resumed;

    /// <summary>
    /// Starts a publish. A stream of that name that waits for its publisher (<see cref="LiveStream.IsReconnecting"/>)
    /// is resumed and returned (true, <see cref="Resumed"/> raised); one that still has its publisher is refused (false).
    /// </summary>
    public bool TryStartPublish(string name, out LiveStream stream)
    {
        var candidate = new LiveStream(name, _timeProvider);
        if (!_streams.TryAdd(name, candidate))
        {
            stream = _streams.TryGetValue(name, out var existing) ? existing : candidate;
            if (ReferenceEquals(stream, candidate) || !stream.TryResume()) return false;
            if (_graceTimers.TryRemove(stream, out var timer)) timer.Dispose();
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
    /// that long for the same stream name to publish again (<see cref="TryStartPublish"/> resumes it) and otherwise
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
