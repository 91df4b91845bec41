using Microsoft.Net.Http.Headers;

namespace Broadcast.Origin;

/// <summary>
/// Formats an HTTP date (IMF-fixdate, RFC 9110 5.6.7) and keeps the last one: a playlist changes once a segment, and every
/// viewer's request for it, and for the segments stored in the same second, carries the same Last-Modified.
/// Safe for concurrent callers: the kept value is replaced whole, so no caller sees half of one.
/// </summary>
internal sealed class HttpDateFormatter
{
    private Formatted? _last;

    public string Format(DateTimeOffset value)
    {
        long seconds = value.ToUnixTimeSeconds();
        Formatted? last = Volatile.Read(ref _last);
        if (last is null || last.UnixSeconds != seconds)
        {
            last = new Formatted(seconds, HeaderUtilities.FormatDate(value));
            Volatile.Write(ref _last, last);
        }

        return last.Value;
    }

    private sealed record Formatted(long UnixSeconds, string Value);
}
