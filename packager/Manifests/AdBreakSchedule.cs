using Broadcast.Media;
using Broadcast.Media.Scte35;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// One ad break placed on the leading rendition's segment grid. It starts at the start of segment
/// <see cref="StartNumber"/> and ends at the start of <see cref="EndNumber"/> (once that segment exists), so every
/// rendition (they share segment numbers and boundaries) marks the same two edges. Times are ticks of
/// <see cref="Timescale"/>, the leading rendition's.
/// </summary>
public sealed record AdBreak(
    uint EventId,
    long StartNumber,
    DateTimeOffset StartDate,
    long StartTime,
    long StartPresentation,
    int Timescale,
    long PlannedDuration,
    ReadOnlyMemory<byte> OutSection)
{
    /// <summary>The DATERANGE ID: one per splice out/in pair (RFC 8216 §4.4.5.1.4).</summary>
    public string Id => $"splice-{EventId}";

    /// <summary>The segment at whose start the programme returns; null while the break runs.</summary>
    public long? EndNumber { get; init; }

    /// <summary>The real length, from the break's first segment to <see cref="EndNumber"/>'s start; null while it runs.</summary>
    public long? Duration { get; init; }

    /// <summary>
    /// Where the segmenter cuts for the return (ticks of <see cref="Timescale"/>, a presentation time): the break ends with
    /// the first segment presented from there on. Null for a break another node placed (then: the boundary nearest its
    /// planned end).
    /// </summary>
    public long? ReturnAt { get; init; }

    /// <summary>The splice_info_section of the return (out_of_network_indicator 0); empty while the break runs.</summary>
    public ReadOnlyMemory<byte> InSection { get; init; }
}

/// <summary>
/// The ad breaks of one broadcast: asked-for breaks wait for the leading rendition's next segment boundary, then are
/// <see cref="AdBreak"/>s the manifest writers mark (HLS DATERANGE and CUE tags, DASH EventStream).
/// <para>
/// Where a break begins: segments start on keyframes, and those are the encoder's (the transcoder gives every rung the
/// source's with <c>-force_key_frames source</c>; nothing here can add one, and a running ffmpeg reads that option once,
/// at launch). The packager therefore has every rendition cut a segment at the first keyframe presented at or after the
/// splice time (<see cref="Segmenting.StreamSegmenter.ScheduleSpliceCut"/>) and passes that time here: a break begins
/// with the first leader segment presented from it on. An encoder that put an IDR at its splice time gets the break
/// exactly there; otherwise it begins at the next keyframe. Its return is cut the same way, its planned duration after
/// that time, and it ends with the segment starting there (a return IDR the encoder put at the planned end makes it
/// exact; otherwise the first keyframe after, so the break is never cut short). Every rendition has its boundaries at the
/// same media times, so all of them mark the same edges.
/// </para>
/// Breaks do not overlap (an SCTE-35 avail is one at a time): a cue that arrives while another break waits or runs is
/// refused, which also bounds the list by the broadcast's length.
/// </summary>
public sealed class AdBreakSchedule(int segmentSeconds)
{
    private readonly List<AdBreak> _placed = new();
    private (SpliceCue Cue, long SpliceTime, int Timescale, long? ReturnAt)? _pending;

    /// <summary>Placed breaks, oldest first; the newest may still run.</summary>
    public IReadOnlyList<AdBreak> Placed => _placed;

    /// <summary>No break waits or runs: <see cref="TryAdd"/> would take one.</summary>
    public bool CanAdd => _pending is null && (_placed.Count == 0 || _placed[^1].EndNumber is not null);

    /// <summary>
    /// Asks for a break starting at <paramref name="spliceTime"/> (ticks of <paramref name="timescale"/>, the leading
    /// rendition's media time). False when a break already waits or runs.
    /// </summary>
    public bool TryAdd(SpliceCue cue, long spliceTime, int timescale, long? returnAt = null)
    {
        ArgumentNullException.ThrowIfNull(cue);
        if (!CanAdd) return false;
        _pending = (cue, spliceTime, timescale, returnAt);
        return true;
    }

