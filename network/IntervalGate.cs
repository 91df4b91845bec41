namespace Broadcast.Network;

/// <summary>
/// Lets one caller through per interval, whichever thread asks first: for a log line that a flood of refused requests
/// would otherwise repeat on every request. Lock-free; a caller that loses the race is simply not let through.
/// </summary>
public sealed class IntervalGate
{
    private readonly TimeProvider _time;
    private readonly long _interval;
    private long _next = long.MinValue;

    public IntervalGate(TimeSpan interval, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _time = time ?? TimeProvider.System;
        _interval = (long)(interval.TotalSeconds * _time.TimestampFrequency);
    }

    /// <summary>True for the first caller of each interval.</summary>
    public bool TryPass()
    {
        long now = _time.GetTimestamp();
        long next = Interlocked.Read(ref _next);
        return now >= next && Interlocked.CompareExchange(ref _next, now + _interval, next) == next;
    }
}
