using System.Text.Json.Serialization;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;

namespace Broadcast.Packager.Live;

/// <summary>
/// The history of a recorded broadcast kept in the store while it is live, so that a node continuing it after its
/// node died (<see cref="LivePackager.PrepareContinuationAsync"/>) writes a recording of the whole broadcast, not of the
/// window the live state restored. Segment numbers are cut into fixed chunks of <see cref="RecordingJournalChunk.SegmentsPerChunk"/>
/// (chunk k holds numbers k·N+1 … (k+1)·N of every rendition); a chunk is written once, immutable, when every growing
/// rendition has gone past it, and the live state then lists each rendition from the first number no chunk holds
/// (<see cref="JournaledThrough"/>), so state and journal together name every segment. One object per chunk under the
/// recording's folder, so deleting the recording deletes its journal.
/// </summary>
internal sealed class RecordingJournal(PackagedBroadcast broadcast, long journaledThrough) : IPackagerListener
{
    private const int ChunkSegments = RecordingJournalChunk.SegmentsPerChunk;

    /// <summary>Highest segment number the stored chunks cover (a multiple of <see cref="ChunkSegments"/>); 0 before the first.</summary>
    public long JournaledThrough { get; private set; } = journaledThrough;

    /// <summary>After the live manifests (and before the live state that relies on them): every chunk all renditions passed.</summary>
    public async Task OnSegmentsAddedAsync(CancellationToken cancellationToken)
    {
        while (Passed(JournaledThrough + ChunkSegments))
        {
            long first = JournaledThrough + 1, last = JournaledThrough + ChunkSegments;
            var chunk = new RecordingJournalChunk(LiveBroadcastState.CurrentVersion, broadcast.BroadcastId, first, last, Capture(first, last),
                KeyPeriodsOf(first, last));
            await broadcast.Store.PutAsync(RecordingJournalChunk.Key(broadcast.Channel, broadcast.BroadcastId, (first - 1) / ChunkSegments),
                chunk.ToJson(), "application/json",
                CachePolicies.Vod, cancellationToken).ConfigureAwait(false);
            JournaledThrough = last;
        }
    }

    /// <summary>
    /// Whether no rendition can add a segment numbered <paramref name="last"/> or lower any more: each growing rendition
    /// stored a later number (audio's numbers are a subset of the leader's, so "later", not "equal"); a retired one stopped.
    /// </summary>
    private bool Passed(long last)
    {
        bool any = false;
        foreach (var t in broadcast.AllTimelines())
        {
            if (t.Retired) continue;
            if (t.Entries.Count == 0 || t.Entries[^1].Number <= last) return false;
            any = true;
        }
        return any;
    }

    private List<RenditionState> Capture(long first, long last)
    {
        var renditions = new List<RenditionState>();
        foreach (var t in broadcast.AllTimelines())
        {
            var segments = new List<SegmentState>();
            var inChunk = new List<TimelineEntry>();
            int lastInit = -1;
            foreach (var e in t.Entries)
            {
                if (e.Number < first) continue;
                if (e.Number > last) break;
                segments.Add(SegmentState.Of(e));
                inChunk.Add(e);
                lastInit = Math.Max(lastInit, e.Segment.InitVersion);
            }
            renditions.Add(new RenditionState(t.Name, t.Kind == Media.MediaKind.Video, t.Timescale, lastInit, 0, segments,
                RenditionState.TracksOf(inChunk)));
        }
        return renditions;
    }

    /// <summary>
    /// The later key periods in force for a segment numbered <paramref name="first"/>…<paramref name="last"/> (their keys were
    /// decided as those segments were packaged), or null for none: a chunk names the period its first segment is under even
    /// when it began in an earlier chunk, so a chunk lost costs its own segments only, never another's keys.
    /// </summary>
    private List<JournaledKeyPeriod>? KeyPeriodsOf(long first, long last)
    {
        if (broadcast.ManifestProtection() is not { Rotations: { Count: > 0 } rotations }) return null;
        List<JournaledKeyPeriod>? periods = null;
        for (int i = 0; i < rotations.Count && rotations[i].FirstSegment <= last; i++)
        {
            // A period ends where the next begins: one ended before the chunk's first segment is in an earlier chunk.
            if (i + 1 < rotations.Count && rotations[i + 1].FirstSegment <= first) continue;
            (periods ??= []).Add(JournaledKeyPeriod.Of(rotations[i]));
        }
        return periods;
    }