    /// <summary>
    /// The leading rendition stored <paramref name="segment"/>: a waiting break whose splice time it reaches starts
    /// here, a running break whose planned end is nearest to its start ends here. Returns the break that changed, or null.
    /// </summary>
    public AdBreak? OnLeaderSegment(TimelineEntry segment)
    {
        ArgumentNullException.ThrowIfNull(segment);
        int timescale = segment.Segment.Timescale;
        if (_placed.Count > 0 && _placed[^1] is { EndNumber: null } running && segment.Number > running.StartNumber)
        {
            long plannedEnd = running.StartTime + Timescales.Rescale(running.PlannedDuration, running.Timescale, timescale);
            // Where the segmenter cut for the return, the first segment presented from there on; otherwise (a break a
            // dead node placed) the boundary nearest the planned end: half a segment early is closer than a whole one late.
            if (running.ReturnAt is long cutForReturn
                    ? segment.PresentationStart >= Timescales.Rescale(cutForReturn, running.Timescale, timescale)
                    : segment.Start >= plannedEnd - (long)segmentSeconds * timescale / 2)
            {
                long duration = Timescales.Rescale(segment.Start - running.StartTime, timescale, running.Timescale);
                var ended = running with
                {
                    EndNumber = segment.Number,
                    Duration = duration,
                    InSection = Section(running.EventId, outOfNetwork: false,
                        Timescales.Rescale(segment.PresentationStart, timescale, Timescales.Video), null),
                };
                _placed[^1] = ended;
                return ended;
            }
            return null;
        }
        // The splice time is a presentation time (SCTE 35 9.6.3; the segmenter cut at the keyframe presented from it on).
        if (_pending is not { } pending || segment.PresentationStart < Timescales.Rescale(pending.SpliceTime, pending.Timescale,
            timescale)) return null;
        _pending = null;
        var cue = pending.Cue;
        long planned = Timescales.Rescale(cue.Duration, Timescales.Video, timescale);
        var placed = new AdBreak(cue.EventId, segment.Number, segment.ProgramDateTime, segment.Start, segment.PresentationStart, timescale, planned,
            cue.Section is { } sent ? sent.ToArray() : Section(cue.EventId, outOfNetwork: true,
                Timescales.Rescale(segment.PresentationStart, timescale, Timescales.Video), cue.Duration))
        {
            ReturnAt = pending.ReturnAt is long returnAt ? Timescales.Rescale(returnAt, pending.Timescale, timescale) : null,
        };
        _placed.Add(placed);
        return placed;
    }

    /// <summary>
    /// A broadcast continued after its node died: the breaks it had placed, oldest first (the newest may still run, and
    /// then ends at its planned boundary here). Only before this schedule placed any.
    /// </summary>
    public void Restore(IEnumerable<AdBreak> breaks)
    {
        ArgumentNullException.ThrowIfNull(breaks);
        if (_placed.Count > 0 || _pending is not null) throw new InvalidOperationException("breaks are restored before any is placed");
        _placed.AddRange(breaks);
    }

    /// <summary>
    /// The broadcast ended: a break still running ends with it, at the end of the leading rendition's last segment
    /// <paramref name="last"/> (its <see cref="AdBreak.EndNumber"/> the number that segment would have been followed by),
    /// so the ended playlists, the recording and the MPD close it with its real length instead of leaving the audience "in
    /// the break" for ever; a break asked for and not begun is dropped. Returns the break that ended, or null.
    /// </summary>
    public AdBreak? CloseAtEnd(TimelineEntry last)
    {
        ArgumentNullException.ThrowIfNull(last);
        _pending = null;
        if (_placed.Count == 0 || _placed[^1] is not { EndNumber: null } running || last.Number < running.StartNumber) return null;
        int timescale = last.Segment.Timescale;
        var ended = running with
        {
            EndNumber = last.Number + 1,
            Duration = Timescales.Rescale(last.End - Timescales.Rescale(running.StartTime, running.Timescale, timescale), timescale,
                running.Timescale),
            InSection = Section(running.EventId, outOfNetwork: false, Timescales.Rescale(last.PresentationEnd, timescale, Timescales.Video), null),
        };
        _placed[^1] = ended;
        return ended;
    }

    /// <summary>
    /// The splice_insert this service writes when the encoder sent none (the breaks API, a YouTube-style cue point): a
    /// program splice at the break's edge, 90 kHz PTS of the packaged media, break_duration with auto return on the out.
    /// </summary>
    private static byte[] Section(uint eventId, bool outOfNetwork, long pts, long? duration) => new SpliceInfoSection
    {
        CommandType = SpliceCommandType.SpliceInsert,
        Insert = new SpliceInsert
        {
            EventId = eventId, OutOfNetwork = outOfNetwork, PtsTime = pts & SpliceInfoSection.PtsMask, BreakDuration = duration,
            AutoReturn = duration is not null,
        },
    }.ToArray();
}
