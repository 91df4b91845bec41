using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Live;

/// <summary>
/// The parts each rendition of a low-latency broadcast has stored: the recent ones its playlist lists, the next one
/// (its preload hint) and, for clean-up, how many parts each segment had: the low-latency listener of a broadcast, read by
/// <see cref="HlsLiveWriter"/> (parts in the playlists), <see cref="DashLiveWriter"/> and <see cref="SegmentRetention"/>.
/// Serialised by its StreamPackager.
/// </summary>
internal sealed class LowLatencyParts(string broadcastId, int partTargetMilliseconds, int partHoldBackTargets) : IPackagerListener
{
    /// <summary>Complete segments whose parts stay listed besides the open one (RFC 8216bis 6.2.2: about three target durations).</summary>
    private const int ListedCompleteSegments = 2;

    private readonly Dictionary<string, List<PartEntry>> _listed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (long Number, int Index)> _next = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Rendition, long Number), int> _counts = new();

    public int PartTargetMilliseconds => partTargetMilliseconds;

    public void OnPartStored(ClosedPart part)
    {
        if (!_listed.TryGetValue(part.Rendition, out var list)) _listed[part.Rendition] = list = new List<PartEntry>();
        list.Add(new PartEntry(part.Number, part.Index, part.Duration, part.Timescale, part.Independent,
            LowLatencyPlaylist.PartName(broadcastId, part.Number, part.Index)));
        _counts[(part.Rendition, part.Number)] = part.Index + 1;
        _next[part.Rendition] = part.Final ? (part.Number + 1, 0) : (part.Number, part.Index + 1);
    }

    /// <summary>A segment is about to be stored: the next part is in a later one; older parts leave the playlist.</summary>
    public void OnSegmentClosing(string rendition, long number)
    {
        if (!_next.TryGetValue(rendition, out var next) || next.Number <= number) _next[rendition] = (number + 1, 0);
        if (_listed.TryGetValue(rendition, out var list)) list.RemoveAll(p => p.Number <= number - ListedCompleteSegments);
    }

    /// <summary>
    /// A segment restored from a dead node's live state: its parts (if it had any) are that node's and are deleted with
    /// the segment like ours. Their count was not stored; a segment of <paramref name="duration"/> ticks cut on a grid of
    /// part targets has at most one part per target plus one (a short first part), and deleting a name never stored is harmless.
    /// </summary>
    public void NoteRestored(string rendition, long number, long duration, int timescale)
    {
        long partTicks = Math.Max(1, (long)partTargetMilliseconds * timescale / 1000);
        _counts.TryAdd((rendition, number), (int)Math.Min(1000, (duration + partTicks - 1) / partTicks + 1));
    }

    /// <summary>File names of the parts segment <paramref name="number"/> had, to delete with it.</summary>
    public IEnumerable<string> PartNames(string rendition, long number)
    {
        if (!_counts.Remove((rendition, number), out int count)) yield break;
        for (int i = 0; i < count; i++) yield return LowLatencyPlaylist.PartName(broadcastId, number, i);
    }

    public LowLatencyView View(string rendition, IEnumerable<string> others)
    {
        var parts = _listed.TryGetValue(rendition, out var list) ? list.ToArray() : [];
        string? hint = _next.TryGetValue(rendition, out var next) ? LowLatencyPlaylist.PartName(broadcastId, next.Number, next.Index) : null;
        var reports = new List<RenditionReport>();
        foreach (var other in others)
        {
            if (other == rendition || !_listed.TryGetValue(other, out var o) || o.Count == 0) continue;
            reports.Add(new RenditionReport($"../{other}/index.m3u8", o[^1].Number, o[^1].Index));
        }
        return new LowLatencyView(partTargetMilliseconds, parts, hint, reports, partHoldBackTargets);
    }
}
