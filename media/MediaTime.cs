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
    private long _last;
    private bool _started;

    public long Unwrap(uint timestamp) => Unwrap(ref _last, ref _started, timestamp, 1L << 32);

    /// <summary>
    /// Extends <paramref name="value"/>, a counter that wraps at <paramref name="range"/>, to the 64-bit timeline of
    /// <paramref name="last"/>: a backwards jump of more than half the range is a wrap. Shared by the 32-bit RTMP and
    /// the 33-bit MPEG-TS clocks.
    /// </summary>
    internal static long Unwrap(ref long last, ref bool started, long value, long range)
    {
        if (!started)
        {
            started = true;
            last = value;
            return last;
        }
        long epoch = last & ~(range - 1);
        long candidate = epoch | value;
        long diff = candidate - last;
        if (diff < -(range / 2)) candidate += range;
        else if (diff > range / 2 && candidate >= range) candidate -= range;
        last = candidate;
        return candidate;
    }
}

/// <summary>
/// Unwraps the 33-bit 90 kHz PTS/DTS of MPEG-TS (ISO/IEC 13818-1 2.4.3.7) into a 64-bit timeline: they wrap after
/// 2^33 ticks (about 26.5 hours), and hardware encoders start them anywhere in that range.
/// </summary>
public struct PtsUnwrapper
{
    /// <summary>2^33: the range of a PTS or DTS.</summary>
    public const long Range = 1L << 33;

    private long _last;
    private bool _started;

    public long Unwrap(long pts) => TimestampUnwrapper.Unwrap(ref _last, ref _started, pts & (Range - 1), Range);

    /// <summary>The difference of two 33-bit timestamps, taking the shorter way round the wrap.</summary>
    internal static long WrapDifference(long difference)
    {
        difference &= Range - 1;
        return difference >= Range / 2 ? difference - Range : difference;
    }
}
