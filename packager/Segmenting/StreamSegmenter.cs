using System.Globalization;
using Broadcast.Media;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// Segments one live stream: N video renditions (the source passthrough, later the transcoder's rungs) and the audio
/// renditions (the default track, then the encoder's alternate tracks). Each video rendition cuts by the same
/// floor(dts / target) rule, so renditions fed the same timestamps share boundaries and numbers; the first video
/// rendition leads every audio rendition's cuts, so a player switching language switches at the same numbers.
/// Pure and single-threaded: the caller serialises calls and owns the I/O.
/// </summary>
public sealed class StreamSegmenter : IDisposable
{
    // Replaced by the low-latency constructor: parts need segmenters that know where to put them.
    private readonly VideoSegmenter[] _video;
    // Index 0 is the default audio (the one the counters and an audio-only stream's timing follow); empty without audio.
    private readonly AudioSegmenter[] _audios;
    private readonly int _segmentSeconds;

    public StreamSegmenter(IReadOnlyList<string> videoRenditions, string? audioRendition, int segmentSeconds)
        : this(videoRenditions, audioRendition, [], segmentSeconds)
    {
    }

    /// <param name="alternateAudio">The encoder's alternate audio renditions, after the default one; only with it.</param>
    public StreamSegmenter(IReadOnlyList<string> videoRenditions, string? audioRendition, IReadOnlyList<string> alternateAudio, int segmentSeconds)
        : this(videoRenditions, audioRendition, alternateAudio, segmentSeconds, partTicks: null)
    {
    }

    /// <summary>
    /// Low latency: every rendition also cuts parts of at most <paramref name="partTicks"/> (90 kHz) as its segment
    /// grows; they collect in <see cref="Parts"/> in the order they were cut, a segment's final part just before it.
    /// </summary>
    public StreamSegmenter(IReadOnlyList<string> videoRenditions, string? audioRendition, int segmentSeconds, long partTicks)
        : this(videoRenditions, audioRendition, [], segmentSeconds, partTicks)
    {
    }

    /// <summary>Low latency with the default audio and the alternates (see the constructor without parts).</summary>
    public StreamSegmenter(IReadOnlyList<string> videoRenditions, string? audioRendition, IReadOnlyList<string> alternateAudio, int segmentSeconds,
        long partTicks)
        : this(videoRenditions, audioRendition, alternateAudio, segmentSeconds, (long?)partTicks)
    {
    }

    private StreamSegmenter(IReadOnlyList<string> videoRenditions, string? audioRendition, IReadOnlyList<string> alternateAudio, int segmentSeconds,
        long? partTicks)
    {
        ArgumentNullException.ThrowIfNull(videoRenditions);
        ArgumentNullException.ThrowIfNull(alternateAudio);
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentSeconds, 1);
        string[] audioRenditions = audioRendition is null ? [] : [audioRendition, .. alternateAudio];
        if (videoRenditions.Count == 0 && audioRenditions.Length == 0)
            throw new ArgumentException("A stream needs at least one rendition.", nameof(videoRenditions));
        _segmentSeconds = segmentSeconds;
        if (partTicks is not long part)
        {
            _video = videoRenditions.Select(r => new VideoSegmenter(r, segmentSeconds)).ToArray();
            _audios = audioRenditions.Select(r => new AudioSegmenter(r, segmentSeconds) { SelfTimed = _video.Length == 0 }).ToArray();
            return;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(part, Timescales.Video / 100, nameof(partTicks));
        Parts = new List<ClosedPart>();
        PartGrid = new PartGrid((long)segmentSeconds * Timescales.Video, part);
        _video = videoRenditions.Select(r => new VideoSegmenter(r, segmentSeconds, PartGrid, Parts)).ToArray();
        _audios = audioRenditions.Select(r => new AudioSegmenter(r, segmentSeconds, PartGrid, Parts) { SelfTimed = _video.Length == 0 }).ToArray();
    }

    /// <summary>Low latency: where parts end inside a segment, and the Part Target Duration to declare.</summary>
    public PartGrid PartGrid { get; }

    /// <summary>Low latency: the Part Target Duration the manifests declare, ms (0 without low latency).</summary>
    public int PartTargetMilliseconds => Parts is null ? 0 : PartGrid.TargetMilliseconds;

    /// <summary>Parts cut so far and not yet taken by the caller (null without low latency). The caller clears it.</summary>
    public List<ClosedPart>? Parts { get; }

    public int SegmentSeconds => _segmentSeconds;

    public IReadOnlyList<string> VideoRenditions => _video.Select(v => v.Rendition).ToArray();

    /// <summary>Audio frames dropped (before the first video keyframe, or held too long without a video cut), every track.</summary>
    public long AudioFramesDropped => _audios.Sum(a => a.Dropped);

    /// <summary>Times an audio clock was re-anchored to the encoder's stamps, every track.</summary>
    public long AudioReanchors => _audios.Sum(a => a.Reanchors);

