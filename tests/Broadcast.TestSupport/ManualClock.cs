namespace Broadcast.TestSupport;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock only moves when a test calls <see cref="Advance"/>; timers created through it
/// fire (synchronously, on the caller's thread) when the clock passes their due time. For grace periods and deadlines.
/// </summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly object _gate = new();
    private readonly List<ManualTimer> _timers = new();
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_gate) return _now;
    }

    /// <summary>Moves the clock and fires every timer that came due, in due order (bounded: each fires at most once per call).</summary>
    public void Advance(TimeSpan by)
    {
        DateTimeOffset now;
        List<ManualTimer> due;
        lock (_gate)
        {
            _now += by;
            now = _now;
            due = _timers.Where(t => t.Due is { } d && d <= now).OrderBy(t => t.Due).ToList();
        }
        foreach (var t in due) t.Fire(now);
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

        public DateTimeOffset? Due { get; private set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._gate)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                _period = period;
            }
            return true;
        }

        public void Fire(DateTimeOffset now)
        {
            lock (clock._gate)
            {
                if (Due is not { } d || d > now) return;
                Due = _period > TimeSpan.Zero && _period != Timeout.InfiniteTimeSpan ? d + _period : null;
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
