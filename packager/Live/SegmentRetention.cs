using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// What leaves the store, and when: segments (and their parts) of an unrecorded broadcast that slid out of every live
/// window go after the delete grace period; a recorded broadcast keeps its segments for the recording, but a
/// low-latency one's parts still go (the VOD manifests name no parts). At the end, the last window of an unrecorded
/// broadcast is handed to <see cref="LivePackager"/>, which deletes it once the channel's next broadcast replaced its playlists.
/// Segments and init segments a clip holds (<see cref="IRetentionHold"/>) stay, and are asked about again every grace
/// period while the broadcast runs: the clip's playlist names them until the clip is deleted.
/// </summary>
internal sealed class SegmentRetention(PackagedBroadcast broadcast, LowLatencyParts? lowLatency, IRetentionHold hold) : IPackagerListener
{
    private readonly Dictionary<string, int> _storedInit = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _deletedUpTo = new(StringComparer.Ordinal);
    private readonly List<(DateTimeOffset Due, string Key)> _pendingDeletes = new();
    private readonly List<(string Rendition, long Number)> _abandoned = new();

    /// <summary>When the last scheduled delete is due, or null.</summary>
    public DateTimeOffset? LastDeleteDue => _pendingDeletes.Count == 0 ? null : _pendingDeletes.Max(d => d.Due);

    public void OnInitStored(string rendition, int initVersion, long bytes) => _storedInit[rendition] = initVersion;

    public async Task OnSegmentsAddedAsync(CancellationToken cancellationToken)
    {
        ScheduleDeletes();
        SchedulePartDeletesOfRecording();
        await ScheduleAbandonedPartDeletesAsync(cancellationToken).ConfigureAwait(false);
        await RunDueDeletesAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A continued broadcast skips the number of the segment its dead node had begun (and announced parts of): no segment
    /// of ours ever names those parts, so they are listed from the store and go once any player that loaded them from the
    /// dead node's playlist is done with them (the live window's length plus the delete grace).
    /// </summary>
    public void AbandonParts(string rendition, long number) => _abandoned.Add((rendition, number));

    private async Task ScheduleAbandonedPartDeletesAsync(CancellationToken cancellationToken)
    {
        if (_abandoned.Count == 0) return;
        var due = broadcast.Time.GetUtcNow().AddSeconds(broadcast.WindowSeconds + broadcast.Options.DeleteGraceSeconds);
        foreach (var (rendition, number) in _abandoned)
        {
            string prefix = $"{broadcast.Channel}/{rendition}/{LowLatencyPlaylist.PartPrefix(broadcast.BroadcastId, number)}";
            await foreach (var key in broadcast.Store.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
                if (LowLatencyPlaylist.TryParsePartName(key, out _, out _)) _pendingDeletes.Add((due, key));
        }
        _abandoned.Clear();
    }

    public Task OnEndedAsync(CancellationToken cancellationToken) => RunDueDeletesAsync(cancellationToken);

    /// <summary>Deletes that were scheduled (segments out of the window) and are due; the rest, when <paramref name="all"/>.</summary>
    public async Task RunDueDeletesAsync(CancellationToken cancellationToken, bool all = false)
    {
        var now = broadcast.Time.GetUtcNow();
        var due = _pendingDeletes.Where(d => all || d.Due <= now).Select(d => d.Key).ToList();
        if (due.Count == 0) return;
        _pendingDeletes.RemoveAll(d => all || d.Due <= now);
        try
        {
            var held = await RetentionHolds.DeleteUnheldAsync(broadcast.Store, hold, broadcast.Channel, broadcast.BroadcastId, due,
                cancellationToken).ConfigureAwait(false);
            // Asked again while the broadcast runs: once its clip is deleted, what it alone held goes like any other segment.
            // After the last pass they stay; deleting the clip deletes them then.
            if (!all) _pendingDeletes.AddRange(held.Select(k => (now.AddSeconds(broadcast.Options.DeleteGraceSeconds), k)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The hold could not say (its database is away): keep them all and ask again a grace period later, rather than
            // delete what a clip names or stop the packaging over a delete.
            var retry = now.AddSeconds(broadcast.Options.DeleteGraceSeconds);
            _pendingDeletes.AddRange(due.Select(k => (retry, k)));
            if (all) throw;
        }
    }

    /// <summary>
    /// Keys of this broadcast's segments and init segments no delete was scheduled for: its last live window. Once it
    /// has ended and the channel's playlists name the next broadcast, nothing names them any more. Empty when recording.
    /// </summary>
    public IReadOnlyList<string> UnscheduledSegmentKeys()
    {
        if (broadcast.Recording) return [];
        var keys = new List<string>();
        foreach (var t in broadcast.AllTimelines())
        {
            _deletedUpTo.TryGetValue(t.Name, out int from);
            for (int i = from; i < t.Entries.Count; i++) keys.Add(SegmentKey(t, i));
            if (_storedInit.TryGetValue(t.Name, out int version))
                for (int v = 0; v <= version; v++) keys.Add(StoreKeys.Init(broadcast.Channel, t.Name, broadcast.BroadcastId, v));
        }

        return keys;
    }

    /// <summary>Segments that left every manifest are deleted after the grace period, unless the broadcast is recorded.</summary>
    private void ScheduleDeletes()
    {
        if (broadcast.Recording) return;
        var due = broadcast.Time.GetUtcNow().AddSeconds(broadcast.Options.DeleteGraceSeconds);
        foreach (var t in broadcast.AllTimelines())
        {
            int start = broadcast.WindowStart(t);
            _deletedUpTo.TryGetValue(t.Name, out int from);
            for (int i = from; i < start; i++)
            {
                _pendingDeletes.Add((due, SegmentKey(t, i)));
                SchedulePartDeletes(t, i, due);
            }
            if (start > from) _deletedUpTo[t.Name] = start;
        }
    }

    /// <summary>
    /// A recorded low-latency broadcast keeps its segments for the VOD manifests, which name no parts: a segment's
    /// parts go once it leaves the live window, like an unrecorded broadcast's segments.
    /// </summary>
    private void SchedulePartDeletesOfRecording()
    {
        if (!broadcast.Recording || lowLatency is null) return;
        var due = broadcast.Time.GetUtcNow().AddSeconds(broadcast.Options.DeleteGraceSeconds);
        foreach (var t in broadcast.AllTimelines())
        {
            int start = broadcast.WindowStart(t);
            for (int i = 0; i < start; i++) SchedulePartDeletes(t, i, due);
        }
    }

    private void SchedulePartDeletes(RenditionTimeline t, int entry, DateTimeOffset due)
    {
        if (lowLatency is null) return;
        foreach (var part in lowLatency.PartNames(t.Name, t.Entries[entry].Number)) _pendingDeletes.Add((due,
            $"{broadcast.Channel}/{t.Name}/{part}"));
    }

    private string SegmentKey(RenditionTimeline t, int entry)
        => StoreKeys.Segment(broadcast.Channel, t.Name, broadcast.BroadcastId, t.Entries[entry].Number);
}
