using System.Globalization;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Manifests;

/// <summary>One segment of a stored media playlist, placed on the program date-time clock.</summary>
/// <param name="Uri">As written in the playlist (relative to the playlist's folder).</param>
/// <param name="MapUri">The EXT-X-MAP in force for it (null when the playlist names none).</param>
/// <param name="Discontinuity">An EXT-X-DISCONTINUITY stands before it.</param>
/// <param name="Gap">EXT-X-GAP: a placeholder the packager lists for a number with no segment; no object exists.</param>
public sealed record StoredSegment(string Uri, string? MapUri, DateTimeOffset Start, TimeSpan Duration, bool Discontinuity, bool Gap)
{
    public DateTimeOffset End => Start + Duration;

    /// <summary>The whole-segment key (METHOD=AES-128) in force for it with its IV; null when none is (or for a gap, which has no object).</summary>
    public WholeSegmentKey? Key { get; init; }

    /// <summary>
    /// The sample-encryption key tags (<c>SAMPLE-AES</c>, <c>SAMPLE-AES-CTR</c>) in force for it, as written: its key
    /// period's, one per KEYFORMAT (empty for a clear broadcast or a whole-segment encrypted one).
    /// </summary>
    public IReadOnlyList<string> KeyTags { get; init; } = [];

    /// <summary>The KID its ClearKey key tag names (<see cref="SampleKeyTags.ClearKeyId"/>), or null.</summary>
    public KeyId? SampleKeyId => SampleKeyTags.ClearKeyId(KeyTags);
}

/// <summary>A stored playlist could not be read; the message names the line and what was wrong with it.</summary>
public sealed class MediaPlaylistFormatException(string message) : FormatException(message);

/// <summary>
/// A live (or recording) media playlist as the packager stored it, read back: each segment with its URI, its EXT-X-MAP
/// and its program date-time. The live playlist carries EXT-X-PROGRAM-DATE-TIME on its first segment, after each
/// discontinuity and at ad markers; the segments between take the previous one's end. Tags that say nothing about
/// which media plays when (parts, preload hints, rendition reports, ad markers) are skipped; a delta update (EXT-X-SKIP)
/// and byte ranges are refused, since a clip made from either would name media it could not place. A protected
/// broadcast's key tags (RFC 8216bis §4.4.4.4: <c>EXT-X-KEY</c> with <c>METHOD=SAMPLE-AES</c> or <c>SAMPLE-AES-CTR</c>,
/// one per key format, before the first segment, and before the first segment of each later key period of a rotated
/// broadcast) are read per segment (<see cref="StoredSegment.KeyTags"/>, <see cref="SampleKeysInForce"/>), so a clip names
/// the same keys before the same segments. Whole-segment encryption (<c>METHOD=AES-128</c>, named after each
/// EXT-X-MAP and ended by <c>METHOD=NONE</c> before the next) is read per segment (<see cref="StoredSegment.Key"/>) with the
/// IV it is decrypted with: the tag's explicit IV, else the segment's Media Sequence Number (§5.2: EXT-X-MEDIA-SEQUENCE
/// plus its position), since a clip's playlist renumbers segments and must name each IV. The two kinds are not mixed.
/// </summary>
public sealed class StoredMediaPlaylist
{
    /// <summary>Longest text read: a day-long rewind window of 1 s segments is about 5 MB.</summary>
    public const int MaxLength = 16 * 1024 * 1024;

    /// <summary>The most key tags in force at once: one per key format.</summary>
    public const int MaxKeyTags = 16;

    private StoredMediaPlaylist(IReadOnlyList<StoredSegment> segments, IReadOnlyList<string> keyTags)
    {
        Segments = segments;
        KeyTags = keyTags;
    }

    public IReadOnlyList<StoredSegment> Segments { get; }

    /// <summary>
    /// The sample-encryption <c>EXT-X-KEY</c> lines in force for the first segment, as written (none for a clear
    /// broadcast); a rotated broadcast's later periods are in each segment's <see cref="StoredSegment.KeyTags"/>.
    /// </summary>
    public IReadOnlyList<string> KeyTags { get; }

