using System.Text;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

/// <summary>
/// The write fallback over the real filesystem store. The failing disk here is a test-only stand-in
/// (<see cref="FullDiskStandIn"/>: puts throw ENOSPC's IOException while switched on) because a real full disk needs a
/// root-only tmpfs mount; the end-to-end DiskFullTests fill a real one.
/// </summary>
public sealed class WriteFallbackSegmentStoreTests : IDisposable
{
    private readonly TempDirectory _dir = new("broadcast-fallback");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Writes_are_held_and_served_while_the_disk_fails_then_written_in_order_and_straight_through_again()
    {
        var disk = new FileSystemSegmentStore(_dir.Path);
        var full = new FullDiskStandIn(disk);
        await using var store = new WriteFallbackSegmentStore(full, _dir.Path, new UploadQueueOptions { MaxRetryDelay = TimeSpan.FromMilliseconds(50) });
        await PutAsync(store, "ch/source/b-1.m4s", "seg1");
        await PutAsync(store, "ch/source/index.m3u8", "v1");
        Assert.Equal("v1", await File.ReadAllTextAsync(disk.PathOf("ch/source/index.m3u8")));

        full.Full = true;
        await PutAsync(store, "ch/source/b-2.m4s", "seg2");
        await PutAsync(store, "ch/source/index.m3u8", "v2");
        await PutAsync(store, "ch/source/b-3.m4s", "seg3");
        await PutAsync(store, "ch/source/index.m3u8", "v3");
        Assert.True(store.Failing);
        Assert.Equal("v3", await GetAsync(store, "ch/source/index.m3u8"));
        Assert.Equal("seg2", await GetAsync(store, "ch/source/b-2.m4s"));
        Assert.Equal("v1", await File.ReadAllTextAsync(disk.PathOf("ch/source/index.m3u8")));
        var status = store.GetStatus();
        Assert.False(status.StoreReachable);
        Assert.True(status.PendingObjects > 0);
        Assert.Contains("No space left on device", status.LastError);

        full.Full = false;
        await WaitFor.ConditionAsync(() => !store.Failing && store.GetStatus() is { StoreReachable: true, PendingObjects: 0 },
            TimeSpan.FromSeconds(20), "the fallback to write out what it held", () => $"{store.GetStatus()}");
        Assert.Equal("v3", await File.ReadAllTextAsync(disk.PathOf("ch/source/index.m3u8")));
        Assert.Equal("seg3", await File.ReadAllTextAsync(disk.PathOf("ch/source/b-3.m4s")));
        // Segments before the manifest that names them, and no older manifest after a newer one.
        var order = full.Stored.ToList();
        Assert.True(order.IndexOf("ch/source/b-3.m4s") < order.LastIndexOf("ch/source/index.m3u8"), string.Join(", ", order));

        await PutAsync(store, "ch/source/index.m3u8", "v4");
        Assert.Equal("v4", await File.ReadAllTextAsync(disk.PathOf("ch/source/index.m3u8")));
    }

    private static ValueTask PutAsync(ISegmentStore store, string key, string text) =>
        store.PutAsync(key, Encoding.UTF8.GetBytes(text), key.EndsWith(".m3u8", StringComparison.Ordinal) ? ContentTypes.Hls : ContentTypes.VideoMp4, null, default);

    private static async Task<string?> GetAsync(ISegmentStore store, string key) =>
        await store.GetAsync(key, default) is { } o ? Encoding.UTF8.GetString(o.Data.Span) : null;

    /// <summary>Test-only: the real store, except that puts fail as on a full disk while <see cref="Full"/> is set.</summary>
    private sealed class FullDiskStandIn(ISegmentStore inner) : ISegmentStore
    {
        public volatile bool Full;

        public System.Collections.Concurrent.ConcurrentQueue<string> Stored { get; } = new();

        public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
        {
            if (Full) throw new IOException("No space left on device");
            await inner.PutAsync(key, data, contentType, cacheControl, cancellationToken);
            Stored.Enqueue(key);
        }

        public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => inner.GetAsync(key, cancellationToken);

        public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken) => inner.DeleteAsync(keys, cancellationToken);

        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
    }
}
