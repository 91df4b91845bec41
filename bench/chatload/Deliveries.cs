using System.Buffers.Text;
using System.Diagnostics;

namespace Broadcast.ChatLoad;

/// <summary>
/// Every delivery's delay in 1 ms buckets (the last holds everything from 10 s on), and again split by whether the
/// sender's node is the receiver's (local) or not (crossed nodes through the database), to tell where a tail comes from.
/// A bench text is "bench {Stopwatch timestamp of the send} {sender's node}"; a warm-up text starts "warm " and is only
/// counted; anything else counts as foreign.
/// </summary>
public sealed class Deliveries
{
    private readonly long[] _all = new long[10_001];
    private readonly long[] _local = new long[10_001];
    private readonly long[] _crossed = new long[10_001];
    private long _received;
    private long _foreign;
    private long _warm;

    public long Received => Interlocked.Read(ref _received);

    public long Foreign => Interlocked.Read(ref _foreign);

    public long Warm => Interlocked.Read(ref _warm);

    /// <summary>Counts one delivered text, as UTF-8, received at <paramref name="now"/> by a viewer on <paramref name="node"/>.</summary>
    public void Record(ReadOnlySpan<byte> text, int node, long now)
    {
        if (text.StartsWith("warm "u8))
        {
            Interlocked.Increment(ref _warm);
            return;
        }

        if (!text.StartsWith("bench "u8)
            || !Utf8Parser.TryParse(text[6..], out long stamp, out var stampLength)
            || 6 + stampLength >= text.Length || text[6 + stampLength] != (byte)' '
            || !Utf8Parser.TryParse(text[(7 + stampLength)..], out int from, out var fromLength)
            || 7 + stampLength + fromLength != text.Length)
        {
            Interlocked.Increment(ref _foreign);
            return;
        }

        var bucket = Math.Clamp((long)Stopwatch.GetElapsedTime(stamp, now).TotalMilliseconds, 0, _all.Length - 1);
        Interlocked.Increment(ref _all[bucket]);
        Interlocked.Increment(ref (from == node ? _local : _crossed)[bucket]);
        Interlocked.Increment(ref _received);
    }

    public long Percentile(double p) => PercentileOf(_all, p);

    public long LocalPercentile(double p) => PercentileOf(_local, p);

    public long CrossedPercentile(double p) => PercentileOf(_crossed, p);

    public long Max => Array.FindLastIndex(_all, x => x > 0);

    private static long PercentileOf(long[] histogram, double p)
    {
        var count = histogram.Sum();
        if (count == 0) return -1;
        var target = (long)Math.Ceiling(count * p);
        long seen = 0;
        for (var i = 0; i < histogram.Length; i++)
        {
            seen += histogram[i];
            if (seen >= target) return i;
        }

        return histogram.Length - 1;
    }
}
