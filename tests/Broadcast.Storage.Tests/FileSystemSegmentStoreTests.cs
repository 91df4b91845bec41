using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

public sealed class FileSystemSegmentStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Put_then_get_keeps_bytes_type_cache_control_and_a_content_etag()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        byte[] data = "#EXTM3U\n"u8.ToArray();
        await store.PutAsync("ch/source/index.m3u8", data, "application/vnd.apple.mpegurl", "public, max-age=1", default);
        var got = await store.GetAsync("ch/source/index.m3u8", default);
        Assert.NotNull(got);
        Assert.Equal(data, got.Data.ToArray());
        Assert.Equal("application/vnd.apple.mpegurl", got.ContentType);
        Assert.Equal("public, max-age=1", got.CacheControl);
        Assert.Equal(FileSystemSegmentStore.ETagOf(data), got.ETag);
        Assert.Equal(data, await File.ReadAllBytesAsync(Path.Combine(_dir.Path, "ch", "source", "index.m3u8")));

        await store.PutAsync("ch/source/index.m3u8", "#EXTM3U\n#X\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=1", default);
        var replaced = await store.GetAsync("ch/source/index.m3u8", default);
        Assert.NotEqual(got.ETag, replaced!.ETag);
    }

    [Fact]
    public async Task Rewriting_a_manifest_keeps_its_sidecar_and_a_changed_policy_replaces_it()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/source/index.m3u8";
        string sidecar = Path.Combine(_dir.Path, ".meta", "ch", "source", "index.m3u8.json");
        await store.PutAsync(key, "#EXTM3U\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=1", default);
        var marked = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(sidecar, marked);

        // The same type and policy: the sidecar is not rewritten, and the object still reads with it.
        await store.PutAsync(key, "#EXTM3U\n#A\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=1", default);
        Assert.Equal(marked, File.GetLastWriteTimeUtc(sidecar));
        var same = await store.GetAsync(key, default);
        Assert.Equal("#EXTM3U\n#A\n"u8.ToArray(), same!.Data.ToArray());
        Assert.Equal("public, max-age=1", same.CacheControl);

        // A new policy (the broadcast ended) is written.
        await store.PutAsync(key, "#EXTM3U\n#B\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=2", default);
        Assert.Equal("public, max-age=2", (await store.GetAsync(key, default))!.CacheControl);

        // A sidecar removed behind the store's back is written again.
        File.Delete(sidecar);
        await store.PutAsync(key, "#EXTM3U\n#C\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=2", default);
        Assert.Equal("public, max-age=2", (await store.GetAsync(key, default))!.CacheControl);

        // After a delete the next put of the key writes its sidecar again.
        await store.DeleteAsync([key], default);
        Assert.False(File.Exists(sidecar));
        await store.PutAsync(key, "#EXTM3U\n"u8.ToArray(), "application/vnd.apple.mpegurl", "public, max-age=2", default);
        Assert.Equal("public, max-age=2", (await store.GetAsync(key, default))!.CacheControl);
    }

    [Theory]
    [InlineData("ch/source/20261121T054512Z-7.m4s", "video/mp4")]
    [InlineData("ch/480p/20261121T054512Z-init-1.mp4", "video/mp4")]
    [InlineData("ch/audio/20261121T054512Z-7.m4s", "audio/mp4")]
    [InlineData("ch/audio/20261121T054512Z-init.mp4", "audio/mp4")]
    public async Task Segments_with_the_packagers_metadata_get_no_sidecar_and_read_back_the_same(string key, string type)
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        string sidecar = Path.Combine(_dir.Path, ".meta", key.Replace('/', Path.DirectorySeparatorChar) + ".json");
        byte[] data = [0, 0, 0, 8, (byte)'s', (byte)'t', (byte)'y', (byte)'p'];
        await store.PutAsync(key, data, type, StoreCacheControl.Immutable, default);
        Assert.False(File.Exists(sidecar));
        var got = await store.GetAsync(key, default);
        Assert.Equal(data, got!.Data.ToArray());
        Assert.Equal(type, got.ContentType);
        Assert.Equal(StoreCacheControl.Immutable, got.CacheControl);
        Assert.Equal(FileSystemSegmentStore.ETagOf(data), got.ETag);
    }

    [Fact]
    public async Task A_segment_with_other_metadata_keeps_a_sidecar_until_a_put_with_the_implied_metadata()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/audio/x-1.m4s";
        string sidecar = Path.Combine(_dir.Path, ".meta", "ch", "audio", "x-1.m4s.json");

        // Video type in the audio folder, no Cache-Control: not what the key implies, so it is recorded.
        await store.PutAsync(key, new byte[] { 1 }, "video/mp4", null, default);
        Assert.True(File.Exists(sidecar));
        var first = await store.GetAsync(key, default);
        Assert.Equal("video/mp4", first!.ContentType);
        Assert.Null(first.CacheControl);

        // Replaced with the implied metadata: the stale sidecar must not survive and override it.
        await store.PutAsync(key, new byte[] { 2 }, "audio/mp4", StoreCacheControl.Immutable, default);
        Assert.False(File.Exists(sidecar));
        var second = await store.GetAsync(key, default);
        Assert.Equal("audio/mp4", second!.ContentType);
        Assert.Equal(StoreCacheControl.Immutable, second.CacheControl);

        // Same type but another Cache-Control: recorded again.
        await store.PutAsync(key, new byte[] { 3 }, "audio/mp4", "no-store", default);
        Assert.True(File.Exists(sidecar));
        Assert.Equal("no-store", (await store.GetAsync(key, default))!.CacheControl);
    }

    [Fact]
    public async Task Missing_keys_read_as_null_and_delete_is_idempotent()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        Assert.Null(await store.GetAsync("nope/a.m4s", default));
        await store.PutAsync("ch/a.m4s", new byte[] { 1 }, "video/mp4", null, default);
        await store.DeleteAsync(["ch/a.m4s", "ch/b.m4s"], default);
        Assert.Null(await store.GetAsync("ch/a.m4s", default));
    }

    [Fact]
    public async Task List_returns_keys_under_a_prefix_without_bookkeeping_files()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        foreach (var k in new[] { "ch/source/x-1.m4s", "ch/source/x-2.m4s", "ch/audio/x-1.m4s", "other/master.m3u8" })
            await store.PutAsync(k, new byte[] { 1 }, "video/mp4", "c", default);
        var keys = new List<string>();
        await foreach (var k in store.ListAsync("ch/", default)) keys.Add(k);
        Assert.Equal(["ch/audio/x-1.m4s", "ch/source/x-1.m4s", "ch/source/x-2.m4s"], keys);
        var source = new List<string>();
        await foreach (var k in store.ListAsync("ch/source/x-", default)) source.Add(k);
        Assert.Equal(2, source.Count);
    }

    public static TheoryData<string> BadKeys => new()
    {
        "", "/abs/key.m4s", "../escape.m4s", "ch/../../etc/passwd", "ch/./x", "ch//x.m4s", "ch/x.m4s/", "ch\\x.m4s",
        "ch/.hidden", "ch/x y.m4s", "ch/x%2e.m4s", "ch/é.m4s", "C:/x", "ch/x\0.m4s",
    };

    [Theory]
    [MemberData(nameof(BadKeys))]
    public async Task Unsafe_keys_are_rejected(string key)
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.PutAsync(key, new byte[] { 1 }, "video/mp4", null, default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.GetAsync(key, default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.DeleteAsync([key], default));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.GetDirectoryName(_dir.Path)!, "passwd"));
    }

    [Theory]
    [InlineData("ch/source/20261121T054512Z-12.m4s")]
    [InlineData("a_b-c.d/e")]
    public void Safe_keys_are_accepted(string key) => Assert.True(StoreKeys.IsValid(key, out _));

    [Fact]
    public async Task Readers_never_see_a_torn_object_while_it_is_replaced()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/source/index.m3u8";
        byte[] a = Enumerable.Repeat((byte)'a', 256 * 1024).ToArray();
        byte[] b = Enumerable.Repeat((byte)'b', 100 * 1024).ToArray();
        await store.PutAsync(key, a, "application/vnd.apple.mpegurl", null, default);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        int writes = 0, reads = 0;
        var writer = Task.Run(async () =>
        {
            for (int i = 0; i < 200; i++)
            {
                await store.PutAsync(key, i % 2 == 0 ? b : a, "application/vnd.apple.mpegurl", null, cts.Token);
                Interlocked.Increment(ref writes);
            }
        });
        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(async () =>
        {
            // Each reader keeps going until the writer is done, and reads at least 50 times either way.
            for (int mine = 0; !writer.IsCompleted || mine < 50; mine++)
            {
                var got = await store.GetAsync(key, cts.Token);
                Assert.NotNull(got); // the rename never leaves a moment without the key
                var span = got.Data.Span;
                Assert.True(span.Length == a.Length || span.Length == b.Length, $"torn length {span.Length}");
                Assert.Equal(-1, span.IndexOfAnyExcept(span[0]));
                Assert.Equal(FileSystemSegmentStore.ETagOf(span), got.ETag);
                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        await writer;
        await Task.WhenAll(readers);
        Assert.Equal(200, writes);
        Assert.True(reads > 0);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "ch", "source"), "*.tmp"));
    }


    [Fact]
    public async Task A_manifest_rewritten_shorter_and_longer_reads_back_exactly_each_time()
    {
        // Each update is written over the previous version in place and then shortened: no byte of a longer earlier
        // version may survive past the end of a shorter one.
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/source/index.m3u8";
        foreach (int length in new[] { 9000, 120, 5000, 4097, 4096, 1, 20_000, 300 })
        {
            byte[] text = Enumerable.Range(0, length).Select(i => (byte)('a' + (i + length) % 26)).ToArray();
            await store.PutAsync(key, text, "application/vnd.apple.mpegurl", "max-age=1", default);
            Assert.Equal(text, (await store.GetAsync(key, default))!.Data.ToArray());
        }
    }

    [Fact]
    public async Task Called_on_a_thread_of_its_own_a_write_returns_before_it_touches_the_file_system()
    {
        // An RTMP receive loop runs the packager inline: a file create that waits on the file system would hold every
        // publisher on that loop. From such a thread the store returns before it creates anything and writes on the
        // thread pool. The calling thread's context holds what it is handed, so nothing races the check.
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/source/b-1.m4s";
        var held = new HoldingContext();
        ValueTask put = default;
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(held);
            put = store.PutAsync(key, new byte[5000], ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(30)));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "ch")), "the write began on the calling thread");

        held.RunOnThreadPool();
        await put.AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(5000, (await store.GetAsync(key, default))!.Data.Length);
    }

    /// <summary>Keeps what is posted to it until the test lets it run on the thread pool.</summary>
    private sealed class HoldingContext : SynchronizationContext
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();

        public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

        public override void Send(SendOrPostCallback d, object? state) => throw new NotSupportedException();

        public void RunOnThreadPool()
        {
            while (_posted.TryDequeue(out var posted)) ThreadPool.QueueUserWorkItem(_ => posted.Callback(posted.State));
        }
    }
}
