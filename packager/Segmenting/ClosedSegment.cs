using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// A media segment the segmenter has closed: its samples (timed for a CMAF fragment) and the frames that back
/// their payloads. Owns one reference of each frame; <see cref="Dispose"/> releases them once the bytes are written.
/// </summary>
public sealed class ClosedSegment : IDisposable
{
    private readonly List<MediaFrame> _frames;
    private int _disposed;

    internal ClosedSegment(string rendition, MediaTrack track, int initVersion, long number, long startTime, List<MediaFrame> frames,
        CmafSample[] samples, bool discontinuity)
    {
        Rendition = rendition;
        Track = track;
        InitVersion = initVersion;
        Number = number;
        StartTime = startTime;
        _frames = frames;
        Samples = samples;
        Discontinuity = discontinuity;
        long duration = 0, bytes = 0;
        long first = long.MaxValue, last = long.MinValue;
        foreach (var s in samples)
        {
            // Presentation time = decode time + composition offset (ISO/IEC 14496-12 8.6.1.3); no edit list is written.
            long pts = duration + s.CompositionOffset;
            first = Math.Min(first, pts);
            last = Math.Max(last, pts + s.Duration);
            duration += s.Duration;
            bytes += s.Data.Length;
        }
        Duration = duration;
        PayloadBytes = bytes;
        PresentationStartOffset = samples.Length == 0 ? 0 : first;
        PresentationEndOffset = samples.Length == 0 ? 0 : last - duration;
    }

    public string Rendition { get; }

    /// <summary>The decoder configuration every sample of this segment uses.</summary>
    public MediaTrack Track { get; }

    /// <summary>0 for the broadcast's first init segment of this rendition; +1 on each decoder-configuration change.</summary>
    public int InitVersion { get; }

    /// <summary>Segment number, shared by every rendition of the stream for the same media time span.</summary>
    public long Number { get; }

    /// <summary>baseMediaDecodeTime of the first sample, in <see cref="MediaTrack.Timescale"/> ticks.</summary>
    public long StartTime { get; }

    /// <summary>Sum of sample durations, in the track's timescale.</summary>
    public long Duration { get; }

    public long PayloadBytes { get; }

    /// <summary>
    /// Earliest presentation time minus <see cref="StartTime"/>: with B-frames the first picture is shown a
    /// couple of frames after it is decoded (an ffmpeg/x264 stream starts at pts = dts + 2 frames). 0 for audio.
    /// </summary>
    public long PresentationStartOffset { get; }

    /// <summary>Latest presentation end (pts + duration over the samples) minus the decode end <c>StartTime + Duration</c>.</summary>
    public long PresentationEndOffset { get; }

    public bool Discontinuity { get; }

    public bool StartsWithKeyframe => Samples.Length > 0 && Samples[0].IsSync;

    public CmafSample[] Samples { get; }

    public int Timescale => Track.Timescale;

    /// <summary>
    /// With low latency on: the index in <see cref="Samples"/> where each of the segment's parts starts (the first
    /// is 0); the segment's bytes are the concatenation of these parts. Null when the segment was cut without parts.
    /// </summary>
    public int[]? PartStarts { get; internal init; }

    /// <summary>The samples of part <paramref name="index"/> (see <see cref="PartStarts"/>).</summary>
    public ReadOnlySpan<CmafSample> PartSamples(int index)
    {
        if (PartStarts is null) return index == 0 ? Samples : throw new ArgumentOutOfRangeException(nameof(index));
        int start = PartStarts[index];
        int end = index + 1 < PartStarts.Length ? PartStarts[index + 1] : Samples.Length;
        return Samples.AsSpan(start, end - start);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var f in _frames) f.Release();
        _frames.Clear();
    }
}

/// <summary>
/// The neutral description of a stored segment that HLS and DASH writers listen to (shaka-packager's
/// MuxerListener::OnNewSegment role): no bytes, only what a manifest needs.
/// </summary>
public sealed record SegmentDescription(
    string Rendition,
    MediaKind Kind,
    long Number,
    long StartTime,
    long Duration,
    int Timescale,
    long ByteSize,
    bool StartsWithKeyframe,
    bool Discontinuity,
    string InitName,
    MediaTrack Track,
    int SampleCount,
    long PresentationStartOffset = 0,
    long PresentationEndOffset = 0)
{
    /// <summary>Earliest presentation time of the segment (decode start plus the composition delay), in <see cref="Timescale"/> ticks.</summary>
    public long PresentationStart => StartTime + PresentationStartOffset;

    /// <summary>Latest presentation end of the segment, in <see cref="Timescale"/> ticks.</summary>
    public long PresentationEnd => StartTime + Duration + PresentationEndOffset;

    /// <summary>The version of the init segment (<see cref="InitName"/>) this segment needs.</summary>
    public int InitVersion { get; init; }

    public string FileName(string broadcastId) => FileNameOf(broadcastId, Number);

    /// <summary>The media segment file of number <paramref name="number"/> in every rendition of a broadcast.</summary>
    public static string FileNameOf(string broadcastId, long number) => $"{broadcastId}-{number}.m4s";
}
