namespace Broadcast.Media;

/// <summary>
/// Where a reconnecting publisher's media goes on the broadcast's timeline. A new RTMP connection starts its
/// timestamps again (usually at 0); the broadcast continues after what it already has, plus the wall-clock time the
/// publisher was away, so media time keeps pace with the wall clock (DASH availability, HLS program date-time).
/// Pure integer arithmetic in 90 kHz ticks.
/// </summary>
public static class TimelineJoin
{
    /// <summary>
    /// The offset (90 kHz) to add to every timestamp of the new publisher: its first frame lands at
    /// <paramref name="previousEnd"/> plus <paramref name="gap"/> (a negative gap counts as none).
    /// </summary>
    /// <param name="previousEnd">End of the previous publisher's media: its last decode time plus one frame, 90 kHz.</param>
    /// <param name="gap">Time the publisher was away, 90 kHz.</param>
    /// <param name="firstNew">Decode time of the new publisher's first frame (any kind), 90 kHz.</param>
    public static long Offset(long previousEnd, long gap, long firstNew) => previousEnd + Math.Max(0, gap) - firstNew;

    /// <summary>A wall-clock span in 90 kHz ticks, saturating instead of overflowing.</summary>
    public static long ToVideoTicks(TimeSpan span)
    {
        if (span <= TimeSpan.Zero) return 0;
        Int128 ticks = (Int128)span.Ticks * Timescales.Video / TimeSpan.TicksPerSecond;
        return ticks > long.MaxValue / 2 ? long.MaxValue / 2 : (long)ticks;
    }
}
