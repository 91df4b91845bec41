namespace Broadcast.Media;

/// <summary>
/// How one broadcast goes on across its publishes: whether it waits for its publisher (until the grace's deadline), who
/// may take it next (a resume, a takeover of a silent publisher, the slate's fill), and where each new publish's frames
/// go on the broadcast's timeline (<see cref="TimelineJoin"/>: after the media so far plus the time away, stamped with
/// the publish's <see cref="Epoch"/>). Media times are 90 kHz.
/// <para>
/// Not thread-safe on purpose: its <see cref="LiveStream"/> owns it and calls it only under the hub's one lock, the same
/// lock frames are written under, so a decision (a resume, a takeover) and the frames around it are ordered, and a frame
/// is placed with the epoch and offset of exactly one publish. It knows no readers and no completion: the hub refuses
/// every call once it ended, and marks the gap where a decision says readers are to see one.
/// </para>
/// </summary>
internal sealed class BroadcastContinuity(TimeProvider timeProvider)
{
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
    private long _lastWriteTimestamp = timeProvider.GetTimestamp();
    private bool _filling;

    /// <summary>The publisher left and the broadcast waits (until <see cref="ReconnectDeadline"/>) for it to come back.</summary>
    public bool IsReconnecting => _reconnecting;

    /// <summary>While <see cref="IsReconnecting"/>: when the broadcast ends unless the publisher is back.</summary>
    public DateTimeOffset? ReconnectDeadline => _reconnectDeadline;

    /// <summary>How many times a publish (or a fill) joined the broadcast after its first; frames carry it.</summary>
    public int Epoch => _epoch;

    /// <summary>How many times a publisher took the broadcast over again after a drop (a fill does not count).</summary>
    public int Resumes => _resumes;

    /// <summary>How long since the publisher last wrote a frame (or since the broadcast began, before its first).</summary>
    public TimeSpan SilentFor => timeProvider.GetElapsedTime(_lastWriteTimestamp);

    /// <summary>The newest video frame's decode time on the broadcast's timeline (after any join); null before the first.</summary>
    public long? LastVideoTime => _lastVideoDts == long.MinValue ? null : _lastVideoDts;

    /// <summary>
    /// The broadcast continues one another hub carried (its node died): the first frame goes after
    /// <paramref name="previousEnd"/> plus <paramref name="timeAway"/>, in epoch 1. False once a frame was placed or
    /// it was already continued.
    /// </summary>
    public bool TryContinueAfter(long previousEnd, TimeSpan timeAway)
    {
        if (_epoch != 0 || _end != long.MinValue) return false;
        _epoch = 1;
        _joinPending = true;
        _joinGap = TimelineJoin.ToVideoTicks(timeAway);
        _end = previousEnd;
        return true;
    }

    /// <summary>
    /// While the broadcast waits: a fill (the slate) starts as a new epoch placed like a reconnect, after the media plus
    /// the time away so far. Returns that epoch, or -1 when the broadcast does not wait or already fills.
    /// </summary>
    public int TryBeginFill()
    {
        if (!_reconnecting || _filling) return -1;
        _filling = true;
        _epoch++;
        _joinPending = true;
        _joinGap = TimelineJoin.ToVideoTicks(timeProvider.GetUtcNow() - _interruptedAt);
        return _epoch;
    }

    /// <summary>Whether frames of the fill <paramref name="fillEpoch"/> still belong to the broadcast (that fill has not ended).</summary>
    public bool Fills(int fillEpoch) => _filling && _epoch == fillEpoch;

    /// <summary>
    /// The publisher left: the broadcast waits until <paramref name="deadline"/>. False when it already waits. When true,
    /// readers are to see a gap after the frames they have.
    /// </summary>
    public bool TryInterrupt(DateTimeOffset deadline)
    {
        if (_reconnecting) return false;
        _reconnecting = true;
        _reconnectDeadline = deadline;
        _interruptedAt = timeProvider.GetUtcNow();
        return true;
    }

    /// <summary>
    /// A publisher takes the waiting broadcast over: a new epoch, placed after the media plus the time away. False unless
    /// the broadcast waits. <paramref name="fillEnded"/>: a fill was running and stops here, so readers are to see a gap
    /// after its last frame; the fill kept pace with the clock, so the time away counts from now.
    /// </summary>
    public bool TryResume(out bool fillEnded)
    {
        fillEnded = false;
        if (!_reconnecting) return false;
        if (_filling)
        {
            _filling = false;
            fillEnded = true;
            _interruptedAt = timeProvider.GetUtcNow();
        }
        _reconnecting = false;
        _reconnectDeadline = null;
        _resumes++;
        _epoch++;
        _joinPending = true;
        _joinGap = TimelineJoin.ToVideoTicks(timeProvider.GetUtcNow() - _interruptedAt);
        return true;
    }

    /// <summary>
    /// A new publisher takes the broadcast from one still connected that has written nothing for at least
    /// <paramref name="silence"/>: as a resume, the time away counted from the last frame. False while frames still
    /// arrive, with no positive silence, or when the broadcast waits (a resume applies then). When true, readers are to
    /// see a gap and the old publisher is to close.
    /// </summary>
    public bool TryTakeOver(TimeSpan silence)
    {
        if (_reconnecting || silence <= TimeSpan.Zero) return false;
        var silent = timeProvider.GetElapsedTime(_lastWriteTimestamp);
        if (silent < silence) return false;
        _interruptedAt = timeProvider.GetUtcNow() - silent;
        _resumes++;
        _epoch++;
        _joinPending = true;
        _joinGap = TimelineJoin.ToVideoTicks(silent);
        _lastWriteTimestamp = timeProvider.GetTimestamp();
        return true;
    }

    /// <summary>
    /// The grace started after <paramref name="resumes"/> resumes ran out: true (and the broadcast no longer waits) when
    /// no resume came since, so the broadcast is to end.
    /// </summary>
    public bool TryExpire(int resumes)
    {
        if (!_reconnecting || _resumes != resumes) return false;
        _filling = false;
        _reconnecting = false;
        _reconnectDeadline = null;
        return true;
    }

    /// <summary>The publisher wrote a frame now (a fill's frames do not count: they are not the publisher's).</summary>
    public void Wrote() => _lastWriteTimestamp = timeProvider.GetTimestamp();

    /// <summary>Applies the current join offset and epoch to a frame, and keeps track of where the media ends.</summary>
    public void Place(MediaFrame frame)
    {
        Join(frame);
        int timescale = frame.Track.Timescale;
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

    /// <summary>After a reconnect (epoch above 0): moves a frame by the join offset, computed from the first frame of the
    /// new publish, and stamps it with the epoch. Every track of the publisher goes through here alike (the tracks carried
    /// on hubs beside the source's, too, which do not move where the media ends).</summary>
    public void Join(MediaFrame frame)
    {
        if (_epoch == 0) return;
        int timescale = frame.Track.Timescale;
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
}
