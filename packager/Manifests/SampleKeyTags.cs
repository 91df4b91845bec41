using System.Text;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// A Common Encryption broadcast's HLS key tags (RFC 8216bis §4.4.4.4: <c>EXT-X-KEY</c> of <c>METHOD=SAMPLE-AES</c> or
/// <c>SAMPLE-AES-CTR</c>, one per KEYFORMAT: ClearKey's and a key server's vendor tags) as a stored playlist is read.
/// §4.4.4.4: a key tag applies to every segment after it "between it and the next EXT-X-KEY tag in the Playlist file with
/// the same KEYFORMAT attribute", so a key period of a rotated broadcast (docs/protection.md) is named by the tags
/// written before its first segment, each replacing the one of its KEYFORMAT in force; a tag restated as it is changes
/// nothing. Every segment takes the tags in force when it is read (one list shared until they change).
/// </summary>
internal sealed class SampleKeysInForce
{
    private List<string> _tags = [];
    private bool _taken;
    private HashSet<string>? _group;

    /// <summary>The tags in force now.</summary>
    public IReadOnlyList<string> Current => _tags;

    /// <summary>The tags in force for a segment: from here on, a new tag starts the next period's.</summary>
    public IReadOnlyList<string> Take()
    {
        _group = null;
        if (_tags.Count == 0) return []; // a clear segment's, as a StoredSegment made without tags has
        _taken = true;
        return _tags;
    }

    /// <summary>
    /// Reads one key tag: it replaces the tags of its KEYFORMAT read before the last segment (the previous period's), in
    /// their place; tags of one KEYFORMAT between two segments stand together. False when more than <paramref name="max"/>
    /// would be in force.
    /// </summary>
    public bool Read(string tag, int max)
    {
        if (_tags.Contains(tag, StringComparer.Ordinal)) return true;
        if (_taken)
        {
            _tags = [.. _tags];
            _taken = false;
        }
        string format = SampleKeyTags.Format(tag);
        int at = _tags.Count;
        if ((_group ??= new HashSet<string>(StringComparer.Ordinal)).Add(format))
        {
            int first = _tags.FindIndex(t => SampleKeyTags.Format(t) == format);
            if (first >= 0)
            {
                at = first;
                _tags.RemoveAll(t => SampleKeyTags.Format(t) == format);
            }
        }
        if (_tags.Count == max) return false;
        _tags.Insert(at, tag);
        return true;
    }
}

/// <summary>What a sample-encryption key tag says: its KEYFORMAT, and the KID ClearKey's names.</summary>
public static class SampleKeyTags
{
    /// <summary>The KEYFORMAT ClearKey's tags carry (W3C Clear Key, as the packager writes it).</summary>
    public const string ClearKeyFormat = "org.w3.clearkey";

    private const string DataUri = "data:text/plain;base64,";

    /// <summary>A key tag's KEYFORMAT; §4.4.4.4: "identity" when it has none.</summary>
    public static string Format(string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return Quoted(tag, "KEYFORMAT") ?? "identity";
    }

    /// <summary>
    /// The KID the ClearKey tag among <paramref name="tags"/> names (its URI <c>data:text/plain;base64,</c> and the KID's 16
    /// bytes, docs/protection.md), or null when none names one.
    /// </summary>
    public static KeyId? ClearKeyId(IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        Span<byte> kid = stackalloc byte[18];
        foreach (var tag in tags)
        {
            if (Format(tag) != ClearKeyFormat || Quoted(tag, "URI") is not { } uri || !uri.StartsWith(DataUri, StringComparison.Ordinal)) continue;
            if (Convert.TryFromBase64String(uri[DataUri.Length..], kid, out int written) && written == 16) return KeyId.FromBytes(kid[..16]);
        }
        return null;
    }

    /// <summary>A quoted attribute's value (after ':' or ','), or null.</summary>
    private static string? Quoted(string tag, string name)
    {
        string key = name + "=\"";
        for (int at = tag.IndexOf(key, StringComparison.Ordinal); at >= 0; at = tag.IndexOf(key, at + 1, StringComparison.Ordinal))
        {
            if (at == 0 || tag[at - 1] is not (':' or ',')) continue;
            int start = at + key.Length, end = tag.IndexOf('"', start);
            return end < 0 ? null : tag[start..end];
        }
        return null;
    }
}

/// <summary>
/// Writes a clip's sample-encryption key tags as its segments go by: those in force for its first segment before its
/// first EXT-X-MAP, as the packager writes them, and a later segment's again before it wherever they change (a key
/// period of a rotated broadcast; §4.4.4.4: a tag applies until the next of its KEYFORMAT).
/// </summary>
internal sealed class SampleKeyTagWriter
{
    private IReadOnlyList<string> _inForce = [];

    /// <summary>Before a segment's other tags (a discontinuity, a map): its key tags, unless they are in force already.</summary>
    public void Before(StringBuilder sb, IReadOnlyList<string> tags)
    {
        if (ReferenceEquals(tags, _inForce) || tags.SequenceEqual(_inForce, StringComparer.Ordinal)) return;
        foreach (var tag in tags) sb.Append(tag).Append('\n');
        _inForce = tags;
    }
}
