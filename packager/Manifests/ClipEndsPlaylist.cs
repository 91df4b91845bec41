using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// One end of a clip cut to the frame: a re-encoded piece of the stored segment it replaces, with an init segment of its
/// own. URIs are relative to the clip's media playlist; <see cref="Start"/> is on the program date-time clock. A
/// whole-segment encrypted broadcast's piece is encrypted whole again under <see cref="Key"/> (with the IV it was encrypted with);
/// a Common Encryption broadcast's under the key of the segment it replaces, whose key tags it is listed under.
/// </summary>
public sealed record ClipPiece(string InitUri, string Uri, DateTimeOffset Start, TimeSpan Duration, WholeSegmentKey? Key = null);

/// <summary>
/// A clip's media playlist once its ends are cut to the frame (issue #49): the first and/or last stored segment replaced
/// by its piece, every segment between them still the stored one. A piece comes from another encoder than the stored
/// segments, so it has its own EXT-X-MAP; its samples are on the stored segments' timeline
/// (<see cref="Cmaf.ClipPieceTimeline"/>), so no EXT-X-DISCONTINUITY stands between it and them (RFC 8216 §4.3.2.3:
/// required for a change of timestamp sequence, file format or tracks, none of which a piece makes). One there would
/// undo that: at a discontinuity hls.js and Shaka map the next fragment by its decode time, which puts a B-frame
/// segment's first picture its composition offset late and leaves a hole the player stalls in (#66).
/// <para>
/// Every rendition of a clip lists the same span (#66). Its pieces start where their media does (an audio piece on the
/// AAC frame around the cut, up to a frame before or after the video's), so the renditions' first program date-times
/// differ by a few milliseconds; Shaka (5.2) sums each rendition's EXTINFs, ends every rendition's last segment at the
/// least of those sums, and only then places each rendition at its program date-time: a rendition that starts first
/// and lists more than another then ends short of the presentation's duration, is never at its end of stream, and
/// playback waits for good a few frames before the end. Listed with the lead's span (the audio's last EXTINF a few
/// milliseconds short of its frames, which still play), and with EXTINFs that add up exactly to the program
/// date-times written after them (so a player that dates a segment by the EXTINFs before it and one that reads its
/// tag agree), no rendition ends short.
/// </para>
/// </summary>
public static class ClipEndsPlaylist
{
    /// <summary>
    /// The most an EXTINF is moved from its segment's own duration, rounded to the millisecond, to meet the program
    /// date-time after it or the lead's span: two AAC frames and the rounding; beyond that the renditions do not
    /// belong to one cut and each keeps its own durations.
    /// </summary>
    private const long MaxAdjustMs = 50;

    /// <summary>
    /// <paramref name="clip"/> (a clip's segment-accurate media playlist, read back) with <paramref name="first"/> in place
    /// of its first segment and <paramref name="last"/> in place of its last (a one-segment clip: <paramref name="first"/>
    /// alone, cut at both ends), listing <paramref name="span"/> (the lead rendition's <see cref="Span"/>; null: its own).
    /// </summary>
    public static string Write(StoredMediaPlaylist clip, ClipPiece? first, ClipPiece? last, TimeSpan? span = null)
    {
        var entries = Entries(clip, first, last);
        long[] durations = Durations(entries, span);
        var sb = new StringBuilder(256 + 80 * entries.Count);
        ClipPlaylist.AppendVodHeader(sb, durations.Max());
        string? map = null;
        var wholeSegmentKeys = new WholeSegmentKeyTags();
        var sampleKeys = new SampleKeyTagWriter();
        for (int i = 0; i < entries.Count; i++)
        {
            var e = entries[i];
            // A piece is encrypted with the key of the stored segment it replaces (its init segment names it): the same tags name it.
            sampleKeys.Before(sb, e.KeyTags);
            if (e.Discontinuity) sb.Append("#EXT-X-DISCONTINUITY\n");
            if (e.MapUri is not null && (e.Opens || !string.Equals(map, e.MapUri, StringComparison.Ordinal)))
            {
                wholeSegmentKeys.BeforeMap(sb);
                sb.Append("#EXT-X-MAP:URI=\"").Append(e.MapUri).Append("\"\n");
                map = e.MapUri;
            }
            wholeSegmentKeys.Before(sb, e.Key, e.Gap);
            if (e.Dated) sb.Append("#EXT-X-PROGRAM-DATE-TIME:").Append(ManifestFormat.DateTime(e.Start)).Append('\n');
            if (e.Gap) sb.Append("#EXT-X-GAP\n");
            sb.Append("#EXTINF:").Append(ManifestFormat.Milli3(durations[i])).Append(",\n").Append(e.Uri).Append('\n');
        }
        sb.Append("#EXT-X-ENDLIST\n");
        return sb.ToString();
    }

