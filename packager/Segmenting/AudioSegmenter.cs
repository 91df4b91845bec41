using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// Cuts the audio rendition at the media times where the leading video rendition cut, so audio and video
/// segments with the same number cover the same span. Audio timestamps come from a running sample count
/// (1024 per AAC frame) anchored at the first frame: RTMP's rounded millisecond stamps would make every
/// duration 23 or 24 ms instead of 1024/48000 s. The anchor moves only when the stamps drift more than a frame
/// away (a real gap or jump from the encoder). Pure: no I/O, no clock.
/// </summary>
internal sealed class AudioSegmenter
{
    /// <summary>Audio held while no video cut has arrived yet (a stalled video track): about 20 s at 48 kHz.</summary>
    private const int MaxPendingFrames = 1000;

    /// <summary>
    /// How far the leader's cuts may run past this track's newest frame before the track counts as stopped (the encoder
    /// stopped sending it while the picture goes on): 10 s, far beyond an encoder's interleave or A/V offset.
    /// </summary>
    public const long StoppedAfterTicks = 10 * Timescales.Video;

    private readonly string _rendition;
    private readonly int _segmentSeconds;
    private readonly List<Entry> _pending = new();
    private readonly Queue<(long Number, long VideoTime, bool Final)> _boundaries = new();
    private MediaTrack? _track;
    private int _initVersion = -1;
    private bool _anchored;
    private long _anchor;
    private long _count;
    private long? _startVideoTime;
    private long _selfNumber;
    private long _selfBucket = long.MinValue;

    private readonly List<ClosedPart>? _parts;
    private readonly PartGrid _grid;
    private long? _openVideoStart; // 90 kHz start of the open segment's span (the leader's cut), the origin of its part grid
    private readonly List<int> _partStarts = new();
    private readonly List<CmafSample> _partSamples = new();
    private int _partFrom;
    private long _partTime; // decode time where the next part starts: the segment's start plus the parts' durations
    private long _videoProgress = long.MinValue; // 90 kHz decode time of the leader's newest frame
    private long _newestVideoTime = long.MinValue; // 90 kHz time of this track's newest frame
    private long _closedUntil = long.MinValue; // 90 kHz end of the segments closed when the track stopped

    private readonly record struct Entry(MediaFrame Frame, long Time, int InitVersion);

    public AudioSegmenter(string rendition, int segmentSeconds)
    {
        _rendition = rendition;
        _segmentSeconds = segmentSeconds;
    }

    /// <summary>Low latency: parts on <paramref name="grid"/> go to <paramref name="parts"/> as the segment grows.</summary>
    public AudioSegmenter(string rendition, int segmentSeconds, PartGrid grid, List<ClosedPart> parts)
        : this(rendition, segmentSeconds)
    {
        _grid = grid;
        _parts = parts;
    }

    /// <summary>
    /// The leading video rendition has a frame at <paramref name="videoDts"/> that did not cut: its next cut comes
    /// later, so audio before this time belongs to the open segment and may go out as parts.
    /// </summary>
    public void SetVideoProgress(long videoDts)
    {
        _videoProgress = Math.Max(_videoProgress, videoDts);
        TryCutParts();
    }

    /// <summary>True when there is no video: audio then cuts on its own at multiples of the target.</summary>
    public bool SelfTimed { get; init; }

    /// <summary>Frames dropped because no video boundary came to place them.</summary>
    public long Dropped { get; private set; }

    /// <summary>Times re-anchored because the encoder's stamps drifted more than a frame from the sample count.</summary>
    public long Reanchors { get; private set; }

    /// <summary>
    /// Frames dropped because the encoder's stamps fell more than a frame behind the audio already taken (its audio
    /// overlapped itself, e.g. a looping source): dropping keeps the track contiguous and in sync within a frame.
    /// </summary>
    public long OverlapsDropped { get; private set; }

    /// <summary>A jump back further than this is a new timeline (re-anchored), not an overlap to drop.</summary>
    private const long MaxDroppedOverlapMilliseconds = 1000;

