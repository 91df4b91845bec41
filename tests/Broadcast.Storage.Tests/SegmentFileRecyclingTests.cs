using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

/// <summary>
/// The filesystem store allocates no inode for a live channel's steady churn: a deleted segment's file takes the next
/// segment's bytes (its recycler), and the objects rewritten under one key (manifests, the live
/// state) swap between two inodes. Inode numbers are read with stat(1), as ext4 hands them out.
/// </summary>
[Trait("Kind", "Component")]
public sealed class SegmentFileRecyclingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Bytes(int length, byte fill) => Enumerable.Repeat(fill, length).ToArray();

    [Fact]
    public async Task A_deleted_segments_file_takes_the_next_segment_whole_and_nothing_else_changes()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        await store.PutAsync("ch/source/b-1.m4s", Bytes(5000, 1), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        string inode = StoreFileFacts.Inode(store.PathOf("ch/source/b-1.m4s"));

        await store.DeleteAsync(["ch/source/b-1.m4s"], default);
        Assert.Null(await store.GetAsync("ch/source/b-1.m4s", default));
        Assert.Equal(1, store.RecycledFiles);
        Assert.Empty(await StoreFileFacts.ToListAsync(store.ListAsync("", default)));

        // Shorter than the kept file: its tail goes; another folder: the rename moves it there.
        await store.PutAsync("ch/audio/b-2.m4s", Bytes(1200, 2), ContentTypes.AudioMp4, StoreCacheControl.Immutable, default);
        Assert.Equal(0, store.RecycledFiles);
        Assert.Equal(inode, StoreFileFacts.Inode(store.PathOf("ch/audio/b-2.m4s")));
        var read = await store.GetAsync("ch/audio/b-2.m4s", default);
        Assert.Equal(Bytes(1200, 2), read!.Data.ToArray());
        Assert.Equal(ContentTypes.AudioMp4, read.ContentType);
        Assert.Equal(["ch/audio/b-2.m4s"], await StoreFileFacts.ToListAsync(store.ListAsync("", default)));

        // Longer than any kept file (none now): a new file, as before.
        await store.PutAsync("ch/source/b-3.m4s", Bytes(9000, 3), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        Assert.Equal(Bytes(9000, 3), (await store.GetAsync("ch/source/b-3.m4s", default))!.Data.ToArray());
    }

    [Fact]
    public async Task Each_segment_takes_the_kept_file_that_fits_it_best()
    {
        // A file shortened frees its tail (a synchronous discard on a file system mounted with it): a segment takes the
        // largest kept file no longer than itself, which it only extends, else the shortest longer one.
        var store = new FileSystemSegmentStore(_dir.Path);
        var kept = new Dictionary<int, string>();
        foreach (var (key, length) in new[] { ("ch/source/v-1.m4s", 600_000), ("ch/audio/a-1.m4s", 30_000), ("ch/source/v-2.m4s", 620_000) })
        {
            await store.PutAsync(key, Bytes(length, 1), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
            kept[length] = StoreFileFacts.Inode(store.PathOf(key));
        }
        await store.DeleteAsync(["ch/source/v-1.m4s", "ch/audio/a-1.m4s", "ch/source/v-2.m4s"], default);
        Assert.Equal(3, store.RecycledFiles);

        foreach (var (key, length, expected) in new[]
        {
            ("ch/audio/a-2.m4s", 31_000, 30_000),   // the largest no longer: the audio file, not a video one cut short
            ("ch/source/v-3.m4s", 610_000, 600_000), // the largest no longer
            ("ch/source/v-4.m4s", 590_000, 620_000), // none fits: the shortest longer one, shortened
        })
        {
            await store.PutAsync(key, Bytes(length, 2), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
            Assert.Equal(kept[expected], StoreFileFacts.Inode(store.PathOf(key)));
            Assert.Equal(Bytes(length, 2), (await store.GetAsync(key, default))!.Data.ToArray());
        }
        Assert.Equal(0, store.RecycledFiles);
    }

    [Fact]
    public async Task A_kept_file_a_reader_still_holds_is_never_written_over()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        await store.PutAsync("ch/source/b-1.m4s", Bytes(4000, 1), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        // A slow reader (as the store's own reads open: shared), still reading when the segment is deleted.
        using var reader = new FileStream(store.PathOf("ch/source/b-1.m4s"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        await store.DeleteAsync(["ch/source/b-1.m4s"], default);

        await store.PutAsync("ch/source/b-2.m4s", Bytes(4000, 2), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);

        var held = new byte[4000];
        reader.ReadExactly(held);
        Assert.Equal(Bytes(4000, 1), held);
        Assert.Equal(Bytes(4000, 2), (await store.GetAsync("ch/source/b-2.m4s", default))!.Data.ToArray());
        // The file the reader held was not kept for later either: it goes when the reader lets go.
        Assert.Equal(0, store.RecycledFiles);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, FileSystemSegmentStore.RecycleFolder)));
    }

    [Fact]
    public async Task At_most_64_files_are_kept_and_a_new_store_on_the_root_deletes_what_a_previous_one_kept()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        var keys = Enumerable.Range(1, 70).Select(n => $"ch/source/b-{n}.m4s").ToList();
        foreach (var key in keys) await store.PutAsync(key, Bytes(100, 7), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        await store.DeleteAsync(keys, default);

        Assert.Equal(64, store.RecycledFiles);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "ch", "source")));
        Assert.Equal(64, Directory.EnumerateFiles(Path.Combine(_dir.Path, FileSystemSegmentStore.RecycleFolder)).Count());

        // A restart: what the dead process kept is not held on disk for ever.
        var restarted = new FileSystemSegmentStore(_dir.Path);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, FileSystemSegmentStore.RecycleFolder)));
        Assert.Equal(0, restarted.RecycledFiles);
    }

    [Fact]
    public async Task Deletes_running_at_once_keep_no_more_than_the_bound_and_lose_no_file()
    {
        // Eight channels' deletes at once, 16 segments each: 128 files offered for 64 places. Each delete reserves its
        // place before it moves the file, so none passes the check for a place another is taking.
        var store = new FileSystemSegmentStore(_dir.Path);
        var batches = Enumerable.Range(1, 8)
            .Select(c => Enumerable.Range(1, 16).Select(n => $"ch{c}/source/b-{n}.m4s").ToList()).ToList();
        foreach (var key in batches.SelectMany(b => b))
            await store.PutAsync(key, Bytes(100, 7), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);

        // A thread each (the pool would add them one by one while the barrier holds the first two).
        using var start = new Barrier(batches.Count);
        await Task.WhenAll(batches.Select(batch => Task.Factory.StartNew(() =>
        {
            Assert.True(start.SignalAndWait(TimeSpan.FromSeconds(30)));
            store.DeleteAsync(batch, default).AsTask().GetAwaiter().GetResult();
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)));

        string folder = Path.Combine(_dir.Path, FileSystemSegmentStore.RecycleFolder);
        Assert.Equal(64, store.RecycledFiles);
        Assert.Equal(64, Directory.EnumerateFiles(folder).Count());
        foreach (var batch in batches)
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, batch[0].Split('/')[0], "source")));
    }

    [Fact]
    public async Task The_kept_bytes_never_pass_64_MiB()
    {
        // 3 MiB files: 21 fit (63 MiB); the 22nd would pass the bound, so it is deleted, not kept.
        var store = new FileSystemSegmentStore(_dir.Path);
        var keys = Enumerable.Range(1, 23).Select(n => $"ch/source/b-{n}.m4s").ToList();
        foreach (var key in keys) await store.PutAsync(key, Bytes(3 * 1024 * 1024, 7), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        await store.DeleteAsync(keys, default);

        var kept = Directory.EnumerateFiles(Path.Combine(_dir.Path, FileSystemSegmentStore.RecycleFolder)).ToList();
        Assert.Equal(21, store.RecycledFiles);
        Assert.Equal(21, kept.Count);
        Assert.True(kept.Sum(f => new FileInfo(f).Length) <= 64L * 1024 * 1024);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "ch", "source")));
    }

    [Fact]
    public async Task Another_store_starting_on_the_same_root_costs_the_kept_files_never_a_write()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        await store.PutAsync("ch/source/b-1.m4s", Bytes(3000, 1), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        await store.DeleteAsync(["ch/source/b-1.m4s"], default);
        Assert.Equal(1, store.RecycledFiles);

        _ = new FileSystemSegmentStore(_dir.Path); // an origin process on the same folder, starting

        await store.PutAsync("ch/source/b-2.m4s", Bytes(2000, 2), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        Assert.Equal(Bytes(2000, 2), (await store.GetAsync("ch/source/b-2.m4s", default))!.Data.ToArray());
        Assert.Equal(0, store.RecycledFiles);
    }

    [Fact]
    public async Task Manifests_and_segments_of_an_init_or_another_kind_are_never_recycled()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        await store.PutAsync("ch/source/b-init.mp4", Bytes(700, 1), ContentTypes.VideoMp4, StoreCacheControl.Immutable, default);
        await store.PutAsync("ch/thumbnail.jpg", Bytes(700, 2), "image/jpeg", "max-age=10", default);
        await store.DeleteAsync(["ch/source/b-init.mp4", "ch/thumbnail.jpg"], default);
        Assert.Equal(0, store.RecycledFiles);
        Assert.Null(await store.GetAsync("ch/source/b-init.mp4", default));
        Assert.Null(await store.GetAsync("ch/thumbnail.jpg", default));
    }

    [Theory]
    [InlineData("ch/live-state.json", "application/json", "no-store")]
    [InlineData(StoreKeys.SteeringOverrides, "application/json", "no-store")]
    [InlineData("ch/manifest.mpd", "application/dash+xml", "max-age=1")]
    public async Task An_object_rewritten_under_one_key_swaps_between_two_inodes(string key, string type, string cacheControl)
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        var inodes = new HashSet<string>();
        for (int i = 0; i < 6; i++)
        {
            byte[] data = System.Text.Encoding.UTF8.GetBytes($"{{\"version\":{i}}}");
            await store.PutAsync(key, data, type, cacheControl, default);
            var read = await store.GetAsync(key, default);
            Assert.Equal(data, read!.Data.ToArray());
            Assert.Equal(cacheControl, read.CacheControl);
            inodes.Add(StoreFileFacts.Inode(store.PathOf(key)));
        }
        Assert.Equal(2, inodes.Count);
        Assert.Equal([key], await StoreFileFacts.ToListAsync(store.ListAsync("", default)));
    }
}
