using Broadcast.TestSupport;

namespace Broadcast.Network.Tests;

/// <summary>One caller through per interval: the first at once, no other until the interval has passed.</summary>
public sealed class IntervalGateTests
{
    [Fact]
    public void The_first_caller_passes_and_the_next_only_after_the_interval()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var gate = new IntervalGate(TimeSpan.FromSeconds(10), clock);
        Assert.True(gate.TryPass());
        Assert.False(gate.TryPass());
        clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(gate.TryPass());
        clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.True(gate.TryPass());
        Assert.False(gate.TryPass());
    }

    [Fact]
    public void Of_many_threads_asking_at_once_one_passes()
    {
        var gate = new IntervalGate(TimeSpan.FromHours(1), new ManualClock(DateTimeOffset.UnixEpoch));
        int passed = 0;
        Parallel.For(0, 1000, _ => { if (gate.TryPass()) Interlocked.Increment(ref passed); });
        Assert.Equal(1, passed);
    }

    [Fact]
    public void An_interval_of_zero_or_less_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new IntervalGate(TimeSpan.Zero));
}