    /// <summary>The leading video rendition opened its first segment at this 90 kHz time: audio before it is dropped.</summary>
    public void SetStart(long videoTime)
    {
        if (_startVideoTime is not null) return;
        _startVideoTime = videoTime;
        _openVideoStart = videoTime;
        // Audio that came before the first keyframe (after a rejoin: of the new publisher) has nothing to align with.
        int before = 0;
        while (before < _pending.Count && _pending[before].Time < Timescales.RescaleFloor(videoTime, Timescales.Video,
            _pending[before].Frame.Track.Timescale)) before++;
        if (before == 0) return;
        for (int i = 0; i < before; i++) _pending[i].Frame.Release();
        _pending.RemoveRange(0, before);
        Dropped += before;
    }

    /// <summary>
    /// The publisher went away and comes back with media that does not continue this one: everything held is closed
    /// (after the caller added the leading video's last boundary), the clock re-anchors on the next frame without
    /// counting a jump, and the next segment is discontinuous. Audio before the next video start is dropped.
    /// </summary>
    /// <param name="flush">False when the leading video is not the source's (a transcoder rung that has not cut yet): then
    /// the held audio waits for the rung's boundaries as usual and only the clock and the mark change.</param>
    public void Interrupt(List<ClosedSegment> output, bool flush = true)
    {
        if (flush || SelfTimed) Flush(output);
        _anchored = false;
        _startVideoTime = null;
        _openVideoStart = null;
        _markNext = _lastEmittedInit >= 0;
        _selfNumber = _lastNumber;
        _selfBucket = long.MinValue;
        // The next publisher's media starts a timeline of its own: this one's stop says nothing of it.
        _newestVideoTime = _closedUntil = long.MinValue;
        Stopped = false;
    }

    private bool _markNext;

    public string Rendition => _rendition;

    /// <summary>
    /// The audio continues a broadcast another node packaged up to segment <paramref name="lastNumber"/> with init
    /// versions up to <paramref name="lastInitVersion"/>: its first segment is discontinuous, numbered on, with a new init
    /// version. Call before the first frame.
    /// </summary>
    public void ContinueAfter(long lastNumber, int lastInitVersion)
    {
        if (_track is not null) throw new InvalidOperationException("The rendition has already started.");
        _initVersion = Math.Max(lastInitVersion, -1);
        _lastEmittedInit = _initVersion;
        _lastNumber = lastNumber;
        _selfNumber = lastNumber;
        _markNext = true;
    }

    /// <summary>The leading video rendition closed segment <paramref name="number"/>; the next one starts at <paramref name="videoEnd"/>.</summary>
    public void AddBoundary(long number, long videoEnd, List<ClosedSegment> output, bool final = false)
    {
        _boundaries.Enqueue((number, videoEnd, final));
        // The last video segment's end is not a cut: audio past it belongs to that last segment (see Flush).
        if (final) return;
        TryClose(output);
        if (_boundaries.Count > 0 && _newestVideoTime != long.MinValue && videoEnd - _newestVideoTime > StoppedAfterTicks) CloseStopped(output);
    }

    /// <summary>True while the track has stopped (see <see cref="StoppedAfterTicks"/>), until its next frame.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Times the track stopped while the picture went on.</summary>
    public long Stops { get; private set; }

    /// <summary>
    /// The track stopped while the leader goes on cutting: what it holds goes out now in the segment it belongs to, rather
    /// than waiting for audio that may never come, and the leader's cuts since pass with no segment of this track (the
    /// playlists list those numbers as gaps, RFC 8216bis 4.4.4.7, once the track is back). The boundaries do not pile up
    /// meanwhile, so a stopped track holds no memory that grows.
    /// </summary>
    private void CloseStopped(List<ClosedSegment> output)
    {
        if (!Stopped) Stops++;
        Stopped = true;
        while (_boundaries.Count > 0)
        {
            var (number, videoEnd, _) = _boundaries.Dequeue();
            if (_pending.Count > 0) TakeSegment(number, Timescales.Rescale(videoEnd, Timescales.Video, _pending[0].Frame.Track.Timescale), output);
            _lastNumber = Math.Max(_lastNumber, number);
            _openVideoStart = videoEnd;
            _closedUntil = videoEnd;
        }
    }

