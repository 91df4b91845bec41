namespace Broadcast.Origin;

/// <summary>Outcome of reading a Range header against a representation of known length (RFC 9110 14.2).</summary>
public enum RangeOutcome
{
    /// <summary>No usable Range: answer 200 with the whole body (absent, malformed, other unit, or several ranges).</summary>
    Full,

    /// <summary>One satisfiable range: answer 206 with Content-Range.</summary>
    Partial,

    /// <summary>Syntactically valid but no byte of it exists: answer 416 with <c>Content-Range: bytes */length</c>.</summary>
    Unsatisfiable,
}

/// <summary>Parses a single <c>bytes=</c> range: <c>a-b</c>, <c>a-</c> and the suffix form <c>-n</c>.</summary>
public static class ByteRangeRequest
{
    /// <summary>
    /// Resolves <paramref name="header"/> against <paramref name="length"/> bytes. On
    /// <see cref="RangeOutcome.Partial"/>, <paramref name="offset"/> and <paramref name="count"/> select the bytes.
    /// </summary>
    public static RangeOutcome Resolve(ReadOnlySpan<char> header, long length, out long offset, out long count)
    {
        offset = 0;
        count = length;

        header = header.Trim();
        // The range unit is case-insensitive (RFC 9110 14.1); any other unit is ignored (14.2).
        if (header.Length < 6 || !header[..6].Equals("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return RangeOutcome.Full;
        }

        ReadOnlySpan<char> spec = header[6..].Trim();

        // Several ranges would need a multipart/byteranges body. Players ask for one range at a time, and
        // RFC 9110 14.2 lets a server ignore Range, so we answer the whole object with 200 instead.
        if (spec.IndexOf(',') >= 0)
        {
            return RangeOutcome.Full;
        }

        int dash = spec.IndexOf('-');
        if (dash < 0)
        {
            return RangeOutcome.Full;
        }

        ReadOnlySpan<char> first = spec[..dash].Trim();
        ReadOnlySpan<char> last = spec[(dash + 1)..].Trim();

        // A zero-length object has no byte to select and a Content-Range of "bytes 0--1/0" is not expressible;
        // the whole (empty) body is the honest answer.
        if (length == 0)
        {
            return RangeOutcome.Full;
        }

        if (first.IsEmpty)
        {
            // suffix-range: the last n bytes (RFC 9110 14.1.1). "-0" selects nothing.
            if (!TryParseDigits(last, out long suffix))
            {
                return RangeOutcome.Full;
            }

            if (suffix == 0)
            {
                return RangeOutcome.Unsatisfiable;
            }

            long take = Math.Min(suffix, length);
            offset = length - take;
            count = take;
            return RangeOutcome.Partial;
        }

        if (!TryParseDigits(first, out long start))
        {
            return RangeOutcome.Full;
        }

        long end;
        if (last.IsEmpty)
        {
            end = length - 1;
        }
        else
        {
            if (!TryParseDigits(last, out end))
            {
                return RangeOutcome.Full;
            }

            // last < first is invalid syntax (14.1.1), which a server ignores rather than rejects.
            if (end < start)
            {
                return RangeOutcome.Full;
            }

            // A last-pos beyond the end means "to the end" (14.1.1).
            end = Math.Min(end, length - 1);
        }

        if (start >= length)
        {
            return RangeOutcome.Unsatisfiable;
        }

        offset = start;
        count = end - start + 1;
        return RangeOutcome.Partial;
    }

    /// <summary>1*DIGIT only: no sign, no spaces, no overflow (long.TryParse would accept "+5" and " 5").</summary>
    private static bool TryParseDigits(ReadOnlySpan<char> text, out long value)
    {
        value = 0;
        if (text.IsEmpty)
        {
            return false;
        }

        foreach (char c in text)
        {
            uint digit = (uint)(c - '0');
            if (digit > 9)
            {
                return false;
            }

            if (value > (long.MaxValue - digit) / 10)
            {
                // Larger than any object: treat as "beyond the end" by saturating.
                value = long.MaxValue;
                continue;
            }

            value = (value * 10) + digit;
        }

        return true;
    }
}
