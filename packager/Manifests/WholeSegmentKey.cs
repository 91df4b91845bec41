using System.Globalization;
using System.Text;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// The whole-segment key (RFC 8216bis §4.4.4.4 METHOD=AES-128) in force for one stored segment: the key URI as written and
/// the segment's IV, the tag's explicit IV or else, as a player derives it (§5.2), the segment's Media Sequence Number as a
/// 128-bit big-endian integer. A clip's playlist renumbers the segments it lists, so it names each one's IV explicitly
/// (<see cref="Tag"/>): the broadcast's stored bytes then decrypt unchanged.
/// </summary>
public sealed record WholeSegmentKey(string Uri, UInt128 Iv)
{
    private const string KeyFolder = "/key/";

    /// <summary>The KID the key URI names (<c>…/key/{32 hex digits}</c>, the origin's key route), or null when it names none.</summary>
    public KeyId? KeyId
    {
        get
        {
            int at = Uri.LastIndexOf(KeyFolder, StringComparison.Ordinal);
            if (at < 0) return null;
            var kid = Uri.AsSpan(at + KeyFolder.Length);
            if (kid.Length != 32) return null;
            foreach (char c in kid)
                if (!char.IsAsciiHexDigit(c)) return null;
            return Cmaf.Encryption.KeyId.FromBytes(Convert.FromHexString(kid));
        }
    }

    /// <summary>The EXT-X-KEY naming this key with its IV explicitly (a hexadecimal-sequence, §4.2), without a line end.</summary>
    public string Tag => string.Create(CultureInfo.InvariantCulture, $"#EXT-X-KEY:METHOD=AES-128,URI=\"{Uri}\",IV=0x{Iv:x32}");

    /// <summary>The IV as the 16 bytes AES-CBC takes.</summary>
    public byte[] IvBytes()
    {
        var iv = new byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128BigEndian(iv, Iv);
        return iv;
    }

    /// <summary>
    /// Reads the attributes of an AES-128 EXT-X-KEY (after <c>METHOD=AES-128</c>): its URI, required (§4.4.4.4), and its IV
    /// when given (0x and 1 to 32 hex digits); KEYFORMAT, when given, must be "identity" (the raw key the URI answers).
    /// Returns the URI and the explicit IV; an error message otherwise.
    /// </summary>
    internal static (string Uri, UInt128? Iv) ReadAttributes(string line, out string? error)
    {
        error = null;
        string? uri = Quoted(line, "URI");
        if (string.IsNullOrEmpty(uri))
        {
            error = "an EXT-X-KEY of METHOD=AES-128 without URI";
            return ("", null);
        }
        if (Quoted(line, "KEYFORMAT") is { } format && format != "identity")
        {
            error = $"an EXT-X-KEY of METHOD=AES-128 with KEYFORMAT \"{format}\", which is not read";
            return ("", null);
        }
        UInt128? iv = null;
        int at = line.IndexOf(",IV=", StringComparison.Ordinal);
        if (at >= 0)
        {
            int start = at + ",IV=".Length, end = line.IndexOf(',', start);
            var text = end < 0 ? line.AsSpan(start) : line.AsSpan(start, end - start);
            if (text.Length is < 3 or > 34 || text[0] != '0' || (text[1] | 0x20) != 'x'
                || !UInt128.TryParse(text[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value))
            {
                error = $"an EXT-X-KEY IV '{text}' is not 0x and 1 to 32 hex digits";
                return ("", null);
            }
            iv = value;
        }
        return (uri, iv);
    }

    private static string? Quoted(string line, string name)
    {
        string key = "," + name + "=\"";
        int at = line.IndexOf(key, StringComparison.Ordinal);
        if (at < 0) return null;
        int start = at + key.Length, end = line.IndexOf('"', start);
        return end < 0 ? "" : line[start..end];
    }
}

/// <summary>
/// Writes a clip's whole-segment key tags as its segments go by, as the live playlists place them (docs/protection.md):
/// the key never in force over an EXT-X-MAP (§4.4.4.5: it would apply to the clear init segment), so it is ended by
/// <c>METHOD=NONE</c> before a map and named after it, and named again wherever the IV changes (§4.4.4.4: an EXT-X-KEY
/// applies to every segment after it until the next one).
/// </summary>
internal sealed class WholeSegmentKeyTags
{
    private WholeSegmentKey? _inForce;

    /// <summary>Before an EXT-X-MAP: the key in force, if any, ends.</summary>
    public void BeforeMap(StringBuilder sb)
    {
        if (_inForce is null) return;
        sb.Append(HlsContentProtection.NoKey);
        _inForce = null;
    }

    /// <summary>Before a segment's other tags: its key, unless that one is in force already (a gap loads nothing: no tag).</summary>
    public void Before(StringBuilder sb, WholeSegmentKey? key, bool gap)
    {
        if (gap || key == _inForce) return;
        sb.Append(key is null ? HlsContentProtection.NoKey : key.Tag + "\n");
        _inForce = key;
    }
}
