using Broadcast.Ingest.Restream;

namespace Broadcast.Ingest.Tests.Restream;

public class RestreamBackoffTests
{
    private sealed class FixedRandom(double value) : Random
    {
        public override double NextDouble() => value;
    }

    [Fact]
    public void Doubles_from_one_second_up_to_thirty_without_jitter()
    {
        var backoff = RestreamBackoff.Default;
        var delays = Enumerable.Range(1, 8).Select(n => backoff.Delay(n, new FixedRandom(0)).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], delays);
    }

    [Fact]
    public void Jitter_shortens_by_at_most_a_quarter()
    {
        var backoff = RestreamBackoff.Default;
        Assert.Equal(TimeSpan.FromSeconds(3), backoff.Delay(3, new FixedRandom(1)));
        Assert.Equal(TimeSpan.FromSeconds(22.5), backoff.Delay(10, new FixedRandom(1)));
        var random = new Random(42);
        for (int i = 0; i < 1000; i++)
        {
            var d = backoff.Delay(1 + (i % 12), random);
            Assert.InRange(d.TotalSeconds, 0.75, 30);
        }
    }

    [Fact]
    public void Huge_failure_counts_do_not_overflow()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), RestreamBackoff.Default.Delay(int.MaxValue, new FixedRandom(0)));
        Assert.Equal(TimeSpan.FromSeconds(1), RestreamBackoff.Default.Delay(0, new FixedRandom(0)));
    }
}
