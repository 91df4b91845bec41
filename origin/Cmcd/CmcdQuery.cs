namespace Broadcast.Origin.Cmcd;

/// <summary>
/// Finds the <c>CMCD</c> query argument (CTA-5004 §2.2: the whole payload, URL-encoded, as one argument named CMCD) in a raw
/// query string and decodes it into a caller's buffer, without allocating.
/// </summary>
public static class CmcdQuery
{
    public const string ArgumentName = "CMCD";

    /// <summary>
    /// Decodes the CMCD argument of <paramref name="query"/> (with or without its leading '?') into <paramref name="decoded"/>
    /// (at least <see cref="CmcdReader.MaxLength"/> long); <paramref name="length"/> is how much of it was written.
    /// Empty when there is no such argument; TooLong when it does not fit; Malformed when its percent-encoding is broken
    /// or decodes to other than printable ASCII.
    /// </summary>
    public static CmcdReadResult Decode(ReadOnlySpan<char> query, Span<char> decoded, out int length)
    {
        length = 0;
        if (!query.IsEmpty && query[0] == '?') query = query[1..];
        while (!query.IsEmpty)
        {
            int amp = query.IndexOf('&');
            var pair = amp < 0 ? query : query[..amp];
            query = amp < 0 ? ReadOnlySpan<char>.Empty : query[(amp + 1)..];
            int eq = pair.IndexOf('=');
            if (eq < 0 || !pair[..eq].SequenceEqual(ArgumentName)) continue;
            return PercentDecode(pair[(eq + 1)..], decoded, out length);
        }

        return CmcdReadResult.Empty;
    }

    private static CmcdReadResult PercentDecode(ReadOnlySpan<char> encoded, Span<char> decoded, out int length)
    {
        length = 0;
        if (encoded.IsEmpty) return CmcdReadResult.Empty;
        // Each decoded character takes one to three encoded ones: more than three times the limit cannot fit.
        if (encoded.Length > 3 * CmcdReader.MaxLength) return CmcdReadResult.TooLong;
        for (int i = 0; i < encoded.Length; i++)
        {
            char c = encoded[i];
            if (c == '%')
            {
                if (i + 2 >= encoded.Length || !TryHex(encoded[i + 1], out int high) || !TryHex(encoded[i + 2], out int low))
                    return CmcdReadResult.Malformed;
                c = (char)((high << 4) | low);
                i += 2;
            }
            else if (c == '+') c = ' '; // form encoding's space; players encode with encodeURIComponent (%20)

            if (c is < ' ' or > '~') return CmcdReadResult.Malformed;
            if (length == decoded.Length || length == CmcdReader.MaxLength) return CmcdReadResult.TooLong;
            decoded[length++] = c;
        }

        return CmcdReadResult.Read;
    }

    private static bool TryHex(char c, out int value)
    {
        value = c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'a' and <= 'f' => c - 'a' + 10,
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
        return value >= 0;
    }
}
