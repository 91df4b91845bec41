using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Live;

/// <summary>
/// What a continued broadcast takes back from the state the dead node stored: where the broadcast began, its ad breaks,
/// each rendition's init numbering, the parts of numbers it skipped, and each rendition's window, put back just before
/// that rendition's first new segment (so the window and the new segments join in one timeline).
/// Serialised by its <see cref="StreamPackager"/>.
/// </summary>
internal sealed class RestoredBroadcast
{
    private readonly string _broadcastId;
    private readonly LowLatencyParts? _lowLatency;
    // Each rendition's window as the dead node stored it, until its first new segment.
    private readonly Dictionary<string, RenditionState> _windows = new(StringComparer.Ordinal);

    public RestoredBroadcast(BroadcastContinuation continues, PackagedBroadcast broadcast, IReadOnlyDictionary<string, RenditionTimeline> byName,
        LiveStateWriter state, SegmentRetention retention, LowLatencyParts? lowLatency)
    {
        _broadcastId = broadcast.BroadcastId;
        _lowLatency = lowLatency;
        broadcast.ContinuedFrom = continues.State.Origin;
        // The dead node's ad breaks: marked again where it marked them, one still running ends here at its planned boundary.
        broadcast.Breaks.Restore((continues.State.Breaks ?? []).Select(b => b.ToBreak()));
        foreach (var r in continues.State.Renditions)
        {
            if (!byName.TryGetValue(r.Name, out var t) || (t.Kind == MediaKind.Video) != r.Video) continue;
            state.NoteRestored(r.Name, r.LastInitVersion);
            if (r.Segments.Count > 0) _windows[r.Name] = r;
            // Numbers skipped after the dead node's last segment (it had stored parts of its open one): those parts go too.
            if (lowLatency is null) continue;
            for (long n = (r.Segments.Count > 0 ? r.Segments[^1].Number : 0) + 1; n < continues.FirstNumber; n++) retention.AbandonParts(r.Name, n);
        }
    }

    /// <summary>Puts back <paramref name="timeline"/>'s restored window when <paramref name="seg"/> is its first new segment.</summary>
    public void BeforeSegment(RenditionTimeline timeline, ClosedSegment seg)
    {
        if (_windows.Remove(seg.Rendition, out var restored) && restored.Timescale == seg.Timescale) Restore(timeline, restored, seg.Track);
    }

    /// <summary>
    /// Puts back the window a dead node stored for this rendition, before the continuation's first segment: its playlist
    /// keeps listing it (RFC 8216 section 6.2.2: segments leave a playlist only from its start). The restored entries keep
    /// the dead node's decoder description (the state keeps one per init version; the init segments they name are the dead
    /// node's, still in the store), so the MPD's Period of them says what they hold; a state without it gives them the new one.
    /// </summary>
    private void Restore(RenditionTimeline timeline, RenditionState state, MediaTrack track)
    {
        timeline.DiscontinuitiesBefore = state.DiscontinuitiesBefore;
        foreach (var s in state.Segments)
        {
            timeline.Add(s.ToDescription(timeline, state.Timescale, _broadcastId, state.TrackFor(s.InitVersion) ?? track), s.ProgramDateTime);
            _lowLatency?.NoteRestored(timeline.Name, s.Number, s.Duration, state.Timescale);
        }
    }
}
