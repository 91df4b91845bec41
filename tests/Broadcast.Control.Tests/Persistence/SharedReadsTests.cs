using Broadcast.Control.Persistence;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Persistence;

/// <summary>The shared answer to an anonymous read that costs database work (the watch page's poll, chat joins, chat replay).</summary>
public sealed class SharedReadsTests
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 26, 7, 30, 0, TimeSpan.Zero));

    [Fact]
    public async Task A_thousand_asks_within_the_lifetime_cost_one_read_and_the_next_after_it_reads_again()
    {
        var reads = new SharedReads<string, int>(TimeSpan.FromSeconds(2), 100, _clock);
        int queries = 0;
        var gate = new TaskCompletionSource<int>();
        Task<int> Read(string key) { Interlocked.Increment(ref queries); return gate.Task; }

        // Concurrent asks while the first read is in flight share it.
        var asks = Enumerable.Range(0, 1000).Select(_ => reads.GetAsync("news", Read)).ToList();
        gate.SetResult(7);
        Assert.All(await Task.WhenAll(asks), v => Assert.Equal(7, v));
        Assert.Equal(1, queries);

        _clock.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Equal(7, await reads.GetAsync("news", _ => { queries++; return Task.FromResult(8); }));
        Assert.Equal(1, queries);

        _clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.Equal(8, await reads.GetAsync("news", _ => { queries++; return Task.FromResult(8); }));
        Assert.Equal(2, queries);
    }

    [Fact]
    public async Task Made_up_keys_never_grow_the_table_past_its_capacity_and_are_still_answered()
    {
        var reads = new SharedReads<string, string?>(TimeSpan.FromSeconds(2), 50, _clock);
        for (int i = 0; i < 500; i++)
            Assert.Null(await reads.GetAsync($"nochannel{i}", _ => Task.FromResult<string?>(null)));
        Assert.True(reads.Count <= 50, $"{reads.Count} keys remembered");

        // Once those have expired, the sweep makes room for a real key again.
        _clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("news", await reads.GetAsync("news", _ => Task.FromResult<string?>("news")));
        Assert.True(reads.Count <= 50, $"{reads.Count} keys remembered");
        int queries = 0;
        Assert.Equal("news", await reads.GetAsync("news", _ => { queries++; return Task.FromResult<string?>("other"); }));
        Assert.Equal(0, queries);
    }

    [Fact]
    public async Task A_failed_read_is_not_remembered_and_a_forgotten_key_is_read_again()
    {
        var reads = new SharedReads<string, int>(TimeSpan.FromSeconds(2), 10, _clock);
        await Assert.ThrowsAsync<InvalidOperationException>(() => reads.GetAsync("news", _ => Task.FromException<int>(new InvalidOperationException("database down"))));
        Assert.Equal(1, await reads.GetAsync("news", _ => Task.FromResult(1)));

        reads.Forget("news");
        Assert.Equal(2, await reads.GetAsync("news", _ => Task.FromResult(2)));
    }
}