    /// <summary>
    /// Reads the chunks below <paramref name="through"/> back, in order: each rendition's segments, the later key periods they
    /// name, and a reason for every chunk that is missing or malformed (its numbers are then a hole in the recording, never a
    /// failure of it).
    /// </summary>
    public static async Task<JournalHistory> LoadAsync(ISegmentStore store, string channel, string broadcastId, long through,
        CancellationToken cancellationToken)
    {
        var segments = new Dictionary<string, List<JournaledSegment>>(StringComparer.Ordinal);
        var problems = new List<string>();
        var keyPeriods = new SortedDictionary<long, ManifestKeyPeriod>();
        for (long index = 0; index * ChunkSegments < through; index++)
        {
            string key = RecordingJournalChunk.Key(channel, broadcastId, index);
            StoredObject? stored;
            try
            {
                stored = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // A store that fails one read costs the recording that chunk's stretch, not the recording.
                problems.Add($"{key} unreadable ({ex.Message})");
                continue;
            }
            if (stored is null)
            {
                problems.Add($"{key} missing");
                continue;
            }
            var chunk = RecordingJournalChunk.TryParse(stored.Data.Span, out string? error);
            if (chunk is null || chunk.BroadcastId != broadcastId || chunk.First != index * ChunkSegments + 1)
            {
                problems.Add($"{key} malformed ({error ?? "another broadcast's or chunk's"})");
                continue;
            }
            foreach (var r in chunk.Renditions)
            {
                if (!segments.TryGetValue(r.Name, out var list)) segments[r.Name] = list = new List<JournaledSegment>();
                foreach (var s in r.Segments)
                    if (s.Number >= chunk.First && s.Number <= chunk.Last) list.Add(new JournaledSegment(s, r.Timescale, r.TrackFor(s.InitVersion)));
            }
            // A period that spans chunks is named by each of them, alike.
            foreach (var p in chunk.KeyPeriods ?? []) keyPeriods.TryAdd(p.FirstSegment, p.ToManifest());
        }
        return new JournalHistory(segments, problems, [.. keyPeriods.Values]);
    }
}

/// <summary>What <see cref="RecordingJournal.LoadAsync"/> read: each rendition's journaled segments in order, what it could not
/// read, and a rotated broadcast's later key periods the chunks named, in order (empty for one key).</summary>
internal sealed record JournalHistory(IReadOnlyDictionary<string, List<JournaledSegment>> Segments, IReadOnlyList<string> Problems,
    IReadOnlyList<ManifestKeyPeriod> KeyPeriods);

/// <summary>A journaled segment, the timescale its times are in and the description of its media (null: not kept).</summary>
internal readonly record struct JournaledSegment(SegmentState Segment, int Timescale, Media.MediaTrack? Track);

/// <summary>One stored chunk of a <see cref="RecordingJournal"/>: segments <paramref name="First"/>…<paramref name="Last"/> of every
/// rendition.</summary>
/// <param name="KeyPeriods">A rotated broadcast's later key periods in force for a segment of the chunk (the one in force at
/// <paramref name="First"/> and each that begins in it), oldest first, as its manifests name them; null when the first key
/// covers them all (then not written, so a chunk of a broadcast without rotation is as before).</param>
public sealed record RecordingJournalChunk(int Version, string BroadcastId, long First, long Last, IReadOnlyList<RenditionState> Renditions,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyList<JournaledKeyPeriod>? KeyPeriods = null)
{
    /// <summary>Segment numbers per chunk: a minute of 2 s segments, so the live state grows by at most that many entries.</summary>
    public const int SegmentsPerChunk = 30;

    /// <summary>The store key of chunk <paramref name="index"/> (numbers index·N+1 … (index+1)·N) of a broadcast's journal.</summary>
    public static string Key(string channel, string broadcastId, long index) => StoreKeys.RecordingJournal(channel, broadcastId, index);

    public byte[] ToJson() => LiveBroadcastState.ToJson(this);

    /// <summary>Reads a chunk: null with <paramref name="error"/> set when it is not one this code wrote.</summary>
    public static RecordingJournalChunk? TryParse(ReadOnlySpan<byte> json, out string? error)
    {
        var chunk = LiveBroadcastState.ReadBounded<RecordingJournalChunk>(json, "chunk", "a journal chunk", out error);
        if (chunk is null) return null;
        if (chunk.Version != LiveBroadcastState.CurrentVersion) { error = $"version {chunk.Version}, expected {LiveBroadcastState.CurrentVersion}"; return null; }
        if (!StoreKeys.IsValidName(chunk.BroadcastId)) { error = "invalid broadcast id"; return null; }
        if (chunk.First < 1 || chunk.Last < chunk.First || (chunk.First - 1) % SegmentsPerChunk != 0
            || chunk.Last - chunk.First + 1 != SegmentsPerChunk)
        {
            error = $"numbers {chunk.First}..{chunk.Last}";
            return null;
        }
        if (chunk.Renditions is null) { error = "no renditions"; return null; }
        foreach (var r in chunk.Renditions)
            if (RenditionState.Invalid(r) is { } why) { error = why; return null; }
        if (chunk.KeyPeriods is { } periods && JournaledKeyPeriod.Invalid(periods, chunk.Last) is { } wrong) { error = wrong; return null; }
        return chunk;
    }
}
