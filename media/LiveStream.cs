using Broadcast.Media.Codecs.Captions;

namespace Broadcast.Media;

/// <summary>
/// The fan-out hub of one live broadcast: the publisher writes frames, any number of readers
/// (packager, transcoder, restream, preview) read them, each through its own bounded queue.
/// A reader that falls behind loses frames up to the next video keyframe; the publisher never waits.
/// The broadcast's continuity across publishes (a reconnect, a takeover, the slate's fill; where each publish's frames go
/// on the timeline) is decided by its <see cref="BroadcastContinuity"/>, under the same lock the frames are written under;
/// the members here that change it are its doors, and the hub adds what only it knows: its end, and the gaps readers see.
/// </summary>
public sealed partial class LiveStream
{
    private readonly object _gate = new();
    private readonly List<LiveStreamReader> _readers = new();
    private readonly GopCache _gopCache = new();
    private MediaFrame? _latestKeyframe;
    private VideoTrack? _video;
    private AudioTrack? _audio;
    private IReadOnlyDictionary<string, object?> _metadata = new Dictionary<string, object?>();
    private bool _completed;
    // The broadcast's continuity across publishes (reconnects, takeovers, the slate's fill) and its timeline. Read and
    // changed only under _gate, as frames are written: a decision and the frames around it never interleave.
    private readonly BroadcastContinuity _continuity;
    private volatile bool _hasCaptions;

    public LiveStream(string name, TimeProvider? timeProvider = null)
    {
        Name = name;
        TimeProvider = timeProvider ?? TimeProvider.System;
        StartedAt = TimeProvider.GetUtcNow();
        Statistics = new StreamStatistics(TimeProvider);
        _continuity = new BroadcastContinuity(TimeProvider);
    }

    /// <summary>The stream's name in URLs: the channel slug.</summary>
    public string Name { get; }

    /// <summary>How the publish that began the broadcast came in (<c>rtmp</c>, <c>rtmps</c>, <c>srt</c>, <c>pull</c>, <c>program</c>,
    /// <c>room</c>, <c>relay</c>) for the <c>broadcast.started</c> webhook; null when the publisher did not say.</summary>
    public string? Protocol { get; init; }

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
    public bool IsReconnecting { get { lock (_gate) return _continuity.IsReconnecting; } }

    /// <summary>While <see cref="IsReconnecting"/>: when the broadcast ends unless the publisher is back.</summary>
    public DateTimeOffset? ReconnectDeadline { get { lock (_gate) return _continuity.ReconnectDeadline; } }

    /// <summary>
    /// ATSC A/53 captions (CTA-608/708 cc_data in the video's SEI) were seen in a frame of this broadcast; it stays set for
    /// the rest of it, reconnects included. Every input gets it, since the check runs where frames enter the hub: until
    /// the first caption payload each video frame's SEI NAL units are looked at (<see cref="CaptionSei"/>, allocation-free),
    /// after it nothing more is done.
    /// </summary>
    public bool HasCaptions => _hasCaptions;

    /// <summary>
    /// Why the last publisher was closed for what it sent (a malformed tag, a multitrack ladder whose keyframes are not
    /// aligned), for the operator's dashboard while the broadcast waits for it; null when none was.
    /// </summary>
    public string? PublisherRefusal { get; set; }

    /// <summary>How many times a publisher rejoined this broadcast; frames carry it as <see cref="MediaFrame.Epoch"/>.</summary>
    public int Epoch { get { lock (_gate) return _continuity.Epoch; } }

    /// <summary>How many times a publisher took the broadcast over again after a drop (a slate fill does not count).</summary>
    public int Resumes { get { lock (_gate) return _continuity.Resumes; } }

    /// <summary>
    /// This hub continues a broadcast another hub carried until its node died (the packager found its stored live
    /// state): the first frame is placed as a reconnect's would be (<see cref="TimelineJoin"/>), after
    /// <paramref name="previousEnd"/> (90 kHz, the media end the dead node stored) plus <paramref name="timeAway"/>, and
    /// frames carry epoch 1. Call before the first frame; false when frames were already written or it was already called.
    /// </summary>
    public bool TryContinueAfter(long previousEnd, TimeSpan timeAway)
    {
        lock (_gate) return !_completed && _continuity.TryContinueAfter(previousEnd, timeAway);
    }

    /// <summary>
    /// While the broadcast waits for its publisher: starts filling the gap with stand-in media (a slate). The fill is a
    /// new <see cref="Epoch"/> placed like a reconnect (after the media plus the time away) and written with
    /// <see cref="WriteFill"/>; it ends when a publisher resumes (readers then see a gap before the new publish) or the
    /// grace runs out. Returns the fill's epoch, or -1 when the stream does not wait or already fills.
    /// </summary>
    public int TryBeginFill()
    {
        lock (_gate) return _completed ? -1 : _continuity.TryBeginFill();
    }