    /// <summary>Takes over the caller's reference. Closed segments are appended to <paramref name="output"/>.</summary>
    public void Push(MediaFrame frame, List<ClosedSegment> output)
    {
        var audio = frame.Track as AudioTrack;
        long spf = audio?.SamplesPerFrame ?? 1024;
        if (!ReferenceEquals(frame.Track, _track))
        {
            if (!frame.Track.HasSameConfig(_track))
            {
                _initVersion++;
                _anchored = false; // a new sample rate means a new clock
            }
            _track = frame.Track;
        }

        long expected = _anchor + _count * spf;
        if (_anchored && expected - frame.Dts > spf
            && expected - frame.Dts <= Timescales.Rescale(MaxDroppedOverlapMilliseconds, Timescales.Milliseconds, frame.Track.Timescale))
        {
            // The stamps stepped back into audio already taken: re-anchoring would overlap it, so this frame goes.
            frame.Release();
            OverlapsDropped++;
            return;
        }
        if (!_anchored || Math.Abs(frame.Dts - expected) > spf)
        {
            if (_anchored) Reanchors++;
            _anchored = true;
            _anchor = frame.Dts;
            _count = 0;
            expected = frame.Dts;
        }
        _count++;

        if ((_startVideoTime is long start && expected < Timescales.RescaleFloor(start, Timescales.Video, frame.Track.Timescale))
            || (_closedUntil != long.MinValue && expected < Timescales.RescaleFloor(_closedUntil, Timescales.Video, frame.Track.Timescale)))
        {
            // Before the first video keyframe: nothing to align it with. Or late for segments closed when the track stopped.
            frame.Release();
            Dropped++;
            return;
        }
        Stopped = false;
        _newestVideoTime = Math.Max(_newestVideoTime, Timescales.Rescale(expected, frame.Track.Timescale, Timescales.Video));
        if (!SelfTimed && _startVideoTime is null && _pending.Count >= MaxPendingFrames)
        {
            _pending[0].Frame.Release();
            _pending.RemoveAt(0);
            Dropped++;
        }
        _pending.Add(new Entry(frame, expected, _initVersion));

        if (SelfTimed)
        {
            long target = (long)_segmentSeconds * frame.Track.Timescale;
            long bucket = FloorDiv(expected, target);
            if (_selfBucket == long.MinValue) _selfBucket = bucket;
            else if (bucket > _selfBucket)
            {
                _selfBucket = bucket;
                _boundaries.Enqueue((++_selfNumber, Timescales.Rescale(expected, frame.Track.Timescale, Timescales.Video), false));
            }
        }
        TryClose(output);
        TryCutParts();
    }