    /// <summary>Audio frames dropped because the encoder's stamps stepped back into audio already taken, every track.</summary>
    public long AudioOverlapsDropped => _audios.Sum(a => a.OverlapsDropped);

    /// <summary>
    /// The audio renditions whose track has stopped while the picture goes on (no frame for
    /// <see cref="AudioSegmenter.StoppedAfterTicks"/> of the leader's media), until their next frame.
    /// </summary>
    public IReadOnlyList<string> StoppedAudio => _audios.Where(a => a.Stopped).Select(a => a.Rendition).ToArray();

    /// <summary>Times an audio track stopped while the picture went on, every track.</summary>
    public long AudioStops => _audios.Sum(a => a.Stops);

    /// <summary>Longest keyframe interval of the leading video rendition, 90 kHz ticks.</summary>
    public long LongestKeyframeInterval => _video.Length > 0 ? _video[0].LongestKeyframeInterval : 0;

    /// <summary>
    /// A warning when keyframes come less often than the target (segments then last a whole GOP), e.g.
    /// "keyframes every 8 s, longer than the 2 s segment target"; null when all is well.
    /// </summary>
    public string? KeyframeWarning
    {
        get
        {
            if (_video.Length == 0) return null;
            var lead = _video[0];
            long interval = lead.LongestKeyframeInterval;
            if (interval <= lead.TargetTicks + lead.ToleranceTicks) return null;
            decimal seconds = Math.Round(interval / (decimal)Timescales.Video, 1);
            return string.Create(CultureInfo.InvariantCulture,
                $"keyframes every {seconds:0.#} s, longer than the {_segmentSeconds} s segment target");
        }
    }

