namespace Broadcast.Media;

/// <summary>Well-known timescales. Media time is always integer ticks plus a timescale, never a double.</summary>
public static class Timescales
{
    /// <summary>RTMP and FLV timestamps are milliseconds.</summary>
    public const int Milliseconds = 1000;

    /// <summary>CMAF video tracks use the MPEG 90 kHz clock.</summary>
    public const int Video = 90_000;

    /// <summary>
    /// Rescales <paramref name="ticks"/> from one timescale to another, rounding to nearest,
    /// without overflowing for any timestamp a broadcast can reach (Int128 intermediate).
    /// </summary>
    public static long Rescale(long ticks, int fromTimescale, int toTimescale)
    {
        if (fromTimescale <= 0) throw new ArgumentOutOfRangeException(nameof(fromTimescale));
        if (toTimescale <= 0) throw new ArgumentOutOfRangeException(nameof(toTimescale));
        if (fromTimescale == toTimescale) return ticks;
        Int128 scaled = (Int128)ticks * toTimescale;
        Int128 half = fromTimescale / 2;
        Int128 result = scaled >= 0 ? (scaled + half) / fromTimescale : (scaled - half) / fromTimescale;
        return (long)result;
    }

    /// <summary>Rescales rounding down (floor), used where a boundary must never be crossed early.</summary>
    public static long RescaleFloor(long ticks, int fromTimescale, int toTimescale)
    {
        if (fromTimescale == toTimescale) return ticks;
        Int128 scaled = (Int128)ticks * toTimescale;
        Int128 q = scaled / fromTimescale;
        if (scaled < 0 && q * fromTimescale != scaled) q -= 1;
        return (long)q;
    }
}

/// <summary>
/// Unwraps 32-bit RTMP timestamps into a monotonic 64-bit timeline. RTMP timestamps wrap after
/// 2^32 ms (about 49.7 days); a backwards jump of more than half the range is taken as a wrap.
/// </summary>
public struct TimestampUnwrapper
{
    private const long Range = 1L << 32;
    private long _last;
    private bool _started;

    public long Unwrap(uint timestamp)
    {
        if (!_started)
        {
            _started = true;
            _last = timestamp;
            return _last;
        }
        long epoch = _last & ~(Range - 1);
        long candidate = epoch | timestamp;
        long diff = candidate - _last;
        if (diff < -(Range / 2)) candidate += Range;
        else if (diff > Range / 2 && candidate >= Range) candidate -= Range;
        _last = candidate;
        return candidate;
    }
}
