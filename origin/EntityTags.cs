using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin;

/// <summary>Entity-tag handling for conditional requests (RFC 9110 8.8.3, 13.1.2, 13.1.5) without allocating.</summary>
public static class EntityTags
{
    /// <summary>
    /// The ETag header value for a store validator: stores may hand out the opaque value bare or already quoted.
    /// A store's validator is strong by contract, so a bare value is quoted and never prefixed with W/.
    /// </summary>
    public static string ToHeaderValue(string storeETag)
    {
        if (storeETag.Length >= 2 && storeETag[0] == '"' && storeETag[^1] == '"')
        {
            return storeETag;
        }

        return string.Concat("\"", storeETag, "\"");
    }

    /// <summary>
    /// If-None-Match evaluation (RFC 9110 13.1.2): true when the header lists the current tag under the weak
    /// comparison (W/ prefixes ignored) or is "*". <paramref name="currentTag"/> is a quoted header value.
    /// </summary>
    public static bool IfNoneMatchMatches(StringValues header, string currentTag)
    {
        for (int i = 0; i < header.Count; i++)
        {
            if (ListContains(header[i], currentTag, weak: true))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// If-Range with an entity-tag (RFC 9110 13.1.5): the range applies only when the tag matches under the strong
    /// comparison, which a weak tag never does.
    /// </summary>
    public static bool StrongMatches(ReadOnlySpan<char> candidate, string currentTag)
    {
        candidate = candidate.Trim();
        if (candidate.StartsWith("W/", StringComparison.Ordinal))
        {
            return false;
        }

        return candidate.SequenceEqual(currentTag.AsSpan().Trim());
    }

    private static bool ListContains(string? list, string currentTag, bool weak)
    {
        if (list is null)
        {
            return false;
        }

        ReadOnlySpan<char> current = Opaque(currentTag.AsSpan());
        ReadOnlySpan<char> rest = list.AsSpan();
        while (!rest.IsEmpty)
        {
            int comma = NextComma(rest);
            ReadOnlySpan<char> item = (comma < 0 ? rest : rest[..comma]).Trim();
            rest = comma < 0 ? ReadOnlySpan<char>.Empty : rest[(comma + 1)..];

            if (item.IsEmpty)
            {
                continue;
            }

            if (item.Length == 1 && item[0] == '*')
            {
                return true;
            }

            bool isWeak = item.StartsWith("W/", StringComparison.Ordinal);
            if (isWeak && !weak)
            {
                continue;
            }

            if (Opaque(item).SequenceEqual(current))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The opaque-tag with quotes, without a W/ prefix.</summary>
    private static ReadOnlySpan<char> Opaque(ReadOnlySpan<char> tag)
    {
        tag = tag.Trim();
        return tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;
    }

    /// <summary>Commas inside a quoted opaque-tag are not separators (etagc excludes '"', not ',').</summary>
    private static int NextComma(ReadOnlySpan<char> text)
    {
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                return i;
            }
        }

        return -1;
    }
}
