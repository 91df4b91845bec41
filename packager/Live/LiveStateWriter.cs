using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// Keeps the broadcast's <see cref="LiveBroadcastState"/> in the store beside its manifests, so a node that takes the
/// channel over after this one died continues the same broadcast (<see cref="LivePackager.PrepareContinuationAsync"/>).
/// Written ahead of the live manifests of every segment batch (after the segments it lists are stored), so the state
/// names at least every segment a playlist names: a node that dies between the two writes leaves nothing a continuation
/// could contradict. Written once more, marked ended, when the broadcast ends: an ended state is never continued. A
/// recorded broadcast's state lists each rendition from its window or from the first number its
/// <see cref="RecordingJournal"/> has not stored, whichever is earlier.
/// </summary>
internal sealed class LiveStateWriter(PackagedBroadcast broadcast, RecordingJournal? journal) : IPackagerListener
{
    private const string ContentType = "application/json";
    private const string CacheControl = "no-store";
    private readonly Dictionary<string, int> _lastInit = new(StringComparer.Ordinal);

    public void OnInitStored(string rendition, int initVersion, long bytes) =>
        _lastInit[rendition] = Math.Max(initVersion, _lastInit.GetValueOrDefault(rendition, -1));

    public Task OnSegmentsAddedAsync(CancellationToken cancellationToken) => WriteAsync(ended: false, cancellationToken);

    public Task OnEndedAsync(CancellationToken cancellationToken) => WriteAsync(ended: true, cancellationToken);

    /// <summary>Restored renditions already hold init versions up to the dead node's; new ones number above them.</summary>
    public void NoteRestored(string rendition, int lastInitVersion) =>
        _lastInit[rendition] = Math.Max(lastInitVersion, _lastInit.GetValueOrDefault(rendition, -1));

    private async Task WriteAsync(bool ended, CancellationToken cancellationToken)
    {
        var state = Capture(ended);
        await broadcast.Store.PutAsync(LiveBroadcastState.Key(broadcast.Channel), state.ToJson(), ContentType, CacheControl,
            cancellationToken).ConfigureAwait(false);
    }

    internal LiveBroadcastState Capture(bool ended)
    {
        var renditions = new List<RenditionState>();
        long journaled = journal?.JournaledThrough ?? 0;
        var firstListed = new Dictionary<RenditionTimeline, int>();
        foreach (var t in broadcast.AllTimelines())
        {
            int start = FirstListed(t, journaled);
            firstListed[t] = start;
            long before = t.DiscontinuitiesBefore;
            for (int i = 0; i < start; i++)
                if (t.Entries[i].Segment.Discontinuity) before++;
            var segments = new List<SegmentState>(t.Entries.Count - start);
            for (int i = start; i < t.Entries.Count; i++) segments.Add(SegmentState.Of(t.Entries[i]));
            renditions.Add(new RenditionState(t.Name, t.Kind == Media.MediaKind.Video, t.Timescale, _lastInit.GetValueOrDefault(t.Name, -1),
                before, segments, RenditionState.TracksOf(t.Entries.Skip(start))));
        }
        // The origin of the leader's first listed segment: a node restoring this state holds entries from there on.
        var lead = broadcast.Leader;
        long windowFirst = lead is { Entries.Count: > 0 } ? lead.Entries[firstListed[lead]].Number : 0;
        var origin = new BroadcastOrigin(broadcast.AvailabilityStart(), broadcast.PresentationOrigin() ?? 0, broadcast.PeriodIdAt(windowFirst),
            broadcast.PeriodStartAt(windowFirst));
        return new LiveBroadcastState(LiveBroadcastState.CurrentVersion, broadcast.BroadcastId, broadcast.Time.GetUtcNow(), ended, origin, renditions,
            journaled,
            [.. broadcast.Breaks.Placed.Select(BreakState.Of)],
            broadcast.Protection is { } protection ? ProtectionState.Of(protection, broadcast.Keys!.Periods, OldestListed(firstListed)) : null);
    }

    /// <summary>The number of the oldest segment the state lists of any rendition (long.MaxValue when it lists none).</summary>
    private static long OldestListed(Dictionary<RenditionTimeline, int> firstListed)
    {
        long oldest = long.MaxValue;
        foreach (var (t, start) in firstListed)
            if (start < t.Entries.Count) oldest = Math.Min(oldest, t.Entries[start].Number);
        return oldest;
    }

    /// <summary>The window's start, or the first entry above <paramref name="journaled"/> when that is earlier (the journal's tail).</summary>
    private int FirstListed(RenditionTimeline t, long journaled)
    {
        int start = broadcast.WindowStart(t);
        if (journal is null) return start;
        while (start > 0 && t.Entries[start - 1].Number > journaled) start--;
        return start;
    }
}