    /// <summary>Writes a frame of the fill <paramref name="fillEpoch"/>; takes over the reference. False
    /// (frame dropped) once that fill ended.</summary>
    public bool WriteFill(MediaFrame frame, int fillEpoch)
    {
        ArgumentNullException.ThrowIfNull(frame);
        lock (_gate)
        {
            if (_completed || !_continuity.Fills(fillEpoch))
            {
                frame.Release();
                return false;
            }
            _continuity.Place(frame);
            Distribute(frame);
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
            if (_completed || !_continuity.TryInterrupt(deadline)) return false;
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
            if (_completed || !_continuity.TryResume(out bool fillEnded)) return false;
            // The slate stops here: readers see a gap after its last frame.
            if (fillEnded) GapLocked();
            return true;
        }
    }

    /// <summary>
    /// A new publisher with this stream's key takes the broadcast from a publisher that is still connected but has written
    /// nothing for at least <paramref name="silence"/>: its path died without the connection closing (an encoder that
    /// changed network leaves its old TCP connection half-open). The broadcast continues exactly as after
    /// <see cref="TryResume"/>, the time away counted from the last frame; <see cref="PublisherReplaced"/> tells the old
    /// publisher to close. False while frames still arrive (a second encoder with the same key is refused, not let in),
    /// or when the stream ended or already waits for a reconnect (then <see cref="TryResume"/> applies).
    /// </summary>
    public bool TryTakeOver(TimeSpan silence)
    {
        lock (_gate)
        {
            if (_completed || !_continuity.TryTakeOver(silence)) return false;
            GapLocked();
        }
        PublisherReplaced?.Invoke(this);
        return true;
    }

    /// <summary>How long since the publisher last wrote a frame (or since the publish started, before its first).</summary>
    public TimeSpan SilentFor { get { lock (_gate) return _continuity.SilentFor; } }

    /// <summary>
    /// Raised when <see cref="TryTakeOver"/> gave the broadcast to a new publisher: the publisher whose
    /// <see cref="Resumes"/> count is now out of date no longer owns the stream and closes its connection.
    /// </summary>
    public event Action<LiveStream>? PublisherReplaced;

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
        _gopCache.Clear();
        foreach (var rung in _encoderRungs) rung.Value.MarkGap();
        foreach (var track in _alternateAudio) track.Hub.MarkGap();
    }

    /// <summary>The grace period started after <paramref name="resumes"/> resumes ran out: true when the caller is to end the stream
    /// (no resume won the race).</summary>
    internal bool TryExpire(int resumes)
    {
        lock (_gate) return !_completed && _continuity.TryExpire(resumes);
    }

    /// <summary>Raised once when the publisher has ended (after every reader has been completed).</summary>
    public event Action<LiveStream>? Completed;

    /// <summary>Raised when a track is announced or its decoder configuration changes.</summary>
    public event Action<LiveStream, MediaTrack>? TrackChanged;

    /// <summary>
    /// The newest video frame's decode time in the stream's timeline (90 kHz, after any reconnect join shifted the
    /// publisher's clock); null before the first. Where a publisher's signal (an ad cue point) lands among the frames.
    /// </summary>
    public long? LastVideoTime { get { lock (_gate) return _continuity.LastVideoTime; } }

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
            _continuity.Wrote();
            _continuity.Place(frame);
            Distribute(frame);
        }
        frame.Release();
    }

    // Under the gate: the frame joins the GOP cache, becomes the latest keyframe when it is one, and goes to every reader.
    private void Distribute(MediaFrame frame)
    {
        _gopCache.Add(frame, hasVideo: _video is not null);
        if (frame.Kind == MediaKind.Video && frame.IsKeyframe)
        {
            _latestKeyframe?.Release();
            _latestKeyframe = frame.AddRef();
        }

        foreach (var reader in _readers) reader.Offer(frame);
    }

    /// <summary>
    /// The newest video keyframe, with a reference of the caller's own (release it); null before the first and after the
    /// end. For a picture of the stream now and then (thumbnails) without a reader that wakes on every frame. Kept apart
    /// from the group-of-pictures cache, which an encoder with a very long GOP leaves empty.
    /// </summary>
    public MediaFrame? LatestKeyframe()
    {
        lock (_gate) return _latestKeyframe?.AddRef();
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
            _gopCache.OfferTo(reader);
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
            _gopCache.Clear();
            _latestKeyframe?.Release();
            _latestKeyframe = null;
        }
        foreach (var reader in readers) reader.Complete();
        foreach (var rung in EncoderRungs) rung.Value.Complete();
        foreach (var track in AlternateAudioTracks) track.Hub.Complete();
        Completed?.Invoke(this);
    }
}
