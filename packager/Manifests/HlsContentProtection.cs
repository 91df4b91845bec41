using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// HLS key tags of an encrypted broadcast (RFC 8216bis §4.4.4.4 EXT-X-KEY, §4.4.6.5 EXT-X-SESSION-KEY). Common Encryption of
/// the CMAF: 'cbcs' is METHOD=SAMPLE-AES and 'cenc' METHOD=SAMPLE-AES-CTR, the key named for W3C ClearKey (KEYFORMAT
/// "org.w3.clearkey", the EME key system hls.js maps it to) by its KID alone, as a data URI of the KID's 16 bytes: the key
/// itself comes from the license endpoint the player is configured with, never from the playlist. The init segments'
/// sinf/tenc and pssh say the same KID, so a player that reads those instead plays too. Whole-segment encryption
/// ("aes-128"): METHOD=AES-128 with the key URL (which names the KID, never the key) and no IV attribute, so a segment's IV
/// is its Media Sequence Number (§5.2); written after each EXT-X-MAP, so the clear init segment is outside its reach
/// (§4.4.4.5: a key in force for an EXT-X-MAP applies to the init segment too).
/// </summary>
public static class HlsContentProtection
{
    public const string ClearKeyFormat = "org.w3.clearkey";

    /// <summary>The scheme name of HLS whole-segment encryption (<see cref="ManifestProtection.Scheme"/>).</summary>
    public const string WholeSegmentScheme = "aes-128";

    /// <summary>What ends the whole-segment key before a later EXT-X-MAP (a new init segment, clear like the first).</summary>
    public const string NoKey = "#EXT-X-KEY:METHOD=NONE\n";

    /// <summary>Whether a media playlist this packager wrote names a whole-segment key (METHOD=AES-128): its LL-HLS parts are
    /// then each encrypted alone, so a segment is not its parts' concatenation and cannot be sent as it grows.</summary>
    public static bool NamesWholeSegmentKey(ReadOnlySpan<byte> playlist) => playlist.IndexOf("#EXT-X-KEY:METHOD=AES-128,"u8) >= 0;

    /// <summary>EXT-X-KEY for a media playlist: before its first EXT-X-MAP (Common Encryption), so it applies to every
    /// segment listed; after each EXT-X-MAP for whole-segment encryption (<see cref="HlsPlaylistWriter"/> places it).</summary>
    public static void AppendKey(StringBuilder sb, ManifestProtection? protection) => Append(sb, "#EXT-X-KEY:", protection);

    /// <summary>EXT-X-SESSION-KEY for the master: a player may set up its key system before it reads a media playlist (a
    /// clip's master keeps it, and the clip finisher reads it as the sign that the clip gets no clear MP4).</summary>
    public static void AppendSessionKey(StringBuilder sb, ManifestProtection? protection) => Append(sb, "#EXT-X-SESSION-KEY:", protection);

    /// <summary>The METHOD of a scheme; anything but the three schemes the packager writes is refused.</summary>
    public static string Method(string scheme) => scheme switch
    {
        "cbcs" => "SAMPLE-AES",
        "cenc" => "SAMPLE-AES-CTR",
        WholeSegmentScheme => "AES-128",
        _ => throw new ArgumentException($"HLS has no key method for the scheme '{scheme}': 'cbcs', 'cenc' or 'aes-128'.", nameof(scheme)),
    };

    /// <summary>The longest vendor key tag taken (a FairPlay or Widevine EXT-X-KEY is a few hundred characters).</summary>
    public const int MaxVendorTagLength = 4096;

    /// <summary>
    /// A DRM vendor's key tag as its key server gave it (CPIX HLSSignalingData), checked to be one tag line a playlist can
    /// carry: <paramref name="tag"/> ("#EXT-X-KEY:" or "#EXT-X-SESSION-KEY:") first, printable ASCII on one line (§4.1),
    /// at most <see cref="MaxVendorTagLength"/> characters, and the METHOD of the broadcast's <paramref name="scheme"/>
    /// (a tag for another cipher would have players decrypt wrongly). Returns the line without its line end; any fault
    /// is an <see cref="InvalidDataException"/> saying which (as a malformed pssh is).
    /// </summary>
    public static string CheckVendorTag(string line, string tag, string scheme)
    {
        ArgumentNullException.ThrowIfNull(line);
        ArgumentNullException.ThrowIfNull(tag);
        line = line.TrimEnd('\r', '\n');
        if (line.Length > MaxVendorTagLength) throw new InvalidDataException($"a key tag is longer than {MaxVendorTagLength} characters");
        if (!line.StartsWith(tag, StringComparison.Ordinal)) throw new InvalidDataException($"a key tag does not start with {tag}");
        foreach (char c in line)
            if (c is < ' ' or > '~') throw new InvalidDataException("a key tag is not one line of printable ASCII");
        string method = "METHOD=" + Method(scheme);
        int at = line.IndexOf("METHOD=", tag.Length, StringComparison.Ordinal);
        if (at < 0 || string.CompareOrdinal(line, at, method, 0, method.Length) != 0
            || (at + method.Length < line.Length && line[at + method.Length] != ','))
            throw new InvalidDataException($"a key tag's METHOD is not {Method(scheme)}, the '{scheme}' broadcast's");
        return line;
    }

    private static void Append(StringBuilder sb, string tag, ManifestProtection? protection)
    {
        ArgumentNullException.ThrowIfNull(sb);
        if (protection is null) return;
        // The DRM vendors' own tags (FairPlay, Widevine…), each with its KEYFORMAT, beside ClearKey's: §4.4.4.4 lets several
        // EXT-X-KEY tags of different KEYFORMATs apply to the same segments, and a player takes the one of its key system.
        foreach (var vendor in protection.HlsKeys)
            sb.Append(tag == "#EXT-X-KEY:" ? vendor.Media : vendor.Master).Append('\n');
        if (protection.WholeSegment)
        {
            if (string.IsNullOrEmpty(protection.KeyUrl) || protection.KeyUrl.Contains('"', StringComparison.Ordinal))
                throw new ArgumentException("An AES-128 key tag needs a key URL (a quoted-string, §4.2).", nameof(protection));
            sb.Append(tag).Append("METHOD=AES-128,URI=\"").Append(protection.KeyUrl).Append("\"\n");
            return;
        }
        byte[] kid = Convert.FromHexString(protection.DefaultKidUuid.Replace("-", "", StringComparison.Ordinal));
        sb.Append(tag).Append("METHOD=").Append(Method(protection.Scheme))
          .Append(",URI=\"data:text/plain;base64,").Append(Convert.ToBase64String(kid))
          .Append("\",KEYFORMAT=\"").Append(ClearKeyFormat).Append("\",KEYFORMATVERSIONS=\"1\"\n");
    }
}
