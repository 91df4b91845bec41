using System.Globalization;
using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>One partial segment as a playlist lists it (EXT-X-PART).</summary>
public sealed record PartEntry(long Number, int Index, long Duration, int Timescale, bool Independent, string Uri);

/// <summary>Another rendition's newest part (EXT-X-RENDITION-REPORT), its URI relative to this playlist.</summary>
public sealed record RenditionReport(string Uri, long LastMsn, int LastPart);

/// <summary>
/// What a live media playlist gains with low latency: the parts, the next part's hint, the other renditions' reports, and
/// how many Part Targets behind the edge players are told to play (PART-HOLD-BACK).
/// </summary>
public sealed record LowLatencyView(
    int PartTargetMilliseconds,
    IReadOnlyList<PartEntry> Parts,
    string? PreloadHintUri,
    IReadOnlyList<RenditionReport> Reports,
    int PartHoldBackTargets = LowLatencyPlaylist.DefaultPartHoldBackTargets);

/// <summary>
/// LL-HLS (RFC 8216bis section 4.4.3.7-4.4.5.3, 6.2.5): turns a live media playlist written by
/// <see cref="HlsPlaylistWriter"/> into its low-latency form (EXT-X-VERSION:9, EXT-X-SERVER-CONTROL, EXT-X-PART-INF,
/// EXT-X-PART before each recent segment and after the last, EXT-X-PRELOAD-HINT, EXT-X-RENDITION-REPORT), and
/// makes delta updates (EXT-X-SKIP) from that form. It works on the finished text, segment block by segment block,
/// so whatever tags the ordinary writer puts on a segment stay with it. A client that knows no LL tags ignores
/// them (section 4.1) and sees the same segments as before.
/// </summary>
public static class LowLatencyPlaylist
{
    /// <summary>Block reloads wait at most this many target durations (section 6.2.5.2).</summary>
    public const int BlockingTargetDurations = 3;

    /// <summary>
    /// PART-HOLD-BACK in Part Targets when no setting says otherwise (see PackagerOptions.PartHoldBackTargets): the
    /// RFC 8216bis 4.4.3.8 minimum. Stock hls.js (lowLatencyMode) and stock Shaka start PART-HOLD-BACK behind the edge
    /// and, having no catch-up by default, keep whatever their start adds; at three Part Targets (1.104 s) stock hls.js sat
    /// at 2.0-2.1 s glass to glass (#66). Two (0.736 s) leaves a part being fetched and one in hand.
    /// </summary>
    public const int DefaultPartHoldBackTargets = 2;

    /// <summary>RFC 8216bis 4.4.3.8: PART-HOLD-BACK MUST be at least twice the Part Target Duration.</summary>
    public const int MinimumPartHoldBackTargets = 2;