    /// <summary>Where the stored media starts and ends on the program date-time clock (null when it lists no segment).</summary>
    public DateTimeOffset? Start => Segments.Count == 0 ? null : Segments[0].Start;

    public DateTimeOffset? End => Segments.Count == 0 ? null : Segments[^1].End;

    /// <summary>Reads <paramref name="text"/>; throws <see cref="MediaPlaylistFormatException"/> naming the line at fault.</summary>
    public static StoredMediaPlaylist Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength) throw new MediaPlaylistFormatException($"playlist longer than {MaxLength} characters");
        var lines = text.Split('\n');
        if (lines[0].TrimEnd('\r') != "#EXTM3U") throw new MediaPlaylistFormatException("line 1: not #EXTM3U");
        var segments = new List<StoredSegment>();
        var keys = new SampleKeysInForce();
        string? map = null;
        long mediaSequence = 0;
        (string Uri, UInt128? Iv)? whole = null;
        bool sawWhole = false;
        DateTimeOffset? clock = null;
        TimeSpan? duration = null;
        bool discontinuity = false, gap = false;
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            int number = i + 1;
            if (line.Length == 0) continue;
            if (line[0] != '#')
            {
                if (duration is not TimeSpan d) throw Error(number, "a segment URI without #EXTINF before it");
                if (clock is not DateTimeOffset start) throw Error(number, "a segment before any #EXT-X-PROGRAM-DATE-TIME");
                // A clip is a range of the clock: a playlist whose clock runs back could not say which media a range holds.
                if (segments.Count > 0 && start < segments[^1].Start) throw Error(number, "a segment starts before the one ahead of it");
                // §5.2: with no IV attribute, the IV is the segment's Media Sequence Number.
                var key = whole is { } w && !gap ? new WholeSegmentKey(w.Uri, w.Iv ?? (UInt128)(mediaSequence + segments.Count)) : null;
                segments.Add(new StoredSegment(line, map, start, d, discontinuity, gap) { Key = key, KeyTags = keys.Take() });
                clock = start + d;
                duration = null;
                discontinuity = gap = false;
            }
            else if (line.StartsWith("#EXTINF:", StringComparison.Ordinal)) duration = ParseDuration(line["#EXTINF:".Length..], number);
            else if (line.StartsWith("#EXT-X-PROGRAM-DATE-TIME:", StringComparison.Ordinal))
                clock = ParseDateTime(line["#EXT-X-PROGRAM-DATE-TIME:".Length..], number);
            else if (line.StartsWith("#EXT-X-MAP:", StringComparison.Ordinal)) map = ParseMapUri(line["#EXT-X-MAP:".Length..], number);
            else if (line == "#EXT-X-DISCONTINUITY") discontinuity = true;
            else if (line == "#EXT-X-GAP") gap = true;
            else if (line.StartsWith("#EXT-X-SKIP:", StringComparison.Ordinal))
                throw Error(number, "a delta update (EXT-X-SKIP), not a whole playlist");
            else if (line.StartsWith("#EXT-X-BYTERANGE:", StringComparison.Ordinal)) throw Error(number, "byte ranges are not supported");
            else if (line.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))
            {
                // Section 4.4.3.2: a decimal-integer, before the first segment.
                if (segments.Count > 0 || !long.TryParse(line.AsSpan("#EXT-X-MEDIA-SEQUENCE:".Length), NumberStyles.None, CultureInfo.InvariantCulture,
                        out mediaSequence) || mediaSequence > long.MaxValue / 2)
                    throw Error(number, "EXT-X-MEDIA-SEQUENCE is not a decimal integer before the first segment");
            }
            else if (line.StartsWith("#EXT-X-KEY:", StringComparison.Ordinal))
            {
                if (ReadWholeSegmentKey(line, number) is var (read, key))
                {
                    if (read && keys.Current.Count > 0) throw Error(number, "whole-segment (AES-128) and sample (SAMPLE-AES) keys in one playlist");
                    whole = key;
                    sawWhole |= read;
                }
                else
                {
                    if (sawWhole) throw Error(number, "whole-segment (AES-128) and sample (SAMPLE-AES) keys in one playlist");
                    ReadKey(line, number, keys);
                }
            }
        }
        return new StoredMediaPlaylist(segments, segments.Count > 0 ? segments[0].KeyTags : keys.Current);
    }

    /// <summary>
    /// An EXT-X-KEY that sets the whole-segment key: METHOD=AES-128 (true, its URI and explicit IV) or METHOD=NONE, which
    /// ends it (false, null); null for any other method, read by <see cref="ReadKey"/>.
    /// </summary>
    private static (bool Read, (string Uri, UInt128? Iv)? Key)? ReadWholeSegmentKey(string line, int number)
    {
        if (line.StartsWith("#EXT-X-KEY:METHOD=NONE", StringComparison.Ordinal) && line.Length == "#EXT-X-KEY:METHOD=NONE".Length)
            return (false, null);
        if (!line.StartsWith("#EXT-X-KEY:METHOD=AES-128,", StringComparison.Ordinal)) return null;
        var (uri, iv) = WholeSegmentKey.ReadAttributes(line, out string? error);
        if (error is not null) throw Error(number, error);
        // The URI is written again in the clip's playlists: one quoted-string (§4.2) of printable characters.
        foreach (char c in uri)
            if (c is < ' ' or > '~') throw Error(number, "an EXT-X-KEY URI that is not printable ASCII");
        return (true, (uri, iv));
    }

    private static void ReadKey(string line, int number, SampleKeysInForce keys)
    {
        int at = line.IndexOf(":METHOD=", StringComparison.Ordinal) is int first and >= 0 ? first : line.IndexOf(",METHOD=", StringComparison.Ordinal);
        if (at < 0) throw Error(number, "an EXT-X-KEY without METHOD");
        int start = at + ",METHOD=".Length, end = line.IndexOf(',', start);
        switch (end < 0 ? line[start..] : line[start..end])
        {
            case "NONE":
                return;
            case "SAMPLE-AES" or "SAMPLE-AES-CTR":
                break;
            case var method:
                throw Error(number, $"an EXT-X-KEY of METHOD={method}, which is not read");
        }
        // One tag per key format (ClearKey's and a key server's few DRM systems): more is no playlist the packager wrote.
        if (!keys.Read(line, MaxKeyTags)) throw Error(number, $"more than {MaxKeyTags} EXT-X-KEY tags");
    }

    private static TimeSpan ParseDuration(string value, int line)
    {
        int comma = value.IndexOf(',', StringComparison.Ordinal);
        string seconds = comma < 0 ? value : value[..comma];
        // An EXTINF is a decimal number of seconds; a day is far beyond any segment we write.
        if (!decimal.TryParse(seconds, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal s) || s <= 0 || s > 86_400)
            throw Error(line, $"EXTINF duration '{seconds}' is not a positive number of seconds");
        return TimeSpan.FromTicks((long)Math.Round(s * TimeSpan.TicksPerSecond, MidpointRounding.AwayFromZero));
    }

    private static DateTimeOffset ParseDateTime(string value, int line)
    {
        if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal,
                out var t) || value.Length < "yyyy-MM-ddTHH:mm:ssZ".Length)
            throw Error(line, $"EXT-X-PROGRAM-DATE-TIME '{value}' is not an ISO 8601 date-time");
        return t;
    }

    private static string ParseMapUri(string attributes, int line)
    {
        const string name = "URI=\"";
        int at = attributes.IndexOf(name, StringComparison.Ordinal);
        if (at < 0 || (at > 0 && attributes[at - 1] != ',')) throw Error(line, "EXT-X-MAP without URI");
        int start = at + name.Length;
        int end = attributes.IndexOf('"', start);
        if (end <= start) throw Error(line, "EXT-X-MAP URI is empty or unterminated");
        return attributes[start..end];
    }

    private static MediaPlaylistFormatException Error(int line, string what) =>
        new(string.Create(CultureInfo.InvariantCulture, $"line {line}: {what}"));
}