    /// <summary>Adds a frame of video rendition <paramref name="index"/>; takes over the caller's reference.</summary>
    public void PushVideo(int index, MediaFrame frame, List<ClosedSegment> output)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (frame.Length == 0)
        {
            // An empty access unit (e.g. FLV's AVC end-of-sequence tag) is not a sample: CMAF has nothing to carry.
            frame.Release();
            return;
        }
        var seg = _video[index];
        long dts = frame.Dts;
        var closed = seg.Push(frame);
        if (index == 0 && seg.OpenSegmentStart is long start)
            foreach (var a in _audios) a.SetStart(start);
        if (closed is null)
        {
            if (index == 0 && Parts is not null)
                foreach (var a in _audios) a.SetVideoProgress(dts);
            return;
        }
        output.Add(closed);
        if (index == 0)
            foreach (var a in _audios) a.AddBoundary(closed.Number, closed.StartTime + closed.Duration, output);
    }

    /// <summary>
    /// Every rendition continues a broadcast another node packaged (see <see cref="VideoSegmenter.ContinueAfter"/>):
    /// numbers go on after <paramref name="lastNumber"/>, init versions after each rendition's in
    /// <paramref name="lastInitVersions"/> (absent: none stored), and the first segments are discontinuous.
    /// </summary>
    public void ContinueAfter(long lastNumber, IReadOnlyDictionary<string, int> lastInitVersions)
    {
        ArgumentNullException.ThrowIfNull(lastInitVersions);
        foreach (var v in _video) v.ContinueAfter(lastNumber, lastInitVersions.GetValueOrDefault(v.Rendition, -1));
        foreach (var a in _audios) a.ContinueAfter(lastNumber, lastInitVersions.GetValueOrDefault(a.Rendition, -1));
    }

    /// <summary>
    /// Where an ad break asked for at <paramref name="splicePts"/> (a presentation time, 90 kHz) can start: every video
    /// rendition then starts a segment at its first keyframe presented at or after the returned time
    /// (<see cref="VideoSegmenter.CutAtSplice"/>), and the audio follows the leading one. Renditions agree on that picture
    /// only if none has gone past the point yet, so the point is moved after the latest picture any rendition has taken
    /// (a transcoder rung trails its source; a break asked "now" starts at the next keyframe). A splice time 20 ms early
    /// still meets its keyframe: RTMP stamps are whole milliseconds, and an encoder that conditions the splice (an IDR at
    /// the splice time, as SCTE-35 encoders do) may stamp it a tick before the time it signalled. With <paramref name="returnAfter"/>
    /// (the break's planned duration,
    /// 90 kHz) the return gets a cut too, at the first keyframe from that long after the returned time on: where a
    /// conditioning encoder puts its return IDR, and never before the planned end. Null without video.
    /// </summary>
    public long? ScheduleSpliceCut(long splicePts, long? returnAfter = null)
    {
        if (_video.Length == 0) return null;
        long after = _video.Max(v => v.LastPushedPts);
        long at = Math.Max(splicePts - SpliceEarlyTolerance, after == long.MinValue ? long.MinValue : after + 1);
        foreach (var v in _video)
        {
            v.CutAtSplice(at);
            if (returnAfter is long duration) v.CutAtSplice(at + duration);
        }
        return at;
    }

    /// <summary>How far before a signalled splice time its keyframe may be stamped: 20 ms (RTMP's 1 ms stamps, one tick either way).</summary>
    public const long SpliceEarlyTolerance = Timescales.Video / 50;

    /// <summary>Marks the next segment of video rendition <paramref name="index"/> discontinuous (its producer restarted).</summary>
    public void MarkDiscontinuity(int index) => _video[index].MarkDiscontinuity();

    /// <summary>
    /// The source's publisher reconnected (<see cref="MediaFrame.Epoch"/> changed): video rendition
    /// <paramref name="videoIndex"/> (the one fed by the source, or -1 when none is) and the audio close what they
    /// hold and continue with discontinuous segments under the next numbers. Renditions fed by another producer
    /// (transcoder rungs) follow their producer's own restart (<see cref="MarkDiscontinuity"/>).
    /// </summary>
    public void Interrupt(int videoIndex, List<ClosedSegment> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (videoIndex >= 0 && _video[videoIndex].Interrupt() is { } closed)
        {
            output.Add(closed);
            if (videoIndex == 0) AddFinalAudioBoundary(closed, output);
        }
        // A leading rung that already stopped at the drop was waiting for this audio: it closes now.
        bool flush = videoIndex == 0 || _leadAtDrop;
        _leadAtDrop = _audioAtDrop = false;
        foreach (var a in _audios) a.Interrupt(output, flush);
    }

    private void AddFinalAudioBoundary(ClosedSegment leaderClosed, List<ClosedSegment> output)
    {
        foreach (var a in _audios) a.AddBoundary(leaderClosed.Number, leaderClosed.StartTime + leaderClosed.Duration, output, final: true);
    }

    // Without passthrough the audio comes from the source and the leading video from a transcoder rung: each reaches
    // a drop on its own reader, in either order. The audio's last segment ends with the rung's and must hold all the
    // source's audio before the drop, so the audio closes once both have arrived.
    private bool _leadAtDrop;
    private bool _audioAtDrop;

    /// <summary>
    /// The producer of video rendition <paramref name="index"/> stopped (its publisher dropped, or a transcoder rung
    /// drained at that drop): its open segment closes now at its last frame, and its next segment (the next number,
    /// from the next keyframe) is discontinuous. The leading rendition (index 0) closes the audio at the same end.
    /// </summary>
    /// <param name="audioAtDrop">True when the caller's reader also carries the audio (the source passthrough), so the
    /// audio has reached the drop too; false for a transcoder rung, whose audio comes with <see cref="InterruptAudio"/>.</param>
    public void InterruptVideo(int index, List<ClosedSegment> output, bool audioAtDrop = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_video[index].Interrupt() is { } closed)
        {
            output.Add(closed);
            if (index == 0) AddFinalAudioBoundary(closed, output);
        }
        if (index != 0) return;
        _leadAtDrop = true;
        _audioAtDrop |= audioAtDrop;
        CloseAudioAtDrop(output);
    }

    /// <summary>
    /// The source's audio reached a drop while the leading video is a transcoder rung: the audio closes once that rung
    /// has stopped too (<see cref="InterruptVideo"/>), at the rung's last frame, with every audio frame sent before the drop.
    /// </summary>
    public void InterruptAudio(List<ClosedSegment> output)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (_video.Length == 0)
        {
            Interrupt(-1, output);
            return;
        }
        _audioAtDrop = true;
        CloseAudioAtDrop(output);
    }

    private void CloseAudioAtDrop(List<ClosedSegment> output)
    {
        if (!_leadAtDrop || !_audioAtDrop) return;
        _leadAtDrop = _audioAtDrop = false;
        foreach (var a in _audios) a.Interrupt(output, flush: true);
    }

    /// <summary>Adds a frame of the default audio; takes over the caller's reference.</summary>
    public void PushAudio(MediaFrame frame, List<ClosedSegment> output) => PushAudio(0, frame, output);

    /// <summary>Adds a frame of audio rendition <paramref name="index"/> (0: the default); takes over the caller's reference.</summary>
    public void PushAudio(int index, MediaFrame frame, List<ClosedSegment> output)
    {
        ArgumentNullException.ThrowIfNull(frame);
        if (index >= _audios.Length || frame.Length == 0)
        {
            frame.Release();
            return;
        }
        _audios[index].Push(frame, output);
    }

    /// <summary>End of stream: closes every open segment.</summary>
    public void Flush(List<ClosedSegment> output)
    {
        for (int i = 0; i < _video.Length; i++)
        {
            var closed = _video[i].Flush();
            if (closed is null) continue;
            output.Add(closed);
            if (i == 0) AddFinalAudioBoundary(closed, output);
        }
        foreach (var a in _audios) a.Flush(output);
    }

    public void Dispose()
    {
        foreach (var v in _video) v.Flush()?.Dispose();
        foreach (var a in _audios) a.Discard();
    }
}