    /// <summary>The low-latency form of a live media playlist. A rotated broadcast's <paramref name="protection"/> names the
    /// key of the segment still in parts when that segment starts a key period (the segments listed whole carry their own).</summary>
    public static string Decorate(string playlist, LowLatencyView view, ManifestProtection? protection = null)
    {
        ArgumentNullException.ThrowIfNull(playlist);
        ArgumentNullException.ThrowIfNull(view);
        var lines = Lines(playlist);
        var sb = new StringBuilder(playlist.Length + 96 * (view.Parts.Count + view.Reports.Count + 3));
        long lastListed = long.MinValue;
        bool ended = false;
        int partTarget = view.PartTargetMilliseconds;
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i];
            if (line.StartsWith("#EXT-X-VERSION:", StringComparison.Ordinal))
            {
                // Section 7: EXT-X-SKIP and the LL tags need version 9 (delta updates are served from the same text).
                sb.Append("#EXT-X-VERSION:9\n");
                continue;
            }
            // The low-latency server control below replaces a rewind window's own (which offers only delta updates).
            if (line.StartsWith("#EXT-X-SERVER-CONTROL:", StringComparison.Ordinal)) continue;
            if (line == "#EXT-X-ENDLIST") ended = true;
            if (line.StartsWith("#EXTINF:", StringComparison.Ordinal) && i + 1 < lines.Count && SegmentNumber(lines[i + 1]) is long n)
            {
                // Section 4.4.4.9: a segment's parts come before its EXTINF.
                foreach (var p in view.Parts)
                    if (p.Number == n) AppendPart(sb, p);
                lastListed = n;
            }
            sb.Append(line).Append('\n');
            if (line.StartsWith("#EXT-X-TARGETDURATION:", StringComparison.Ordinal)
                && long.TryParse(line.AsSpan("#EXT-X-TARGETDURATION:".Length), NumberStyles.None, CultureInfo.InvariantCulture, out long target))
            {
                // PART-HOLD-BACK at least twice the Part Target (section 4.4.3.8); CAN-SKIP-UNTIL at least six target durations.
                int holdBack = Math.Max(MinimumPartHoldBackTargets, view.PartHoldBackTargets);
                sb.Append("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=").Append(ManifestFormat.Milli3((long)holdBack * partTarget))
                  .Append(',').Append(HlsPlaylistWriter.SkipBoundaryAttribute).Append(ManifestFormat.Int(6 * target)).Append(".0\n");
                sb.Append("#EXT-X-PART-INF:PART-TARGET=").Append(ManifestFormat.Milli3(partTarget)).Append('\n');
            }
        }
        if (!ended)
        {
            bool keyed = false;
            foreach (var p in view.Parts)
            {
                if (p.Number <= lastListed) continue;
                // Section 4.4.4.4: a part of a segment under a new key comes after that key's tag, as the segment will.
                if (!keyed && protection is { Rotations.Count: > 0 } && lastListed != long.MinValue
                    && protection.PeriodOf(p.Number) is int period && period != protection.PeriodOf(lastListed))
                    HlsContentProtection.AppendKey(sb, protection.Period(period));
                keyed = true;
                AppendPart(sb, p);
            }
            if (view.PreloadHintUri is { } hint)
                sb.Append("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"").Append(hint).Append("\"\n");
            foreach (var r in view.Reports)
                sb.Append("#EXT-X-RENDITION-REPORT:URI=\"").Append(r.Uri).Append("\",LAST-MSN=").Append(ManifestFormat.Int(r.LastMsn))
                  .Append(",LAST-PART=").Append(ManifestFormat.Int(r.LastPart)).Append('\n');
        }
        return sb.ToString();
    }

    private static void AppendPart(StringBuilder sb, PartEntry p)
    {
        sb.Append("#EXT-X-PART:DURATION=").Append(ManifestFormat.Seconds5(p.Duration, p.Timescale)).Append(",URI=\"").Append(p.Uri).Append('"');
        if (p.Independent) sb.Append(",INDEPENDENT=YES");
        sb.Append('\n');
    }

    /// <summary>
    /// The delta update of a low-latency playlist (section 6.2.5.1, asked for with <c>_HLS_skip=YES</c>): segments that
    /// end more than CAN-SKIP-UNTIL before the end of the playlist are replaced by EXT-X-SKIP:SKIPPED-SEGMENTS. The
    /// first segment kept repeats the EXT-X-KEY and EXT-X-MAP in force. Null when nothing can be skipped (serve the whole playlist).
    /// </summary>
    public static string? ToDeltaUpdate(string playlist)
    {
        ArgumentNullException.ThrowIfNull(playlist);
        var lines = Lines(playlist);
        decimal skipUntil = -1;
        int firstBlock = -1;
        var uriLines = new List<int>();
        var durations = new List<decimal>();
        decimal pending = 0;
        for (int i = 0; i < lines.Count; i++)
        {
            string line = lines[i];
            if (line.StartsWith("#EXT-X-SERVER-CONTROL:", StringComparison.Ordinal))
                skipUntil = Attribute(line, "CAN-SKIP-UNTIL") is { } v
                    && decimal.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var d) ? d : -1;
            if (firstBlock < 0 && IsSegmentTag(line)) firstBlock = i;
            if (line.StartsWith("#EXTINF:", StringComparison.Ordinal))
            {
                var value = line.AsSpan("#EXTINF:".Length);
                int comma = value.IndexOf(',');
                if (decimal.TryParse(comma >= 0 ? value[..comma] : value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture,
                    out var seconds)) pending = seconds;
            }
            if (line.Length > 0 && line[0] != '#')
            {
                if (firstBlock < 0) firstBlock = i;
                uriLines.Add(i);
                durations.Add(pending);
                pending = 0;
            }
        }
        if (skipUntil <= 0 || uriLines.Count == 0) return null;
        // Skip segment k when everything after it lasts at least the skip boundary.
        int skipped = 0;
        decimal after = durations.Sum();
        for (int k = 0; k < uriLines.Count - 1; k++)
        {
            after -= durations[k];
            if (after < skipUntil) break;
            skipped = k + 1;
        }
        if (skipped == 0) return null;

        var sb = new StringBuilder(playlist.Length);
        for (int i = 0; i < firstBlock; i++) sb.Append(lines[i]).Append('\n');
        sb.Append("#EXT-X-SKIP:SKIPPED-SEGMENTS=").Append(ManifestFormat.Int(skipped)).Append('\n');
        string? map = null;
        int keepFrom = uriLines[skipped - 1] + 1;
        // Without CAN-SKIP-DATERANGES in EXT-X-SERVER-CONTROL a delta update keeps the EXT-X-DATERANGE tags of the segments
        // it skips (RFC 8216bis section 6.2.5.1): an ad break's SCTE35-OUT must reach a player that joined by delta.
        for (int i = firstBlock; i < keepFrom; i++)
            if (lines[i].StartsWith("#EXT-X-DATERANGE:", StringComparison.Ordinal)) sb.Append(lines[i]).Append('\n');
        // The EXT-X-KEY and EXT-X-MAP in force for the first segment kept go with it: a player builds the segments it
        // merges from the tags the delta update itself lists, and an encrypted segment without its key would be played
        // as clear media.
        // The key in force is the last run of EXT-X-KEY lines (one per KEYFORMAT: a vendor's beside ClearKey's, §4.4.4.4);
        // a rotated broadcast has several runs, and only the last one before the first segment kept applies to it.
        var keys = new List<string>();
        bool inKeyRun = false;
        for (int i = firstBlock; i < keepFrom; i++)
        {
            bool isKey = lines[i].StartsWith("#EXT-X-KEY:", StringComparison.Ordinal);
            if (lines[i].StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)) map = lines[i];
            else if (isKey)
            {
                if (!inKeyRun) keys.Clear();
                keys.Add(lines[i]);
            }
            inKeyRun = isKey;
        }
        string? key = keys.Count == 0 ? null : string.Join('\n', keys);
        bool keptHasMap = false, keptHasKey = false;
        for (int i = keepFrom; i <= uriLines[skipped]; i++)
        {
            keptHasMap |= lines[i].StartsWith("#EXT-X-MAP:", StringComparison.Ordinal);
            keptHasKey |= lines[i].StartsWith("#EXT-X-KEY:", StringComparison.Ordinal);
        }
        // A whole-segment key (METHOD=AES-128) goes after the map, as in the playlist, so it does not apply to the clear
        // init segment (section 4.4.4.5); a Common Encryption key before it, as always.
        bool keyAfterMap = key is not null && key.StartsWith("#EXT-X-KEY:METHOD=AES-128,", StringComparison.Ordinal);
        if (key is not null && !keptHasKey && !keyAfterMap) sb.Append(key).Append('\n');
        if (map is not null && !keptHasMap) sb.Append(map).Append('\n');
        if (key is not null && !keptHasKey && keyAfterMap) sb.Append(key).Append('\n');
        for (int i = keepFrom; i < lines.Count; i++) sb.Append(lines[i]).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// Where a live low-latency playlist stands: the part its EXT-X-PRELOAD-HINT names (the next one), its target
    /// duration, its Part Target (EXT-X-PART-INF, 0 when absent) and how many parts it lists for the segment before the
    /// hinted one (-1 when it lists none: that segment's part count is then unknown here).
    /// </summary>
    public readonly record struct Position(long NextMsn, int NextPart, long TargetSeconds, bool HasHint, int PartTargetMilliseconds = 0,
        int PartsOfPrevious = -1);

    /// <summary>
    /// Reads the preload hint (the next part: segment number and part index), EXT-X-TARGETDURATION, EXT-X-PART-INF's
    /// PART-TARGET and the parts listed for the segment before the hinted one, from a playlist this packager wrote.
    /// Without a hint (an ordinary or ended playlist) <see cref="Position.HasHint"/> is false. Allocates nothing.
    /// </summary>
    public static Position ReadPosition(ReadOnlySpan<byte> playlist)
    {
        long target = 0;
        long msn = 0;
        int part = 0;
        bool hint = false;
        var targetText = ValueAfter(playlist, "#EXT-X-TARGETDURATION:"u8, (byte)'\n');
        if (!System.Buffers.Text.Utf8Parser.TryParse(targetText, out target, out int targetUsed) || targetUsed != targetText.Length || target < 0)
            target = 0;
        int partTargetMs = 0;
        if (ValueAfter(playlist, "#EXT-X-PART-INF:PART-TARGET="u8, (byte)'\n') is { Length: > 0 } pt
            && System.Buffers.Text.Utf8Parser.TryParse(pt, out decimal seconds, out int ptUsed) && ptUsed == pt.Length && seconds > 0
            && seconds < 1000)
            partTargetMs = (int)Math.Round(seconds * 1000m);
        if (ValueAfter(playlist, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""u8, (byte)'"') is { Length: > 0 } h
            && TryParsePartName(h, out msn, out part))
            hint = true;
        int partsOfPrevious = -1;
        if (hint)
        {
            // Each EXT-X-PART names its part ({id}-{n}.{k}.m4s): the highest k listed for segment NextMsn - 1, plus one.
            var rest = playlist;
            int at;
            while ((at = rest.IndexOf("#EXT-X-PART:"u8)) >= 0)
            {
                rest = rest[(at + 12)..];
                int eol = rest.IndexOf((byte)'\n');
                var line = eol < 0 ? rest : rest[..eol];
                if (ValueAfter(line, "URI=\""u8, (byte)'"') is { Length: > 0 } uri
                    && TryParsePartName(uri, out long n, out int k) && n == msn - 1 && k + 1 > partsOfPrevious)
                    partsOfPrevious = k + 1;
            }
        }
        return new Position(msn, part, target, hint, partTargetMs, partsOfPrevious);
    }

    /// <summary>The bytes after the first <paramref name="prefix"/> up to <paramref name="end"/> (or the end), empty when absent.</summary>
    private static ReadOnlySpan<byte> ValueAfter(ReadOnlySpan<byte> text, ReadOnlySpan<byte> prefix, byte end)
    {
        int i = text.IndexOf(prefix);
        if (i < 0) return [];
        var rest = text[(i + prefix.Length)..];
        int e = rest.IndexOf(end);
        return e < 0 ? rest : rest[..e];
    }

    /// <summary>Part file name: <c>{broadcastId}-{number}.{index}.m4s</c>.</summary>
    public static string PartName(string broadcastId, long number, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{PartPrefix(broadcastId, number)}{index}.m4s");

    /// <summary>
    /// What every part name of segment <paramref name="number"/> starts with, <c>{broadcastId}-{number}.</c>: a store listing
    /// of it finds that segment's parts and never the segment itself (<c>{broadcastId}-{number}.m4s</c>) nor another number's.
    /// </summary>
    public static string PartPrefix(string broadcastId, long number) => string.Create(CultureInfo.InvariantCulture, $"{broadcastId}-{number}.");

    /// <summary>Reads a part file name (or a key ending in one) back into its segment number and part index.</summary>
    public static bool TryParsePartName(string name, out long number, out int index)
    {
        number = 0;
        index = 0;
        if (!name.EndsWith(".m4s", StringComparison.Ordinal)) return false;
        var stem = name.AsSpan(0, name.Length - 4);
        int dot = stem.LastIndexOf('.');
        int dash = stem.LastIndexOf('-');
        if (dot < 0 || dash < 0 || dash > dot) return false;
        return long.TryParse(stem[(dash + 1)..dot], NumberStyles.None, CultureInfo.InvariantCulture, out number)
            && int.TryParse(stem[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out index);
    }

    /// <summary>The same, for a name in ASCII bytes (a playlist's URI attribute).</summary>
    public static bool TryParsePartName(ReadOnlySpan<byte> name, out long number, out int index)
    {
        number = 0;
        index = 0;
        if (!name.EndsWith(".m4s"u8)) return false;
        var stem = name[..^4];
        int dot = stem.LastIndexOf((byte)'.');
        int dash = stem.LastIndexOf((byte)'-');
        if (dot < 0 || dash < 0 || dash > dot) return false;
        var n = stem[(dash + 1)..dot];
        var k = stem[(dot + 1)..];
        // Digits only, as the string form's NumberStyles.None: no sign, no spaces.
        if (n.Length == 0 || k.Length == 0 || n.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0
            || k.IndexOfAnyExceptInRange((byte)'0', (byte)'9') >= 0) return false;
        return System.Buffers.Text.Utf8Parser.TryParse(n, out number, out int nUsed) && nUsed == n.Length
            && System.Buffers.Text.Utf8Parser.TryParse(k, out index, out int kUsed) && kUsed == k.Length;
    }

    /// <summary>Segment number of a segment URI <c>{broadcastId}-{number}.m4s</c>, or null.</summary>
    private static long? SegmentNumber(string uri)
    {
        if (uri.Length == 0 || uri[0] == '#' || !uri.EndsWith(".m4s", StringComparison.Ordinal)) return null;
        var stem = uri.AsSpan(0, uri.Length - 4);
        int dash = stem.LastIndexOf('-');
        return dash >= 0 && long.TryParse(stem[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : null;
    }

    /// <summary>Tags that belong to a segment (or its parts) rather than to the playlist.</summary>
    private static bool IsSegmentTag(string line) =>
        line.StartsWith("#EXTINF:", StringComparison.Ordinal) || line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)
        || line.StartsWith("#EXT-X-PART:", StringComparison.Ordinal) || line == "#EXT-X-DISCONTINUITY"
        || line.StartsWith("#EXT-X-PROGRAM-DATE-TIME:", StringComparison.Ordinal) || line.StartsWith("#EXT-X-DATERANGE:", StringComparison.Ordinal)
        || line == "#EXT-X-GAP" || line.StartsWith("#EXT-X-BITRATE:", StringComparison.Ordinal)
        || line.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal);

    private static string? Attribute(string line, string name)
    {
        int i = line.IndexOf(name + "=", StringComparison.Ordinal);
        if (i < 0) return null;
        int start = i + name.Length + 1;
        int end = line.IndexOf(',', start);
        return end < 0 ? line[start..] : line[start..end];
    }

    private static List<string> Lines(string text)
    {
        var lines = new List<string>(text.Split('\n'));
        if (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }
}
