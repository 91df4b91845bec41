using System.Globalization;

namespace Broadcast.Soak;

/// <summary>One segment line of a media playlist: its URI, the broadcast id and number in its name, and whether an EXT-X-DISCONTINUITY precedes it.</summary>
public sealed record PlaylistEntry(long Sequence, string Uri, string BroadcastId, long Number, bool Discontinuity);

/// <summary>
/// The parts of a live HLS media playlist (RFC 8216 section 4.3.3) the soak checks: EXT-X-MEDIA-SEQUENCE, EXT-X-MAP,
/// EXT-X-ENDLIST and the segment lines with the EXT-X-DISCONTINUITY tags before them. Segment names are the
/// packager's <c>{broadcastId}-{number}.m4s</c>.
/// </summary>
public sealed record MediaPlaylistView(long MediaSequence, string? InitUri, bool Ended, IReadOnlyList<PlaylistEntry> Entries)
{
    public static bool TryParse(string text, out MediaPlaylistView view, out string error)
    {
        view = new MediaPlaylistView(0, null, false, []);
        var lines = text.Split('\n');
        if (lines.Length == 0 || lines[0].TrimEnd('\r') != "#EXTM3U")
        {
            error = "not an HLS playlist (no #EXTM3U first line)";
            return false;
        }

        long sequence = 0;
        string? init = null;
        bool ended = false, discontinuity = false;
        var entries = new List<PlaylistEntry>();
        foreach (var raw in lines.Skip(1))
        {
            var line = raw.Trim();
            if (line.Length == 0) continue;
            if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))
            {
                if (!long.TryParse(line.AsSpan("#EXT-X-MEDIA-SEQUENCE:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out sequence))
                {
                    error = $"bad {line}";
                    return false;
                }
            }
            else if (line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal))
            {
                int start = line.IndexOf("URI=\"", StringComparison.Ordinal);
                int end = start < 0 ? -1 : line.IndexOf('"', start + 5);
                if (end < 0)
                {
                    error = $"bad {line}";
                    return false;
                }

                init = line[(start + 5)..end];
            }
            else if (line == "#EXT-X-DISCONTINUITY")
            {
                discontinuity = true;
            }
            else if (line == "#EXT-X-ENDLIST")
            {
                ended = true;
            }
            else if (!line.StartsWith('#'))
            {
                if (!TrySplitName(line, out string id, out long number))
                {
                    error = $"segment name '{line}' is not {{broadcastId}}-{{number}}.m4s";
                    return false;
                }

                entries.Add(new PlaylistEntry(sequence + entries.Count, line, id, number, discontinuity));
                discontinuity = false;
            }
        }

        view = new MediaPlaylistView(sequence, init, ended, entries);
        error = "";
        return true;
    }

    private static bool TrySplitName(string uri, out string broadcastId, out long number)
    {
        broadcastId = "";
        number = 0;
        string name = uri[(uri.LastIndexOf('/') + 1)..];
        int query = name.IndexOf('?');
        if (query >= 0) name = name[..query];
        int dash = name.LastIndexOf('-');
        int dot = name.LastIndexOf('.');
        if (dash <= 0 || dot < dash + 2) return false;
        broadcastId = name[..dash];
        return long.TryParse(name.AsSpan(dash + 1, dot - dash - 1), NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}

/// <summary>
/// Follows one channel's media playlist across polls, as a player would, and counts gaps: a segment missing inside a
/// playlist or between two polls of the same broadcast, unless an EXT-X-DISCONTINUITY marks the join. A new broadcast
/// (a broadcast id not seen before, its numbers starting afresh) is accepted and counted, as is a marked discontinuity,
/// so the check holds whether a reconnecting publisher continues its broadcast or starts a new one.
/// </summary>
public sealed class SequenceTracker
{
    private readonly HashSet<string> _broadcasts = new(StringComparer.Ordinal);
    private readonly Dictionary<long, string> _lastUris = new();
    private string? _broadcast;
    private long _lastSequence = -1;
    private string? _lastUri;

    public int Gaps { get; private set; }

    public int Discontinuities { get; private set; }

    /// <summary>Broadcasts after the first one seen.</summary>
    public int NewBroadcasts { get; private set; }

    public List<string> GapDescriptions { get; } = [];

    /// <summary>Takes a new version of the playlist; returns the entries not seen before (to fetch).</summary>
    public IReadOnlyList<PlaylistEntry> Observe(MediaPlaylistView view)
    {
        if (view.Entries.Count == 0) return [];
        var first = view.Entries[0];
        bool fresh = _broadcast is null || (first.BroadcastId != _broadcast && !_broadcasts.Contains(first.BroadcastId) && !view.Entries.Any(e => e.Uri == _lastUri));
        if (fresh)
        {
            if (_broadcast is not null) NewBroadcasts++;
            _broadcast = first.BroadcastId;
            _lastSequence = first.Sequence - 1;
            _lastUris.Clear();
        }

        // Between polls: the next sequence number after the newest one seen must still be in the window, and a
        // sequence number seen before must still name the same segment.
        if (!fresh && view.MediaSequence > _lastSequence + 1)
            Gap($"segments {_lastSequence + 1}..{view.MediaSequence - 1} of {_broadcast} were never listed (playlist jumped from {_lastUri} to {first.Uri})");
        foreach (var e in view.Entries)
        {
            if (_lastUris.TryGetValue(e.Sequence, out var before) && before != e.Uri)
                Gap($"sequence {e.Sequence} named {before}, now {e.Uri}");
        }

        // Inside the playlist: numbers step by one within a broadcast; another broadcast or a jump only after a marked discontinuity.
        for (int i = 1; i < view.Entries.Count; i++)
        {
            var (a, b) = (view.Entries[i - 1], view.Entries[i]);
            bool joined = b.BroadcastId != a.BroadcastId || b.Number != a.Number + 1;
            if (joined && !b.Discontinuity) Gap($"{a.Uri} followed by {b.Uri} without EXT-X-DISCONTINUITY");
        }

        var added = view.Entries.Where(e => e.Sequence > _lastSequence).ToList();
        Discontinuities += added.Count(e => e.Discontinuity);
        foreach (var e in view.Entries)
        {
            _lastUris[e.Sequence] = e.Uri;
            _broadcasts.Add(e.BroadcastId);
        }

        foreach (var old in _lastUris.Keys.Where(k => k < view.MediaSequence - 64).ToList()) _lastUris.Remove(old);
        if (view.Entries[^1].Sequence > _lastSequence)
        {
            _lastSequence = view.Entries[^1].Sequence;
            _lastUri = view.Entries[^1].Uri;
        }

        _broadcast = view.Entries[^1].BroadcastId;
        return added;
    }

    private void Gap(string description)
    {
        Gaps++;
        if (GapDescriptions.Count < 20) GapDescriptions.Add(description);
    }
}