    /// <summary>
    /// Cuts parts from the open segment's audio on the segment's <see cref="PartGrid"/>: a part ends before the first
    /// frame that starts after its grid point. That frame must be here and known to belong to the open segment (before
    /// the first pending cut, or before the leader's newest frame), so every duration is final and the segment keeps at
    /// least one frame for its final part. Past the segment's target end parts are filled up to the Part Target, and cut
    /// only once the segment is known to go on for half a cell after the cut: the leader usually cuts right at the target
    /// end, give or take a frame, and the audio up to that cut is the final part (a part cut there would leave a final part
    /// of a frame or two).
    /// </summary>
    private void TryCutParts()
    {
        if (_parts is null || _pending.Count == 0) return;
        int timescale = _pending[0].Frame.Track.Timescale;
        long segmentTarget = (long)_segmentSeconds * timescale;
        long limit = _boundaries.Count > 0 ? Timescales.Rescale(_boundaries.Peek().VideoTime, Timescales.Video, timescale)
            : SelfTimed ? (FloorDiv(_pending[0].Time, segmentTarget) + 1) * segmentTarget
            : _videoProgress == long.MinValue ? long.MinValue : Timescales.Rescale(_videoProgress, Timescales.Video, timescale);
        long segmentStart = SelfTimed ? Timescales.Rescale(FloorDiv(_pending[0].Time, segmentTarget) * segmentTarget, timescale, Timescales.Video)
            : _openVideoStart ?? Timescales.Rescale(_pending[0].Time, timescale, Timescales.Video);
        long halfCell = Timescales.Rescale(_grid.CellTicks, Timescales.Video, timescale) / 2;
        long target = Timescales.RescaleFloor(_grid.TargetTicks, Timescales.Video, timescale);
        int first = _pending[0].InitVersion;
        while (_partFrom < _pending.Count)
        {
            int index = _partStarts.Count + 1;
            int m = _partFrom + 1;
            if (index < _grid.Cells)
            {
                long point = Timescales.Rescale(_grid.Point(segmentStart, index), Timescales.Video, timescale);
                while (m < _pending.Count && !PartGrid.StartsAfter(_pending[m].Time, SamplesPerFrame(m), point)) m++;
            }
            else
            {
                // Past the target end, as the video does: parts filled up to the Part Target.
                long start = _pending[_partFrom].Time;
                while (m < _pending.Count && _pending[m].Time + SamplesPerFrame(m) - start <= target) m++;
            }
            // RFC 8216bis 4.4.4.9, as the video does: a gap in the stamps (the sample before it absorbs it) that would take the
            // part past the Part Target ends the part at the last frame boundary within the target instead.
            while (m < _pending.Count && m - _partFrom >= 2 && _pending[m].Time - _pending[_partFrom].Time > target) m--;
            if (m >= _pending.Count || _pending[m].Time >= limit) return;
            if (index >= _grid.Cells && limit - _pending[m].Time < halfCell) return;
            for (int i = _partFrom; i <= m; i++)
                if (_pending[i].InitVersion != first) return;
            var samples = new CmafSample[m - _partFrom];
            for (int i = _partFrom; i < m; i++) samples[i - _partFrom] = SampleAt(i, nextInSegment: true);
            _partSamples.AddRange(samples);
            long number = _boundaries.Count > 0 ? _boundaries.Peek().Number : _lastNumber + 1;
            long time = _partStarts.Count == 0 ? _pending[0].Time : _partTime;
            var part = new ClosedPart(_rendition, _pending[0].Frame.Track, first, number, _partStarts.Count, time, samples);
            _parts.Add(part);
            _partTime = time + part.Duration;
            _partStarts.Add(_partFrom);
            _partFrom = m;
        }
    }

    private long SamplesPerFrame(int index) => (_pending[index].Frame.Track as AudioTrack)?.SamplesPerFrame ?? 1024;

    /// <summary>
    /// Sample <paramref name="i"/> of the pending frames; across a re-anchor the sample before the jump absorbs the gap, so
    /// the track stays contiguous. The last sample of a segment (<paramref name="nextInSegment"/> false) absorbs a gap to
    /// the next segment's first frame too, unless it is longer than a segment (the audio really stopped).
    /// </summary>
    private CmafSample SampleAt(int i, bool nextInSegment)
    {
        var e = _pending[i];
        long spf = SamplesPerFrame(i);
        long duration = spf;
        if (i + 1 < _pending.Count && _pending[i + 1].Time - e.Time is long gap && gap > 0 && gap != spf
            && (nextInSegment || gap <= (long)_segmentSeconds * e.Frame.Track.Timescale))
            duration = gap;
        return new CmafSample(e.Frame.Data, (uint)Math.Min(duration, uint.MaxValue), 0, true);
    }

    /// <summary>End of stream: closes everything left. Audio past the last video cut joins the last segment.</summary>
    public void Flush(List<ClosedSegment> output)
    {
        while (_boundaries.Count > 0)
        {
            var (number, videoEnd, _) = _boundaries.Dequeue();
            bool last = _boundaries.Count == 0 && !SelfTimed;
            if (_pending.Count > 0)
                TakeSegment(number, last ? long.MaxValue : Timescales.Rescale(videoEnd, Timescales.Video, _pending[0].Frame.Track.Timescale), output);
            _lastNumber = Math.Max(_lastNumber, number);
            _openVideoStart = videoEnd;
        }
        while (_pending.Count > 0) TakeSegment(_lastNumber + 1, long.MaxValue, output);
    }

