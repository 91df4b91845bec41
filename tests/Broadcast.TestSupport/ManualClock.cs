namespace Broadcast.TestSupport;

/// <summary>
/// The tests' one <see cref="TimeProvider"/> that moves only when a test tells it: wall time, timestamps and timers alike.
/// <see cref="Advance"/> moves all three and fires every timer that came due (synchronously, on the caller's thread).
/// <see cref="SetUtcNow"/> sets the wall time; forwards it is an <see cref="Advance"/>, backwards it steps the wall clock
/// alone (as a wall-clock correction does), because timestamps and timers are monotonic.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = new();
    private DateTimeOffset _now = start;

    // Monotonic ticks since an arbitrary non-zero origin (as Stopwatch's are), so code that reads 0 as "never" still works.
    private long _timestamp = start.UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    public override long GetTimestamp()
    {
        lock (_gate) return _timestamp;
    }

    /// <summary>
    /// Timers that will fire (created and not stopped). A timer is relative to the clock when it is made: a test that
    /// moves the clock while code on another thread is about to arm one waits for it here first, or the timer is armed
    /// after the move and comes due that much later.
    /// </summary>
    public int PendingTimers
    {
        get { lock (_gate) return _timers.Count(t => t.Due is not null); }
    }

    /// <summary>Moves the clock and fires every timer that came due, in due order (bounded: each fires at most once per call).</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long timestamp;
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            _timestamp += by.Ticks;
            timestamp = _timestamp;
            due = _timers.Where(t => t.Due is { } d && d <= timestamp).OrderBy(t => t.Due).ToList();
        }
        foreach (var t in due) t.Fire(timestamp);
    }

    /// <summary>Sets the wall time: forwards as <see cref="Advance"/>; backwards the wall clock only.</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        TimeSpan forward;
        lock (_gate)
        {
            forward = value - _now;
            if (forward < TimeSpan.Zero)
            {
                _now = value;
                return;
            }
        }
        Advance(forward);
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_gate) _timers.Add(timer);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        private TimeSpan _period = Timeout.InfiniteTimeSpan;

        /// <summary>The timestamp at which the timer fires next; null when stopped.</summary>
        public long? Due { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._timestamp + dueTime.Ticks;
                _period = period;
            }
            return true;
        }

        public void Fire(long timestamp)
        {
            lock (clock._gate)
            {
                if (Due is not { } d || d > timestamp) return;
                Due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? d + _period.Ticks : null;
            }
            callback(state);
        }

        public void Dispose()
        {
            lock (clock._gate)
            {
                Due = null;
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