    /// <summary>What <see cref="Write"/> lists from its first program date-time to the end of its last EXTINF, to the millisecond.</summary>
    public static TimeSpan Span(StoredMediaPlaylist clip, ClipPiece? first, ClipPiece? last)
    {
        var entries = Entries(clip, first, last);
        long[] durations = Durations(entries, null);
        return TimeSpan.FromMilliseconds(Start(entries, durations, entries.Count - 1) + durations[^1] - Ms(entries[0].Start));
    }

    /// <summary>
    /// One segment of the playlist: a piece or a stored segment, whether it opens a run (its map written whatever
    /// came before) and whether its program date-time is written.
    /// </summary>
    private sealed record Entry(string Uri, string? MapUri, DateTimeOffset Start, TimeSpan Duration, bool Opens, bool Dated, bool Discontinuity, bool Gap,
        WholeSegmentKey? Key, IReadOnlyList<string> KeyTags);

    private static List<Entry> Entries(StoredMediaPlaylist clip, ClipPiece? first, ClipPiece? last)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var segments = clip.Segments;
        if (segments.Count == 0) throw new ArgumentException("The clip lists no segment.", nameof(clip));
        if (last is not null && segments.Count < 2) throw new ArgumentException("A one-segment clip is cut as its first piece.", nameof(last));
        int from = first is null ? 0 : 1;
        int to = last is null ? segments.Count : segments.Count - 1;
        var entries = new List<Entry>(segments.Count);
        if (first is not null) entries.Add(Piece(first, segments[0]));
        for (int i = from; i < to; i++)
        {
            var s = segments[i];
            bool discontinuity = entries.Count > 0 && s.Discontinuity;
            entries.Add(new Entry(s.Uri, s.MapUri, s.Start, s.Duration, i == from, i == from || s.Discontinuity, discontinuity, s.Gap, s.Key,
                s.KeyTags));
        }
        if (last is not null) entries.Add(Piece(last, segments[^1]));
        return entries;

        static Entry Piece(ClipPiece p, StoredSegment replaced) => new(p.Uri, p.InitUri, p.Start, p.Duration, true, true, false, false, p.Key,
            replaced.KeyTags);
    }

    /// <summary>
    /// Each entry's EXTINF in milliseconds: its own duration, or up to the next program date-time written (but across a
    /// discontinuity, which may stand after a hole), and the last one to the end of <paramref name="span"/>.
    /// </summary>
    private static long[] Durations(List<Entry> entries, TimeSpan? span)
    {
        long[] durations = new long[entries.Count];
        for (int i = 0; i < entries.Count; i++)
        {
            long own = Ms(entries[i].Duration);
            long? end = i + 1 < entries.Count
                ? entries[i + 1] is { Dated: true, Discontinuity: false } next ? Ms(next.Start) : null
                : span is { } s ? Ms(entries[0].Start) + (long)Math.Round(s.TotalMilliseconds, MidpointRounding.AwayFromZero) : null;
            long listed = end is { } e ? e - Start(entries, durations, i) : own;
            durations[i] = listed > 0 && Math.Abs(listed - own) <= MaxAdjustMs ? listed : own;
        }
        return durations;
    }

    /// <summary>Where entry <paramref name="i"/> starts as written: its program date-time, else the EXTINFs before it added up.</summary>
    private static long Start(List<Entry> entries, long[] durations, int i)
    {
        int dated = i;
        while (!entries[dated].Dated) dated--;
        long start = Ms(entries[dated].Start);
        for (int k = dated; k < i; k++) start += durations[k];
        return start;
    }

    /// <summary>A program date-time in milliseconds as <see cref="ManifestFormat.DateTime"/> writes it (truncated).</summary>
    private static long Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds();

    private static long Ms(TimeSpan duration) => (long)Math.Round(duration.TotalMilliseconds, MidpointRounding.AwayFromZero);
}

