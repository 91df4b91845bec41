using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// One end of a clip cut to the frame: a re-encoded piece of the stored segment it replaces, with an init segment of its
/// own. URIs are relative to the clip's media playlist; <see cref="Start"/> is on the program date-time clock.
/// </summary>
public sealed record ClipPiece(string InitUri, string Uri, DateTimeOffset Start, TimeSpan Duration);

/// <summary>
/// A clip's media playlist once its ends are cut to the frame (issue #49): the first and/or last stored segment replaced
/// by its piece, every segment between them still the stored one. A piece comes from another encoder than the stored
/// segments, so it has its own EXT-X-MAP; its samples are on the stored segments' timeline
/// (<see cref="Cmaf.ClipPieceTimeline"/>), so no EXT-X-DISCONTINUITY stands between it and them (RFC 8216 §4.3.2.3:
/// required for a change of timestamp sequence, file format or tracks, none of which a piece makes). One there would
/// undo that: at a discontinuity hls.js and Shaka map the next fragment by its decode time, which puts a B-frame
/// segment's first picture its composition offset late and leaves a hole the player stalls in (#66).
/// </summary>
public static class ClipEndsPlaylist
{
    /// <summary>
    /// <paramref name="clip"/> (a clip's segment-accurate media playlist, read back) with <paramref name="first"/> in place
    /// of its first segment and <paramref name="last"/> in place of its last (a one-segment clip: <paramref name="first"/>
    /// alone, cut at both ends).
    /// </summary>
    public static string Write(StoredMediaPlaylist clip, ClipPiece? first, ClipPiece? last)
    {
        ArgumentNullException.ThrowIfNull(clip);
        var segments = clip.Segments;
        if (segments.Count == 0) throw new ArgumentException("The clip lists no segment.", nameof(clip));
        if (last is not null && segments.Count < 2) throw new ArgumentException("A one-segment clip is cut as its first piece.", nameof(last));
        int from = first is null ? 0 : 1;
        int to = last is null ? segments.Count : segments.Count - 1;
        long longestMs = Math.Max(Math.Max(Ms(first?.Duration), Ms(last?.Duration)),
            from < to ? segments.Skip(from).Take(to - from).Max(s => Ms(s.Duration)) : 0);

        var sb = new StringBuilder(256 + 80 * segments.Count);
        ClipPlaylist.AppendVodHeader(sb, longestMs);
        bool any = false;
        if (first is not null) Piece(first);
        string? map = null;
        for (int i = from; i < to; i++)
        {
            var s = segments[i];
            bool opens = i == from;
            if (any && s.Discontinuity) sb.Append("#EXT-X-DISCONTINUITY\n");
            if (s.MapUri is not null && (opens || !string.Equals(map, s.MapUri, StringComparison.Ordinal)))
            {
                sb.Append("#EXT-X-MAP:URI=\"").Append(s.MapUri).Append("\"\n");
                map = s.MapUri;
            }
            if (opens || s.Discontinuity) sb.Append("#EXT-X-PROGRAM-DATE-TIME:").Append(ManifestFormat.DateTime(s.Start)).Append('\n');
            if (s.Gap) sb.Append("#EXT-X-GAP\n");
            sb.Append("#EXTINF:").Append(ManifestFormat.Milli3(Ms(s.Duration))).Append(",\n").Append(s.Uri).Append('\n');
            any = true;
        }
        if (last is not null) Piece(last);
        sb.Append("#EXT-X-ENDLIST\n");
        return sb.ToString();

        void Piece(ClipPiece piece)
        {
            sb.Append("#EXT-X-MAP:URI=\"").Append(piece.InitUri).Append("\"\n");
            sb.Append("#EXT-X-PROGRAM-DATE-TIME:").Append(ManifestFormat.DateTime(piece.Start)).Append('\n');
            sb.Append("#EXTINF:").Append(ManifestFormat.Milli3(Ms(piece.Duration))).Append(",\n").Append(piece.Uri).Append('\n');
            any = true;
        }
    }

    private static long Ms(TimeSpan? duration) =>
        duration is { } d ? (long)Math.Round(d.TotalMilliseconds, MidpointRounding.AwayFromZero) : 0;
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
