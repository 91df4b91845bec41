using System.Globalization;
using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// A clip of one rendition: its VOD media playlist, where it actually starts and ends (segment boundaries around the
/// range asked for), and the stored objects it names, by file name in the rendition's folder: its segments (with their
/// numbers, for the retention hold) and its init segments.
/// </summary>
public sealed record ClipCut(
    string Playlist,
    DateTimeOffset Start,
    DateTimeOffset End,
    IReadOnlyList<long> SegmentNumbers,
    IReadOnlyList<string> InitNames);

/// <summary>
/// Makes a clip's VOD media playlist from a stored media playlist and a range of program date-time. Segment-accurate:
/// every segment that overlaps [from, to) is in, whole, so the clip starts at or before <c>from</c> and ends at or
/// after <c>to</c> (cutting the first and last segment to the frame would need a re-encode, not done yet). The clip
/// names the stored segments where they are, through <c>uriPrefix</c> (from the clip's folder to the rendition's), so
/// making one copies no media. Ad markers are not carried over.
/// </summary>
public static class ClipPlaylist
{
    /// <summary>The clip of <paramref name="playlist"/> over [from, to); null when no stored segment overlaps it.</summary>
    public static ClipCut? Cut(StoredMediaPlaylist playlist, DateTimeOffset from, DateTimeOffset to, string uriPrefix)
    {
        ArgumentNullException.ThrowIfNull(playlist);
        ArgumentNullException.ThrowIfNull(uriPrefix);
        if (to <= from) throw new ArgumentException("The range ends before it starts.", nameof(to));
        var chosen = playlist.Segments.Where(s => s.Start < to && s.End > from).ToList();
        // A clip of placeholders only would play nothing.
        if (chosen.All(s => s.Gap)) return null;

        var sb = new StringBuilder(256 + 80 * chosen.Count);
        AppendVodHeader(sb, chosen.Max(s => (long)Math.Round(s.Duration.TotalMilliseconds, MidpointRounding.AwayFromZero)));
        var numbers = new List<long>(chosen.Count);
        var inits = new List<string>();
        string? currentMap = null;
        var wholeSegmentKeys = new WholeSegmentKeyTags();
        var sampleKeys = new SampleKeyTagWriter();
        for (int i = 0; i < chosen.Count; i++)
        {
            var s = chosen[i];
            bool first = i == 0;
            // A Common Encryption broadcast's key tags, as the stored playlist had them in force for this segment.
            sampleKeys.Before(sb, s.KeyTags);
            if (!first && s.Discontinuity) sb.Append("#EXT-X-DISCONTINUITY\n");
            if (s.MapUri is not null && !string.Equals(currentMap, s.MapUri, StringComparison.Ordinal))
            {
                wholeSegmentKeys.BeforeMap(sb);
                sb.Append("#EXT-X-MAP:URI=\"").Append(uriPrefix).Append(s.MapUri).Append("\"\n");
                currentMap = s.MapUri;
                if (!inits.Contains(s.MapUri, StringComparer.Ordinal)) inits.Add(s.MapUri);
            }
            // A whole-segment encrypted broadcast's segment keeps its own IV, named explicitly: the clip renumbers it.
            wholeSegmentKeys.Before(sb, s.Key, s.Gap);
            if (first || s.Discontinuity) sb.Append("#EXT-X-PROGRAM-DATE-TIME:").Append(ManifestFormat.DateTime(s.Start)).Append('\n');
            if (s.Gap) sb.Append("#EXT-X-GAP\n");
            long ms = (long)Math.Round(s.Duration.TotalMilliseconds, MidpointRounding.AwayFromZero);
            sb.Append("#EXTINF:").Append(ManifestFormat.Milli3(ms)).Append(",\n").Append(uriPrefix).Append(s.Uri).Append('\n');
            if (!s.Gap && TryParseSegmentNumber(s.Uri, out long number)) numbers.Add(number);
        }
        sb.Append("#EXT-X-ENDLIST\n");
        return new ClipCut(sb.ToString(), chosen[0].Start, chosen.Max(s => s.End), numbers, inits);
    }

