using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// HLS key tags of an encrypted CMAF broadcast (RFC 8216bis §4.4.4.4 EXT-X-KEY, §4.4.6.5 EXT-X-SESSION-KEY): fMP4 segments
/// encrypted with 'cbcs' are METHOD=SAMPLE-AES and with 'cenc' METHOD=SAMPLE-AES-CTR. The key is named for W3C ClearKey
/// (KEYFORMAT "org.w3.clearkey", the EME key system hls.js maps it to) by its KID alone, as a data URI of the KID's 16
/// bytes: the key itself comes from the license endpoint the player is configured with, never from the playlist. The
/// init segments' sinf/tenc and pssh say the same KID, so a player that reads those instead plays too.
/// </summary>
public static class HlsContentProtection
{
    public const string ClearKeyFormat = "org.w3.clearkey";

    /// <summary>EXT-X-KEY for a media playlist: before its first EXT-X-MAP, so it applies to every segment listed.</summary>
    public static void AppendKey(StringBuilder sb, ManifestProtection? protection) => Append(sb, "#EXT-X-KEY:", protection);

    /// <summary>EXT-X-SESSION-KEY for the master: a player may set up its key system before it reads a media playlist.</summary>
    public static void AppendSessionKey(StringBuilder sb, ManifestProtection? protection) => Append(sb, "#EXT-X-SESSION-KEY:", protection);

    /// <summary>The METHOD of a Common Encryption scheme; anything but the two schemes the packager writes is refused.</summary>
    public static string Method(string scheme) => scheme switch
    {
        "cbcs" => "SAMPLE-AES",
        "cenc" => "SAMPLE-AES-CTR",
        _ => throw new ArgumentException($"HLS has no key method for the scheme '{scheme}': 'cbcs' or 'cenc'.", nameof(scheme)),
    };

    private static void Append(StringBuilder sb, string tag, ManifestProtection? protection)
    {
        ArgumentNullException.ThrowIfNull(sb);
        if (protection is null) return;
        byte[] kid = Convert.FromHexString(protection.DefaultKidUuid.Replace("-", "", StringComparison.Ordinal));
        sb.Append(tag).Append("METHOD=").Append(Method(protection.Scheme))
          .Append(",URI=\"data:text/plain;base64,").Append(Convert.ToBase64String(kid))
          .Append("\",KEYFORMAT=\"").Append(ClearKeyFormat).Append("\",KEYFORMATVERSIONS=\"1\"\n");
    }
}
