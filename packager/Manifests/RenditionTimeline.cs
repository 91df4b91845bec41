using Broadcast.Media;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Manifests;

/// <summary>One stored segment as the manifests see it.</summary>
public sealed record TimelineEntry(SegmentDescription Segment, DateTimeOffset ProgramDateTime)
{
    public long Number => Segment.Number;
    public long Start => Segment.StartTime;
    public long Duration => Segment.Duration;
    public long End => Segment.StartTime + Segment.Duration;

    /// <summary>Earliest presentation time (pts) of the segment: what DASH presentationTimeOffset is measured against.</summary>
    public long PresentationStart => Segment.PresentationStart;

    /// <summary>Latest presentation end of the segment: where the media really stops playing.</summary>
    public long PresentationEnd => Segment.PresentationEnd;
}

/// <summary>
/// Everything one rendition has stored in this broadcast, in order, plus the measurements the manifests publish
/// (peak and average bitrate from real segment sizes, the longest segment). HLS and DASH both read this.
/// </summary>
public sealed class RenditionTimeline
{
    private readonly List<TimelineEntry> _entries = new();
    private long _bytes;
    private long _durationTicks;
    private long _runSamples;
    private long _runTicks;

    public RenditionTimeline(string name, MediaKind kind)
    {
        Name = name;
        Kind = kind;
    }

    public string Name { get; }

    public MediaKind Kind { get; }

    /// <summary>An audio rendition's language and purpose, as its encoder labelled the track.</summary>
    public AudioLabel AudioLabel { get; init; } = AudioLabel.Unlabelled;

    public IReadOnlyList<TimelineEntry> Entries => _entries;

    /// <summary>The decoder configuration of the newest segment.</summary>
    public MediaTrack? Track => _entries.Count > 0 ? _entries[^1].Segment.Track : null;

    public int Timescale => _entries.Count > 0 ? _entries[^1].Segment.Timescale : 1;

    /// <summary>Highest bitrate of any one segment, bits per second (HLS BANDWIDTH, RFC 8216 section 4.3.4.2).</summary>
    public long PeakBitrate { get; private set; }

    /// <summary>Total bytes over total duration, bits per second (HLS AVERAGE-BANDWIDTH).</summary>
    public long AverageBitrate => _durationTicks == 0 ? 0 : (long)((Int128)_bytes * 8 * Timescale / _durationTicks);

    /// <summary>
    /// The frame rate the manifests declare for the newest track (see <see cref="ManifestFrameRate"/>), measured over the
    /// segments since its decoder configuration last changed (a reconnect at another rate starts a new measure); null
    /// for audio or when nothing can be said.
    /// </summary>
    public FrameRate? FrameRate => Kind == MediaKind.Video ? ManifestFrameRate.Choose(Track as VideoTrack, _runSamples, _runTicks, Timescale) : null;

    /// <summary>
    /// The rendition's producer stopped for good before the stream ended (a transcoder rung shed because the machine
    /// cannot keep up). Its media playlist then ends (EXT-X-ENDLIST) and the master playlist and the MPD leave it
    /// out, so players switch to the renditions still growing instead of stalling on one that never will.
    /// </summary>
    public bool Retired { get; private set; }

    /// <summary>Marks the rendition retired (see <see cref="Retired"/>); its entries stay for its ended playlist.</summary>
    public void Retire() => Retired = true;

    /// <summary>
    /// Discontinuities before the first entry: a broadcast continued on another node restores only the window the dead
    /// node stored, and EXT-X-DISCONTINUITY-SEQUENCE (RFC 8216 section 4.3.3.3) must still count those that left it.
    /// </summary>
    public long DiscontinuitiesBefore { get; set; }

    /// <summary>Longest segment duration seen, in ticks of <see cref="Timescale"/>.</summary>
    public long LongestDuration { get; private set; }

    /// <summary>
    /// The media time a whole-broadcast playlist of this rendition lists, in ticks of <see cref="Timescale"/>: every
    /// segment's duration plus the holes its EXT-X-GAP entries fill (see <see cref="HlsPlaylistWriter"/>), i.e. what
    /// its EXTINF values add up to before their rounding to milliseconds.
    /// </summary>
    public long ListedDuration
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _entries.Count; i++)
            {
                var e = _entries[i];
                long listed = e.Duration;
                if (i > 0 && e.Number - _entries[i - 1].Number > 1) listed += Math.Max(0, e.Start - _entries[i - 1].End);
                total += Timescales.Rescale(listed, e.Segment.Timescale, Timescale);
            }
            return total;
        }
    }

    public void Add(SegmentDescription segment, DateTimeOffset programDateTime)
    {
        if (_entries.Count > 0 && !segment.Track.HasSameConfig(_entries[^1].Segment.Track))
        {
            _runSamples = 0;
            _runTicks = 0;
        }
        _entries.Add(new TimelineEntry(segment, programDateTime));
        _bytes += segment.ByteSize;
        _durationTicks += segment.Duration;
        _runSamples += segment.SampleCount;
        _runTicks += segment.Duration;
        LongestDuration = Math.Max(LongestDuration, segment.Duration);
        if (segment.Duration > 0)
            PeakBitrate = Math.Max(PeakBitrate, (long)((Int128)segment.ByteSize * 8 * segment.Timescale / segment.Duration));
    }

    /// <summary>
    /// The live window: the last <paramref name="windowSegments"/> entries, or with DVR every entry that ends
    /// within <paramref name="dvrSeconds"/> of the newest (never fewer than three, RFC 8216 section 6.2.2).
    /// </summary>
    public int WindowStart(int windowSegments, int dvrSeconds)
    {
        if (_entries.Count == 0) return 0;
        if (dvrSeconds <= 0) return Math.Max(0, _entries.Count - windowSegments);
        long keep = (long)dvrSeconds * Timescale;
        long end = _entries[^1].End;
        int start = _entries.Count - 1;
        while (start > 0 && end - _entries[start - 1].Start <= keep) start--;
        return Math.Min(start, Math.Max(0, _entries.Count - 3));
    }
}