    /// <summary>A clip's VOD media playlist header, its target duration from its longest segment in milliseconds.</summary>
    internal static void AppendVodHeader(StringBuilder sb, long longestMs)
    {
        sb.Append("#EXTM3U\n#EXT-X-VERSION:7\n");
        sb.Append("#EXT-X-TARGETDURATION:").Append(ManifestFormat.Int(Math.Max(1, (longestMs + 500) / 1000))).Append('\n');
        sb.Append("#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    }

    /// <summary>The number of a segment named <c>{broadcastId}-{number}.m4s</c> (the packager's segment file name).</summary>
    public static bool TryParseSegmentNumber(string uri, out long number)
    {
        ArgumentNullException.ThrowIfNull(uri);
        number = 0;
        const string extension = ".m4s";
        if (!uri.EndsWith(extension, StringComparison.Ordinal)) return false;
        int dash = uri.LastIndexOf('-');
        if (dash < 0) return false;
        var digits = uri.AsSpan(dash + 1, uri.Length - extension.Length - dash - 1);
        return digits.Length is > 0 and <= 18 && long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out number);
    }
}

/// <summary>
/// A clip's master playlist, from the live (or recording) master it was cut from: the same variants and audio, each
/// media playlist URI replaced by the clip's own for that rendition.
/// </summary>
public static class ClipMaster
{
    /// <summary>
    /// Rewrites every media playlist URI of <paramref name="master"/> (variant lines and <c>URI="…"</c> of EXT-X-MEDIA)
    /// through <paramref name="renditionOf"/> (the rendition a URI names, null for one it does not know) and
    /// <paramref name="clipUriOf"/> (the clip's URI for that rendition); returns the text and the renditions in order.
    /// </summary>
    public static (string Text, IReadOnlyList<string> Renditions) Rewrite(string master, Func<string, string?> renditionOf,
        Func<string, string> clipUriOf)
    {
        ArgumentNullException.ThrowIfNull(master);
        ArgumentNullException.ThrowIfNull(renditionOf);
        ArgumentNullException.ThrowIfNull(clipUriOf);
        var lines = master.Split('\n');
        if (lines[0].TrimEnd('\r') != "#EXTM3U") throw new MediaPlaylistFormatException("line 1: not #EXTM3U");
        var renditions = new List<string>();
        var sb = new StringBuilder(master.Length);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length > 0 && line[0] != '#') line = ClipUri(line, i + 1);
            else if (line.StartsWith("#EXT-X-MEDIA:", StringComparison.Ordinal)) line = RewriteMediaUri(line, i + 1);
            // The live master's steering names the live pathways' manifest; a clip is steered by nothing of its own.
            else if (line.StartsWith("#EXT-X-CONTENT-STEERING:", StringComparison.Ordinal)) continue;
            sb.Append(line);
            if (i < lines.Length - 1) sb.Append('\n');
        }
        if (renditions.Count == 0) throw new MediaPlaylistFormatException("the master names no media playlist");
        return (sb.ToString(), renditions);

        string ClipUri(string uri, int line)
        {
            string rendition = renditionOf(uri) ?? throw new MediaPlaylistFormatException(
                string.Create(CultureInfo.InvariantCulture, $"line {line}: '{uri}' names no rendition of this channel"));
            if (!renditions.Contains(rendition, StringComparer.Ordinal)) renditions.Add(rendition);
            return clipUriOf(rendition);
        }

        string RewriteMediaUri(string line, int number)
        {
            const string name = "URI=\"";
            int at = line.IndexOf("," + name, StringComparison.Ordinal);
            if (at < 0) return line;
            int start = at + 1 + name.Length;
            int end = line.IndexOf('"', start);
            if (end < 0) throw new MediaPlaylistFormatException(string.Create(CultureInfo.InvariantCulture, $"line {number}: unterminated URI"));
            return string.Concat(line.AsSpan(0, start), ClipUri(line[start..end], number), line.AsSpan(end));
        }
    }
}
