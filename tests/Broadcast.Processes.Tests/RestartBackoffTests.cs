namespace Broadcast.Processes.Tests;

/// <summary>The restart policy of the long-running children (the transcode and each pull).</summary>
public sealed class RestartBackoffTests
{
    [Fact]
    public void Doubles_from_the_initial_wait_up_to_the_cap()
    {
        var backoff = new RestartBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
        var waits = Enumerable.Range(0, 7).Select(_ => backoff.Next(TimeSpan.Zero).TotalSeconds).ToArray();
        Assert.Equal([1, 2, 4, 8, 10, 10, 10], waits);
    }

    [Fact]
    public void A_run_that_stayed_up_starts_over()
    {
        var backoff = new RestartBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));
        backoff.Next(TimeSpan.Zero);
        backoff.Next(TimeSpan.Zero);
        Assert.Equal(4, backoff.Next(TimeSpan.FromSeconds(5)).TotalSeconds);
        Assert.Equal(1, backoff.Next(RestartBackoff.DefaultStableAfter).TotalSeconds);
        Assert.Equal(2, backoff.Next(TimeSpan.Zero).TotalSeconds);
    }

    [Fact]
    public void An_initial_wait_above_the_cap_is_capped()
    {
        var backoff = new RestartBackoff(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(5));
        Assert.Equal(5, backoff.Next(TimeSpan.Zero).TotalSeconds);
    }

    [Fact]
    public void A_deliberate_restart_resets_the_wait()
    {
        var backoff = new RestartBackoff(TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(8));
        backoff.Next(TimeSpan.Zero);
        backoff.Next(TimeSpan.Zero);
        backoff.Reset();
        Assert.Equal(250, backoff.Next(TimeSpan.Zero).TotalMilliseconds);
    }
}
