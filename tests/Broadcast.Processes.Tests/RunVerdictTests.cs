using Broadcast.TestSupport;

namespace Broadcast.Processes.Tests;

/// <summary>How an attempt that reports its end as text (the compositor's inputs, the WebRTC feed) becomes a restart verdict.</summary>
public sealed class RunVerdictTests
{
    [Fact]
    public async Task An_ended_input_restarts_at_once_with_the_backoff_reset()
    {
        var verdict = await RunVerdict.OfAttemptAsync(_ => Task.FromResult(""), TimeProvider.System, CancellationToken.None);
        Assert.Equal(RunVerdict.RestartNow(resetBackoff: true), verdict);
    }

    [Fact]
    public async Task A_failure_waits_the_backoff_and_says_how_long_it_lasted()
    {
        var clock = new ManualClock(DateTimeOffset.UnixEpoch);
        var verdict = await RunVerdict.OfAttemptAsync(_ =>
        {
            clock.Advance(TimeSpan.FromSeconds(7));
            return Task.FromResult("ffmpeg exited 1");
        }, clock, CancellationToken.None);
        Assert.Equal(RunNext.RestartAfterBackoff, verdict.Next);
        Assert.Equal("ffmpeg exited 1", verdict.Reason);
        Assert.Equal(TimeSpan.FromSeconds(7), verdict.Lasted);
    }

    [Fact]
    public async Task Cancelled_by_its_owner_it_stops_but_a_cancellation_of_its_own_is_not_hidden()
    {
        using var owner = new CancellationTokenSource();
        var stopped = await RunVerdict.OfAttemptAsync(async token =>
        {
            await owner.CancelAsync();
            token.ThrowIfCancellationRequested();
            return "";
        }, TimeProvider.System, owner.Token);
        Assert.Equal(RunVerdict.Stop, stopped);
        await Assert.ThrowsAsync<TaskCanceledException>(() => RunVerdict.OfAttemptAsync(_ => Task.FromException<string>(new TaskCanceledException()), TimeProvider.System, CancellationToken.None));
    }
}
