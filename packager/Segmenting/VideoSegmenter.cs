using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// Cuts one video rendition into segments: a new segment starts at the first keyframe whose decode time falls in
/// a later multiple of the target duration than the current segment's start (floor(dts / target) changes), so
/// every rendition fed the same timestamps cuts at the same frames without talking to the others (the rule of
/// shaka-packager's chunking handler). Pure: no I/O, no clock.
/// </summary>
internal sealed class VideoSegmenter
{
    /// <summary>Lower bound of the boundary tolerance: RTMP millisecond timestamps jitter by a tick or two.</summary>
    private const long MinToleranceTicks = Timescales.Video / 50; // 20 ms

    private readonly string _rendition;
    private readonly long _targetTicks;
    private readonly List<MediaFrame> _frames = new();
    private MediaTrack? _track;
    private int _initVersion = -1;
    private long _segmentBucket;
    private long _number;
    private bool _discontinuity;
    private bool _pendingMark;
    private bool _marked;
    private long _lastDelta;
    private long _lastKeyframeDts = long.MinValue;
    private bool _rejoin;
    private readonly List<ClosedPart>? _parts;
    private readonly PartGrid _grid;
    private readonly List<long> _spliceCuts = new(2); // ascending presentation times: a break's start, then its return
    private long _lastPushedPts = long.MinValue;
    private readonly List<int> _partStarts = new();
    private int _partFrom;
    private long _partTime; // decode time where the next part starts: the segment's start plus the parts' durations

    public VideoSegmenter(string rendition, int segmentSeconds, long firstNumber = 1)
    {
        _rendition = rendition;
        _targetTicks = (long)segmentSeconds * Timescales.Video;
        _number = firstNumber - 1;
    }

    /// <summary>Low latency: parts on <paramref name="grid"/> go to <paramref name="parts"/> as the segment grows.</summary>
    public VideoSegmenter(string rendition, int segmentSeconds, PartGrid grid, List<ClosedPart> parts)
        : this(rendition, segmentSeconds)
    {
        _grid = grid;
        _parts = parts;
    }

    public string Rendition => _rendition;

    /// <summary>Longest interval seen between two keyframes, in 90 kHz ticks.</summary>
    public long LongestKeyframeInterval { get; private set; }

    public long TargetTicks => _targetTicks;

    /// <summary>Latest presentation time of any frame pushed, kept or not; <see cref="long.MinValue"/> before any.</summary>
    public long LastPushedPts => _lastPushedPts;

    /// <summary>
    /// A splice point: the first keyframe presented at or after <paramref name="pts"/> starts a segment even inside the
    /// target duration, so an ad break begins on that keyframe instead of at the next regular boundary. Every rendition is
    /// given the same point before any of them reached it (<see cref="StreamSegmenter.ScheduleSpliceCut"/>), and their
    /// keyframes are presented at the same times (the transcoder's rungs take the source's), so all of them cut at the
    /// same picture and keep their numbers aligned. Presentation, not decode, time: a rung's B-frames shift its decode
    /// times from the source's, and an SCTE-35 splice time is a presentation time (SCTE 35 9.6.3).
    /// </summary>
    public void CutAtSplice(long pts)
    {
        int at = _spliceCuts.BinarySearch(pts);
        if (at < 0) _spliceCuts.Insert(~at, pts);
    }

    private bool SpliceDue(long pts) => _spliceCuts.Count > 0 && pts >= _spliceCuts[0];

    /// <summary>Decode time of the first frame of the open segment, or null before the first keyframe.</summary>
    public long? OpenSegmentStart => _frames.Count > 0 ? _frames[0].Dts : null;

    /// <summary>
    /// Tolerance before a boundary: about one frame. GStreamer's flvmux stamps a keyframe one frame early
    /// (1.933 s for a 2 s GOP at 15 fps); without slack a strict rule would wait for the next GOP and double the
    /// first segment. One and a half observed frame intervals, at least 20 ms, never more than a quarter segment.
    /// </summary>
    public long ToleranceTicks
    {
        get
        {
            long frame = _lastDelta > 0 ? _lastDelta : Timescales.Video / 30;
            long tol = Math.Max(frame + frame / 2, MinToleranceTicks);
            return Math.Min(tol, _targetTicks / 4);
        }
    }

    private long Bucket(long dts) => FloorDiv(dts + ToleranceTicks, _targetTicks);

    private static long FloorDiv(long a, long b)
    {
        long q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }

    /// <summary>
    /// The producer restarted (e.g. the transcoder's ffmpeg): the next segment this rendition starts is marked
    /// discontinuous even though the decoder configuration is unchanged. No extra cut, so numbers stay aligned.
    /// </summary>
    public void MarkDiscontinuity() => _pendingMark = true;

    /// <summary>
    /// This rendition continues a broadcast another node packaged up to segment <paramref name="lastNumber"/> with init
    /// versions up to <paramref name="lastInitVersion"/>: the first segment takes the next number and a new init
    /// version, and is discontinuous. Call before the first frame.
    /// </summary>
    public void ContinueAfter(long lastNumber, int lastInitVersion)
    {
        if (_track is not null) throw new InvalidOperationException("The rendition has already started.");
        _number = lastNumber;
        _initVersion = Math.Max(lastInitVersion, -1);
        _pendingMark = true;
    }

    /// <summary>
    /// Takes over the caller's reference to <paramref name="frame"/>. Returns the segment that the frame closed, if any.
    /// </summary>
    public ClosedSegment? Push(MediaFrame frame)
    {
        _lastPushedPts = Math.Max(_lastPushedPts, frame.Pts);
        if (_rejoin)
        {
            // After an interruption the next segment starts at the new publisher's first keyframe.
            if (!frame.IsKeyframe)
            {
                frame.Release();
                return null;
            }
            _rejoin = false;
            _lastKeyframeDts = frame.Dts;
            bool changed = !frame.Track.HasSameConfig(_track);
            if (!changed) _track = frame.Track;
            StartSegment(frame, changed, discontinuity: changed);
            return null;
        }
        if (_frames.Count == 0 && _track is null)
        {
            if (!frame.IsKeyframe)
            {
                // Nothing decodable before the first keyframe.
                frame.Release();
                return null;
            }
            StartSegment(frame, configChanged: true, discontinuity: false);
            return null;
        }

        var last = _frames.Count > 0 ? _frames[^1] : null;
        if (last is not null && frame.Dts > last.Dts) _lastDelta = frame.Dts - last.Dts;

        bool configChanged = !ReferenceEquals(frame.Track, _track) && !frame.Track.HasSameConfig(_track);
        if (!configChanged && !ReferenceEquals(frame.Track, _track)) _track = frame.Track; // same config, newer description

        if (frame.IsKeyframe)
        {
            if (_lastKeyframeDts != long.MinValue && frame.Dts > _lastKeyframeDts)
                LongestKeyframeInterval = Math.Max(LongestKeyframeInterval, frame.Dts - _lastKeyframeDts);
            _lastKeyframeDts = frame.Dts;
        }

        if (configChanged || (frame.IsKeyframe && _frames.Count > 0 && (Bucket(frame.Dts) > _segmentBucket || SpliceDue(frame.Pts))))
        {
            var closed = _frames.Count > 0 ? Close(frame.Dts) : null;
            StartSegment(frame, configChanged, discontinuity: configChanged);
            return closed;
        }

        if (_parts is not null) TryCutPart(frame.Dts);
        _frames.Add(frame);
        return null;
    }

    /// <summary>
    /// The producer stopped and comes back with media that does not continue this one (a publisher reconnected, its
    /// timestamps moved past the gap): the open segment closes now, its last frame lasting as long as the one before
    /// (not across the gap), and the next segment (the next number, from the next keyframe) is discontinuous; with a
    /// new decoder configuration it also gets a new init segment. Nothing happens before the first segment.
    /// </summary>
    public ClosedSegment? Interrupt()
    {
        if (_track is null) return null;
        var closed = Flush();
        _pendingMark = true;
        _rejoin = true;
        _lastKeyframeDts = long.MinValue;
        return closed;
    }

    /// <summary>
    /// Before <paramref name="nextDts"/>'s frame joins the open segment: when that frame starts after the open part's grid
    /// point (<see cref="PartGrid"/>), or past the segment's target would overfill the part, the frames since the last part
    /// become a part (their durations are all known now). A part that would outlast the Part Target ends a frame early
    /// (<see cref="OverrunsTarget"/>).
    /// </summary>
    private void TryCutPart(long nextDts)
    {
        if (_frames.Count <= _partFrom) return;
        long frame = _lastDelta > 0 ? _lastDelta : Timescales.Video / 30;
        int index = _partStarts.Count + 1;
        bool cut = index < _grid.Cells
            ? PartGrid.StartsAfter(nextDts, frame, _grid.Point(_frames[0].Dts, index))
            // Past the target end the segment waits for a keyframe: the part grows until the next frame would take it
            // past the Part Target, so a keyframe one frame late joins the final part instead of leaving a part of one frame.
            : nextDts + frame - _frames[_partFrom].Dts > _grid.TargetTicks;
        if (OverrunsTarget(nextDts))
        {
            CutPart(_frames.Count - 1, _frames[^1].Dts);
            return;
        }
        if (cut) CutPart(_frames.Count, nextDts);
    }

