using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

/// <summary>The file store's manifest swap, seen through the file's inode (a component test: stat(1) reads it).</summary>
[Trait("Kind", "Component")]
public sealed class FileSystemManifestInodeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_rewritten_manifest_swaps_between_two_inodes_and_its_sibling_stays_out_of_listings()
    {
        var store = new FileSystemSegmentStore(_dir.Path);
        const string key = "ch/source/index.m3u8";
        string path = Path.Combine(_dir.Path, "ch", "source", "index.m3u8");
        var inodes = new HashSet<string>();
        for (int i = 0; i < 6; i++)
        {
            byte[] text = System.Text.Encoding.UTF8.GetBytes($"#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:{i}\n");
            await store.PutAsync(key, text, "application/vnd.apple.mpegurl", "max-age=1", default);
            Assert.Equal(text, (await store.GetAsync(key, default))!.Data.ToArray());
            inodes.Add(StoreFileFacts.Inode(path));
        }
        // Each update reuses the manifest's two inodes (renameat2 RENAME_EXCHANGE) instead of allocating a new one.
        Assert.Equal(2, inodes.Count);
        Assert.Equal([key], await StoreFileFacts.ToListAsync(store.ListAsync("ch/", default)));
        await store.DeleteAsync([key], default);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_dir.Path, "ch", "source")));
    }
}
