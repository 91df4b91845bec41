using System.Net;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Tests;

public sealed class RecentObjectCacheTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static RecentObjectCache Create(ISegmentStore inner, long capacity = 1 << 20, TimeProvider? time = null) =>
        new(inner, Options.Create(new OriginOptions { CacheBytes = capacity }), time ?? TimeProvider.System, NullLogger<RecentObjectCache>.Instance);

    /// <summary>A player reads the rendition's playlist: its folder counts as watched, so segments written there next are kept.</summary>
    private static async Task WatchAsync(ISegmentStore cache, string folder)
    {
        await cache.PutAsync(folder + "index.m3u8", "#EXTM3U\n"u8.ToArray(), MediaObjectKinds.HlsContentType, null, default);
        Assert.NotNull(await cache.GetAsync(folder + "index.m3u8", default));
    }

    [Fact]
    public async Task Put_then_get_is_served_from_memory_without_an_inner_read()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner);
        await WatchAsync(cache, "ch/v0/");
        byte[] data = [1, 2, 3, 4];
        await cache.PutAsync("ch/v0/seg_1.m4s", data, "video/iso.segment", "public, max-age=31536000, immutable", default);

        // The caller's buffer is typically pooled and reused: the cache must hold its own copy.
        data[0] = 99;
        StoredObject? got = await cache.GetAsync("ch/v0/seg_1.m4s", default);

        Assert.NotNull(got);
        Assert.Equal(new byte[] { 1, 2, 3, 4 }, got.Data.ToArray());
        Assert.Equal("video/iso.segment", got.ContentType);
        Assert.Equal("public, max-age=31536000, immutable", got.CacheControl);
        Assert.Matches("^\"[0-9a-f]{32}\"$", got.ETag);
        Assert.Empty(inner.GetCalls);
        Assert.Equal(["ch/v0/index.m3u8", "ch/v0/seg_1.m4s"], inner.PutCalls);
        Assert.NotNull(await inner.GetAsync("ch/v0/seg_1.m4s", default));
    }

    [Fact]
    public async Task Invalidating_a_stream_prefix_drops_only_that_streams_copies()
    {
        // An origin-only node whose private channel was deleted: what it read with a token goes, other streams stay.
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner);
        foreach (string folder in new[] { "show/v0/", "showcase/v0/" })
        {
            await WatchAsync(cache, folder);
            await cache.PutAsync(folder + "b1-1.m4s", new byte[] { 1, 2, 3 }, "video/iso.segment", null, default);
        }

        Assert.Equal(4, cache.Count);
        Assert.Equal(2, cache.InvalidatePrefix("show/"));
        Assert.False(cache.Contains("show/v0/b1-1.m4s"));
        Assert.False(cache.Contains("show/v0/index.m3u8"));
        Assert.True(cache.Contains("showcase/v0/b1-1.m4s"));

        // Gone from the store as well: the next read finds nothing instead of a copy.
        await inner.DeleteAsync(["show/v0/b1-1.m4s", "show/v0/index.m3u8"], default);
        Assert.Null(await cache.GetAsync("show/v0/b1-1.m4s", default));
    }

    [Fact]
    public async Task Same_bytes_give_the_same_etag_and_new_bytes_a_new_one()
    {
        RecentObjectCache cache = Create(new InMemorySegmentStore());
        foreach (string folder in new[] { "a/v0/", "b/v0/", "c/v0/" })
        {
            await WatchAsync(cache, folder);
        }

        await cache.PutAsync("a/v0/x.m4s", new byte[] { 1, 2 }, "", null, default);
        await cache.PutAsync("b/v0/x.m4s", new byte[] { 1, 2 }, "", null, default);
        await cache.PutAsync("c/v0/x.m4s", new byte[] { 1, 3 }, "", null, default);
        string a = (await cache.GetAsync("a/v0/x.m4s", default))!.ETag;
        Assert.Equal(a, (await cache.GetAsync("b/v0/x.m4s", default))!.ETag);
        Assert.NotEqual(a, (await cache.GetAsync("c/v0/x.m4s", default))!.ETag);
    }

    [Fact]
    public async Task A_manifest_put_replaces_the_previous_version()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner);
        await cache.PutAsync("ch/v0/index.m3u8", "#EXTM3U\n#1"u8.ToArray(), "application/vnd.apple.mpegurl", "max-age=1", default);
        long afterFirst = cache.CachedBytes;
        await cache.PutAsync("ch/v0/index.m3u8", "#EXTM3U\n#2"u8.ToArray(), "application/vnd.apple.mpegurl", "max-age=1", default);

        StoredObject? got = await cache.GetAsync("ch/v0/index.m3u8", default);
        Assert.Equal("#EXTM3U\n#2"u8.ToArray(), got!.Data.ToArray());
        Assert.Equal(1, cache.Count);
        Assert.Equal(afterFirst, cache.CachedBytes);
        Assert.Empty(inner.GetCalls);
    }

    [Fact]
    public async Task Segments_of_a_folder_nobody_reads_are_stored_but_not_kept_until_a_viewer_comes()
    {
        InMemorySegmentStore inner = new();
        ManualClock clock = new(new DateTimeOffset(2026, 11, 21, 14, 0, 0, TimeSpan.Zero));
        RecentObjectCache cache = Create(inner, time: clock);
        List<string> stored = [];
        cache.Stored += stored.Add;

        // No viewer: the segment goes to the store only (no copy, no memory), and LL-HLS waiters still hear of it.
        await cache.PutAsync("ch/v0/seg_1.m4s", new byte[] { 1 }, "video/iso.segment", null, default);
        Assert.False(cache.Contains("ch/v0/seg_1.m4s"));
        Assert.Equal(0, cache.CachedBytes);
        Assert.Equal(["ch/v0/seg_1.m4s"], stored);

        // The first viewer's read comes from the store, is kept, and marks the folder watched.
        Assert.Equal(new byte[] { 1 }, (await cache.GetAsync("ch/v0/seg_1.m4s", default))!.Data.ToArray());
        Assert.Equal(["ch/v0/seg_1.m4s"], inner.GetCalls);
        Assert.True(cache.Contains("ch/v0/seg_1.m4s"));
        await cache.PutAsync("ch/v0/seg_2.m4s", new byte[] { 2 }, "video/iso.segment", null, default);
        Assert.True(cache.Contains("ch/v0/seg_2.m4s"));
        Assert.False(cache.Contains("ch/v1/seg_2.m4s"));
        await cache.PutAsync("ch/v1/seg_2.m4s", new byte[] { 2 }, "video/iso.segment", null, default);
        Assert.False(cache.Contains("ch/v1/seg_2.m4s")); // another rendition, still unwatched

        // Memory hits keep the folder watched; once nobody has read it for the window, new segments are not kept.
        clock.Advance(RecentObjectCache.WatchedWindow - TimeSpan.FromSeconds(1));
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_2.m4s", default));
        clock.Advance(RecentObjectCache.WatchedWindow - TimeSpan.FromSeconds(1));
        await cache.PutAsync("ch/v0/seg_3.m4s", new byte[] { 3 }, "video/iso.segment", null, default);
        Assert.True(cache.Contains("ch/v0/seg_3.m4s"));
        clock.Advance(RecentObjectCache.WatchedWindow + TimeSpan.FromSeconds(1));
        await cache.PutAsync("ch/v0/seg_4.m4s", new byte[] { 4 }, "video/iso.segment", null, default);
        Assert.False(cache.Contains("ch/v0/seg_4.m4s"));
        Assert.Single(inner.GetCalls);

        // Requests for objects that do not exist mark nothing.
        Assert.Null(await cache.GetAsync("ch/v9/seg_1.m4s", default));
        await cache.PutAsync("ch/v9/seg_1.m4s", new byte[] { 9 }, "video/iso.segment", null, default);
        Assert.False(cache.Contains("ch/v9/seg_1.m4s"));
    }

    [Fact]
    public async Task Reads_within_a_second_of_the_last_one_keep_its_time_and_a_later_read_moves_it()
    {
        InMemorySegmentStore inner = new();
        ManualClock clock = new(new DateTimeOffset(2026, 11, 28, 23, 0, 0, TimeSpan.Zero));
        RecentObjectCache cache = Create(inner, time: clock);
        await inner.PutAsync("ch/v0/seg_1.m4s", new byte[] { 1 }, "video/iso.segment", null, default);
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_1.m4s", default)); // watched from now

        // Hits within the second do not write the folder's entry again: the window counts from the first.
        clock.Advance(TimeSpan.FromMilliseconds(900));
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_1.m4s", default));
        clock.Advance(RecentObjectCache.WatchedWindow - TimeSpan.FromMilliseconds(800));
        await cache.PutAsync("ch/v0/seg_2.m4s", new byte[] { 2 }, "video/iso.segment", null, default);
        Assert.False(cache.Contains("ch/v0/seg_2.m4s"));

        // A hit a second or more after the last written time moves it.
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_1.m4s", default));
        clock.Advance(RecentObjectCache.WatchedWindow - TimeSpan.FromSeconds(1));
        await cache.PutAsync("ch/v0/seg_3.m4s", new byte[] { 3 }, "video/iso.segment", null, default);
        Assert.True(cache.Contains("ch/v0/seg_3.m4s"));
    }

    [Fact]
    public async Task With_keep_unwatched_segments_every_segment_is_kept_so_a_store_outage_does_not_lose_the_live_window()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = new(inner, Options.Create(new OriginOptions { KeepUnwatchedSegments = true }), TimeProvider.System,
            NullLogger<RecentObjectCache>.Instance);
        await cache.PutAsync("ch/v0/seg_1.m4s", new byte[] { 1 }, "video/iso.segment", null, default);
        Assert.True(cache.Contains("ch/v0/seg_1.m4s"));
        inner.FailGetsWith = new IOException("the bucket is away");
        Assert.Equal(new byte[] { 1 }, (await cache.GetAsync("ch/v0/seg_1.m4s", default))!.Data.ToArray());
    }

    [Fact]
    public async Task A_rewrite_of_a_kept_segment_in_an_unwatched_folder_drops_the_stale_copy()
    {
        InMemorySegmentStore inner = new();
        ManualClock clock = new(new DateTimeOffset(2026, 11, 21, 14, 0, 0, TimeSpan.Zero));
        RecentObjectCache cache = Create(inner, time: clock);
        await WatchAsync(cache, "ch/v0/");
        await cache.PutAsync("ch/v0/init.mp4", new byte[] { 1 }, "video/mp4", null, default);
        Assert.True(cache.Contains("ch/v0/init.mp4"));
        clock.Advance(RecentObjectCache.WatchedWindow * 2);
        await cache.PutAsync("ch/v0/init.mp4", new byte[] { 2 }, "video/mp4", null, default);
        Assert.False(cache.Contains("ch/v0/init.mp4"));
        Assert.Equal(new byte[] { 2 }, (await cache.GetAsync("ch/v0/init.mp4", default))!.Data.ToArray());
    }

    [Fact]
    public async Task Eviction_keeps_the_cache_within_its_byte_bound_oldest_first()
    {
        InMemorySegmentStore inner = new();
        const long capacity = 10_000;
        RecentObjectCache cache = Create(inner, capacity);
        await WatchAsync(cache, "ch/v0/");
        for (int i = 0; i < 20; i++)
        {
            await cache.PutAsync($"ch/v0/seg_{i}.m4s", new byte[1000], "", null, default);
            Assert.InRange(cache.CachedBytes, 0, capacity);
        }

        Assert.False(cache.Contains("ch/v0/seg_0.m4s"));
        Assert.True(cache.Contains("ch/v0/seg_19.m4s"));
        Assert.InRange(cache.Count, 1, 9);

        // An evicted object still comes from the inner store.
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_0.m4s", default));
        Assert.Equal(["ch/v0/seg_0.m4s"], inner.GetCalls);
        Assert.InRange(cache.CachedBytes, 0, capacity);
    }

    [Fact]
    public async Task An_object_larger_than_the_whole_cache_is_stored_but_not_kept()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner, 1000);
        await WatchAsync(cache, "ch/v0/");
        await cache.PutAsync("ch/v0/big.m4s", new byte[5000], "", null, default);
        Assert.False(cache.Contains("ch/v0/big.m4s"));
        Assert.True(cache.Contains("ch/v0/index.m3u8")); // nothing evicted for it
        Assert.Equal(5000, (await cache.GetAsync("ch/v0/big.m4s", default))!.Data.Length);
    }

    [Fact]
    public async Task Fifty_concurrent_misses_share_one_inner_read()
    {
        InMemorySegmentStore inner = new();
        inner.Seed("ch/v0/seg_7.m4s", [7, 7, 7], "video/iso.segment", null, DateTimeOffset.UtcNow, "s7");
        inner.GetGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RecentObjectCache cache = Create(inner);

        // Each call registers as leader or follower synchronously; the leader's inner read blocks on the gate.
        Task<StoredObject?>[] reads = new Task<StoredObject?>[50];
        for (int i = 0; i < reads.Length; i++)
        {
            reads[i] = cache.GetAsync("ch/v0/seg_7.m4s", default).AsTask();
        }

        Assert.Single(inner.GetCalls);
        Assert.All(reads, r => Assert.False(r.IsCompleted));
        inner.GetGate.SetResult();

        StoredObject?[] results = await Task.WhenAll(reads).WaitAsync(Bound);
        Assert.All(results, r => Assert.Same(results[0], r));
        Assert.Equal("s7", results[0]!.ETag);
        Assert.Equal(1, inner.GetCount("ch/v0/seg_7.m4s"));

        // A segment read through is kept: the next read is a memory hit.
        await cache.GetAsync("ch/v0/seg_7.m4s", default);
        Assert.Equal(1, inner.GetCount("ch/v0/seg_7.m4s"));
    }

    [Fact]
    public async Task A_waiter_that_gives_up_does_not_fail_the_others()
    {
        InMemorySegmentStore inner = new();
        inner.Seed("ch/v0/seg_8.m4s", [8], "", null, DateTimeOffset.UtcNow, "s8");
        inner.GetGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RecentObjectCache cache = Create(inner);

        using CancellationTokenSource leaderGone = new();
        Task<StoredObject?> leader = cache.GetAsync("ch/v0/seg_8.m4s", leaderGone.Token).AsTask();
        Task<StoredObject?> follower = cache.GetAsync("ch/v0/seg_8.m4s", default).AsTask();
        leaderGone.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leader.WaitAsync(Bound));

        inner.GetGate.SetResult();
        Assert.Equal("s8", (await follower.WaitAsync(Bound))!.ETag);
        Assert.Single(inner.GetCalls);
    }

    [Fact]
    public async Task An_inner_failure_reaches_every_waiter_and_the_next_read_retries()
    {
        InMemorySegmentStore inner = new() { FailGetsWith = new IOException("disk gone") };
        inner.GetGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        RecentObjectCache cache = Create(inner);

        Task<StoredObject?> a = cache.GetAsync("ch/v0/seg_9.m4s", default).AsTask();
        Task<StoredObject?> b = cache.GetAsync("ch/v0/seg_9.m4s", default).AsTask();
        inner.GetGate.SetResult();
        await Assert.ThrowsAsync<IOException>(() => a.WaitAsync(Bound));
        await Assert.ThrowsAsync<IOException>(() => b.WaitAsync(Bound));

        inner.FailGetsWith = null;
        Assert.Null(await cache.GetAsync("ch/v0/seg_9.m4s", default));
        Assert.Equal(2, inner.GetCount("ch/v0/seg_9.m4s"));
    }

    [Fact]
    public async Task Manifests_read_through_are_not_kept()
    {
        // Another node may be rewriting a manifest this node never saw a put for.
        InMemorySegmentStore inner = new();
        inner.Seed("ch/v0/index.m3u8", "#EXTM3U"u8.ToArray(), "", null, DateTimeOffset.UtcNow, "m");
        RecentObjectCache cache = Create(inner);
        await cache.GetAsync("ch/v0/index.m3u8", default);
        await cache.GetAsync("ch/v0/index.m3u8", default);
        Assert.Equal(2, inner.GetCount("ch/v0/index.m3u8"));
    }

    [Fact]
    public async Task Missing_objects_are_not_remembered()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner);
        Assert.Null(await cache.GetAsync("ch/v0/seg_10.m4s", default));
        await inner.PutAsync("ch/v0/seg_10.m4s", new byte[] { 1 }, "", null, default);
        Assert.NotNull(await cache.GetAsync("ch/v0/seg_10.m4s", default));
    }

    [Fact]
    public async Task Delete_removes_from_memory_and_the_inner_store()
    {
        InMemorySegmentStore inner = new();
        RecentObjectCache cache = Create(inner);
        await WatchAsync(cache, "ch/v0/");
        await cache.PutAsync("ch/v0/seg_11.m4s", new byte[] { 1 }, "", null, default);
        Assert.True(cache.Contains("ch/v0/seg_11.m4s"));
        await cache.DeleteAsync(["ch/v0/seg_11.m4s", "ch/v0/index.m3u8"], default);
        Assert.False(cache.Contains("ch/v0/seg_11.m4s"));
        Assert.Equal(0, cache.CachedBytes);
        Assert.Null(await cache.GetAsync("ch/v0/seg_11.m4s", default));
    }

    [Fact]
    public async Task Composition_wraps_the_registered_store_and_serves_puts_from_memory_over_http()
    {
        InMemorySegmentStore inner = new();
        await using OriginServer server = await OriginServer.StartAsync(inner);
        ISegmentStore store = server.Services.GetRequiredService<ISegmentStore>();
        RecentObjectCache cache = Assert.IsType<RecentObjectCache>(store);
        Assert.Same(cache, server.Services.GetRequiredService<RecentObjectCache>());

        // The packager writes through the ISegmentStore it resolves, which is the cache; a player reads the playlist.
        await store.PutAsync("ch/v0/index.m3u8", "#EXTM3U\n"u8.ToArray(), MediaObjectKinds.HlsContentType, null, default);
        using (HttpResponseMessage playlist = await server.Client.GetAsync("/live/ch/v0/index.m3u8"))
        {
            Assert.Equal(HttpStatusCode.OK, playlist.StatusCode);
        }

        await store.PutAsync("ch/v0/seg_1.m4s", new byte[] { 5, 6, 7 }, "video/iso.segment", null, default);
        using HttpResponseMessage response = await server.Client.GetAsync("/live/ch/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new byte[] { 5, 6, 7 }, await response.Content.ReadAsByteArrayAsync());
        Assert.Empty(inner.GetCalls);
    }

    [Fact]
    public async Task Fifty_concurrent_http_gets_of_a_missing_key_make_one_inner_read()
    {
        InMemorySegmentStore inner = new();
        inner.Seed("ch/v0/seg_2.m4s", new byte[4096], "video/iso.segment", null, DateTimeOffset.UtcNow, "s2");
        inner.GetGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using OriginServer server = await OriginServer.StartAsync(inner);
        RecentObjectCache cache = server.Services.GetRequiredService<RecentObjectCache>();

        Task<HttpResponseMessage>[] gets = new Task<HttpResponseMessage>[50];
        for (int i = 0; i < gets.Length; i++)
        {
            gets[i] = server.Client.GetAsync("/live/ch/v0/seg_2.m4s");
        }

        // Wait (bounded) for the leader's read to reach the store, then release it; late arrivals are memory hits.
        await WaitFor.ConditionAsync(() => inner.GetCalls.Count > 0, Bound, "the leader's read to reach the store", pollInterval: TimeSpan.FromMilliseconds(10));

        inner.GetGate.SetResult();
        HttpResponseMessage[] responses = await Task.WhenAll(gets).WaitAsync(Bound);
        foreach (HttpResponseMessage response in responses)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(4096, (await response.Content.ReadAsByteArrayAsync()).Length);
            response.Dispose();
        }

        Assert.Equal(1, inner.GetCount("ch/v0/seg_2.m4s"));
        Assert.True(cache.Contains("ch/v0/seg_2.m4s"));
    }
}