    private long OpenPartStart => _partStarts.Count == 0 ? _frames[0].Dts : _partTime;

    /// <summary>
    /// RFC 8216bis 4.4.4.9: a part lasts at most the Part Target. A gap in the decode times (an encoder that dropped frames,
    /// a transcoder draining as its input stops) becomes the duration of the frame before it; when the open part, ending at
    /// <paramref name="endDts"/>, would outlast the target, it ends before its last frame instead, and that frame opens the
    /// next part. A part of one frame longer than the target (a gap longer than a part) is left as it is.
    /// </summary>
    private bool OverrunsTarget(long endDts) => _frames.Count - _partFrom >= 2 && endDts - OpenPartStart > _grid.TargetTicks;

    /// <summary>Frames from the open part's first up to <paramref name="end"/> (exclusive), ending at <paramref name="endDts"/>,
    /// become a part.</summary>
    private void CutPart(int end, long endDts)
    {
        var samples = BuildSamples(_partFrom, end, endDts);
        long time = OpenPartStart;
        var part = new ClosedPart(_rendition, _frames[0].Track, _initVersion, _number, _partStarts.Count, time, samples);
        _parts!.Add(part);
        _partTime = time + part.Duration;
        _partStarts.Add(_partFrom);
        _partFrom = end;
    }

    private CmafSample[] BuildSamples(int from, int to, long endDts)
    {
        var samples = new CmafSample[to - from];
        for (int i = from; i < to; i++)
        {
            var f = _frames[i];
            long next = i + 1 < to ? _frames[i + 1].Dts : endDts;
            // Non-increasing decode times (a broken encoder) become zero-length samples rather than negative ones.
            long duration = Math.Clamp(next - f.Dts, 0, uint.MaxValue);
            samples[i - from] = new CmafSample(f.Data, (uint)duration, f.CompositionOffset, f.IsKeyframe);
        }
        return samples;
    }

    /// <summary>Closes the open segment at the end of the stream; the last frame lasts as long as the one before it.</summary>
    public ClosedSegment? Flush()
    {
        if (_frames.Count == 0) return null;
        long lastDuration = _lastDelta > 0 ? _lastDelta : Timescales.Video / 30;
        return Close(_frames[^1].Dts + lastDuration);
    }

    private void StartSegment(MediaFrame frame, bool configChanged, bool discontinuity)
    {
        if (configChanged)
        {
            _track = frame.Track;
            _initVersion++;
        }
        _discontinuity |= discontinuity;
        _marked |= _pendingMark;
        _pendingMark = false;
        _segmentBucket = Bucket(frame.Dts);
        while (SpliceDue(frame.Pts)) _spliceCuts.RemoveAt(0); // this segment starts at or after those splice points: done
        _number++;
        _frames.Add(frame);
    }

    private ClosedSegment Close(long endDts)
    {
        var samples = BuildSamples(0, _frames.Count, endDts);
        int[]? partStarts = null;
        if (_parts is not null)
        {
            // The frames since the last part are the segment's final part; its samples are those the segment holds.
            if (OverrunsTarget(endDts)) CutPart(_frames.Count - 1, _frames[^1].Dts);
            _partStarts.Add(_partFrom);
            partStarts = [.. _partStarts];
            _parts.Add(new ClosedPart(_rendition, _frames[0].Track, _initVersion, _number, partStarts.Length - 1,
                partStarts.Length == 1 ? _frames[0].Dts : _partTime, samples[_partFrom..]) { Final = true });
            _partStarts.Clear();
            _partFrom = 0;
        }
        var frames = new List<MediaFrame>(_frames);
        _frames.Clear();
        bool discontinuity = (_discontinuity && _initVersion > 0) || _marked;
        _discontinuity = false;
        _marked = false;
        return new ClosedSegment(_rendition, frames[0].Track, _initVersion, _number, frames[0].Dts, frames, samples,
            discontinuity) { PartStarts = partStarts };
    }
}
