namespace Broadcast.Media.Tests;

/// <summary><see cref="LiveStreamRegistry.WaitForLiveAsync"/>: the jobs that follow one channel across its publishes wait here.</summary>
public sealed class WaitForLiveTests
{
    [Fact]
    public async Task A_live_stream_is_returned_at_once()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("a", out var live));
        Assert.Same(live, await registry.WaitForLiveAsync("a", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Waits_for_the_next_publish_of_that_name_only_and_not_for_an_ended_one()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("a", out var ended));
        registry.EndPublish(ended);
        var waiting = registry.WaitForLiveAsync("a", CancellationToken.None);
        Assert.True(registry.TryStartPublish("b", out _));
        Assert.False(waiting.IsCompleted);
        Assert.True(registry.TryStartPublish("a", out var next));
        Assert.Same(next, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Cancelling_ends_the_wait()
    {
        var registry = new LiveStreamRegistry();
        using var cancel = new CancellationTokenSource();
        var waiting = registry.WaitForLiveAsync("a", cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