    private long _lastNumber;
    private int _lastEmittedInit = -1;

    private void TryClose(List<ClosedSegment> output)
    {
        while (_boundaries.Count > 0)
        {
            var (number, videoEnd, final) = _boundaries.Peek();
            // A final end waits for Flush: the audio the publisher sent before the drop may still be on its way.
            if (final || _pending.Count == 0) return;
            long end = Timescales.Rescale(videoEnd, Timescales.Video, _pending[0].Frame.Track.Timescale);
            // Wait until audio has reached the boundary: audio often trails video in an RTMP interleave.
            if (_pending[^1].Time < end) return;
            _boundaries.Dequeue();
            TakeSegment(number, end, output);
            _lastNumber = Math.Max(_lastNumber, number);
            _openVideoStart = videoEnd;
        }
    }

    private void TakeSegment(long number, long end, List<ClosedSegment> output)
    {
        int first = _pending[0].InitVersion;
        int n = 0;
        while (n < _pending.Count && _pending[n].Time < end && _pending[n].InitVersion == first) n++;
        // Nothing before this boundary (a gap in the audio, or a new config starting right here): no segment.
        if (n == 0) return;

        var frames = new List<MediaFrame>(n);
        var samples = new CmafSample[n];
        // Frames already sent as parts keep the samples those parts carried: the segment is their concatenation.
        int fromParts = Math.Min(_partFrom, n);
        for (int i = 0; i < n; i++)
        {
            frames.Add(_pending[i].Frame);
            samples[i] = i < fromParts ? _partSamples[i] : SampleAt(i, nextInSegment: i + 1 < n);
        }
        bool discontinuity = (_lastEmittedInit >= 0 && first != _lastEmittedInit) || _markNext;
        _markNext = false;
        _lastEmittedInit = first;
        int[]? partStarts = null;
        if (_parts is not null)
        {
            int finalStart = fromParts;
            long target = Timescales.RescaleFloor(_grid.TargetTicks, Timescales.Video, _pending[0].Frame.Track.Timescale);
            while (n - finalStart >= 2 && Duration(samples, finalStart, n) > target)
            {
                // RFC 8216bis 4.4.4.9: the final part too lasts at most the Part Target. A jump in the stamps (absorbed by the
                // sample before it, the segment's last one included) would take it past: a part ends at the last frame
                // boundary within the target, and what follows it is the final part.
                int cut = finalStart + 1;
                while (cut + 1 < n && Duration(samples, finalStart, cut + 1) <= target) cut++;
                long time = _partStarts.Count == 0 ? _pending[0].Time : _partTime;
                var part = new ClosedPart(_rendition, _pending[0].Frame.Track, first, number, _partStarts.Count, time, samples[finalStart..cut]);
                _parts.Add(part);
                _partTime = time + part.Duration;
                _partStarts.Add(finalStart);
                finalStart = cut;
            }
            if (finalStart < n) _partStarts.Add(finalStart);
            partStarts = [.. _partStarts];
            if (finalStart < n)
                _parts.Add(new ClosedPart(_rendition, _pending[0].Frame.Track, first, number, partStarts.Length - 1,
                    partStarts.Length == 1 ? _pending[0].Time : _partTime, samples[finalStart..]) { Final = true });
            _partStarts.Clear();
            _partSamples.Clear();
            _partFrom = 0;
        }
        var seg = new ClosedSegment(_rendition, _pending[0].Frame.Track, first, number, _pending[0].Time, frames, samples,
            discontinuity) { PartStarts = partStarts };
        _pending.RemoveRange(0, n);
        _lastNumber = Math.Max(_lastNumber, number);
        output.Add(seg);
    }

    private static long Duration(CmafSample[] samples, int from, int to)
    {
        long duration = 0;
        for (int i = from; i < to; i++) duration += samples[i].Duration;
        return duration;
    }

    /// <summary>Releases what is still held without emitting it (the stream was abandoned).</summary>
    public void Discard()
    {
        foreach (var e in _pending) e.Frame.Release();
        _pending.Clear();
    }

    private static long FloorDiv(long a, long b)
    {
        long q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }
}