/// <summary>One rendition a clip's master names: its media playlist's name without <c>.m3u8</c>, its codec, and for a
/// variant its BANDWIDTH (RFC 8216bis §4.4.6.2: peak bits per second, its audio included) when the master says it.</summary>
public sealed record ClipMasterRendition(string Name, string Codecs, long? Bandwidth);

/// <summary>The renditions of a clip's master: what the background work after a clip reads to cut and to download it.</summary>
public static class ClipMasterRenditions
{
    /// <summary>
    /// In the master's order: each variant with the first CODECS entry that is not audio (its video) and its BANDWIDTH,
    /// and each EXT-X-MEDIA audio rendition as <c>mp4a</c> (the packager's audio is AAC); a rendition whose codec the
    /// master does not say is left out, and a name named twice counts once.
    /// </summary>
    public static IReadOnlyList<ClipMasterRendition> Read(string master)
    {
        ArgumentNullException.ThrowIfNull(master);
        var renditions = new List<ClipMasterRendition>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        (string Codecs, long? Bandwidth)? pending = null;
        foreach (var raw in master.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal))
            {
                string? video = Attribute(line, "CODECS")?.Split(',').Select(c => c.Trim()).FirstOrDefault(c => !c.StartsWith("mp4a", StringComparison.Ordinal));
                pending = video is null ? null : (video, Number(line, "BANDWIDTH"));
            }
            else if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal) && line.Contains("TYPE=AUDIO", StringComparison.Ordinal)
                && Attribute(line, "URI") is { } audio)
            {
                Add(RenditionOf(audio), "mp4a", null);
            }
            else if (line.Length > 0 && line[0] != '#')
            {
                if (pending is { } variant) Add(RenditionOf(line), variant.Codecs, variant.Bandwidth);
                pending = null;
            }
        }
        return renditions;

        void Add(string name, string codecs, long? bandwidth)
        {
            if (names.Add(name)) renditions.Add(new ClipMasterRendition(name, codecs, bandwidth));
        }
    }

    /// <summary>An unquoted decimal attribute (<c>BANDWIDTH=2500000</c>), or null.</summary>
    private static long? Number(string line, string name)
    {
        string key = name + "=";
        int at = line.IndexOf(key, StringComparison.Ordinal);
        // Preceded by ':' or ',' so AVERAGE-BANDWIDTH is not read for BANDWIDTH.
        while (at > 0 && line[at - 1] is not (':' or ','))
            at = line.IndexOf(key, at + 1, StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + key.Length, end = start;
        while (end < line.Length && char.IsAsciiDigit(line[end])) end++;
        return end > start && long.TryParse(line.AsSpan(start, end - start), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out long value) ? value : null;
    }

    private static string RenditionOf(string uri) => uri.EndsWith(".m3u8", StringComparison.Ordinal) ? uri[..^".m3u8".Length] : uri;

    private static string? Attribute(string line, string name)
    {
        string key = name + "=\"";
        int at = line.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + key.Length;
        int end = line.IndexOf('"', start);
        return end < 0 ? null : line[start..end];
    }
}
