using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// A partial segment (LL-HLS part, LL-DASH chunk): the frames of the open segment since the previous part, as one
/// CMAF fragment. It does not own its frames: the segmenter keeps them for the whole segment, so a part's bytes
/// must be written before the next frame is pushed. The segment closed later is the concatenation of its parts
/// (the same samples, cut at <see cref="ClosedSegment.PartStarts"/>).
/// </summary>
public sealed class ClosedPart
{
    internal ClosedPart(string rendition, MediaTrack track, int initVersion, long number, int index, long startTime, CmafSample[] samples)
    {
        Rendition = rendition;
        Track = track;
        InitVersion = initVersion;
        Number = number;
        Index = index;
        StartTime = startTime;
        Samples = samples;
        long duration = 0;
        foreach (var s in samples) duration += s.Duration;
        Duration = duration;
    }

    public string Rendition { get; }

    public MediaTrack Track { get; }

    public int InitVersion { get; }

    /// <summary>Number of the segment this part belongs to.</summary>
    public long Number { get; }

    /// <summary>0-based index of the part within its segment.</summary>
    public int Index { get; }

    /// <summary>Decode time of the first sample, in the track's timescale.</summary>
    public long StartTime { get; }

    public long Duration { get; }

    public CmafSample[] Samples { get; }

    public int Timescale => Track.Timescale;

    /// <summary>The last part of its segment: emitted when the segment closes, just before it.</summary>
    public bool Final { get; internal init; }

    /// <summary>Starts with a sync sample: a player may start decoding here (HLS INDEPENDENT=YES).</summary>
    public bool Independent => Samples.Length > 0 && Samples[0].IsSync;
}
