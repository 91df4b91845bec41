using System.Runtime.CompilerServices;
using Microsoft.Win32.SafeHandles;
using System.Security.Cryptography;
using System.Text.Json;

namespace Broadcast.Storage;

/// <summary>
/// Stores objects as plain files under a root folder (<c>Storage:Path</c>, default ./data/media), so the bytes on
/// disk are exactly what is served and any static server could serve them too.
/// <list type="bullet">
/// <item>Atomic replace: the bytes go to a temporary file in the same folder, flushed, then
/// <see cref="File.Move(string, string, bool)"/> with overwrite (rename(2) on POSIX): a reader holding the old file
/// keeps reading the old bytes; a new open sees the new file whole.</item>
/// <item>Content-Type and Cache-Control are kept in a sidecar <c>.meta/{key}.json</c>; the <c>.meta</c> tree cannot
/// collide with a key because no key segment may start with '.'. Segments and init segments whose metadata is the
/// packager's fixed one (see <see cref="ImpliedMeta"/>) get no sidecar: that metadata follows from the key. Without
/// a sidecar the type and Cache-Control are the implied ones for such keys; for any other key the type is derived
/// from the extension and Cache-Control is null.</item>
/// <item>No inode churn: objects rewritten under one key swap between two inodes (<see cref="ReplaceManifest"/>), and
/// a deleted segment's file takes a later segment's bytes (<see cref="SegmentFileRecycler"/>).</item>
/// <item>ETag: a strong validator computed from the bytes returned (SHA-256, first 128 bits, quoted), so the
/// ETag always describes exactly <see cref="StoredObject.Data"/> even while a replace races a read.</item>
/// </list>
/// </summary>
public sealed class FileSystemSegmentStore : ISegmentStore
{
    private const string MetaFolder = ".meta";
    private readonly string _root;

    // The sidecar last written for each manifest key. Live playlists and the MPD are rewritten on every segment with
    // the same type and Cache-Control; rewriting their sidecar each time cost an inode create and a delete (rename
    // over the old one) per manifest per segment, and ext4's inode allocator was a third of the ingest profile.
    // Only manifests and the other rewritten objects (IsRewritten) are remembered: segment keys are written once, so
    // remembering them would only grow.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Meta> _manifestMeta = new(StringComparer.Ordinal);

    // Writes of one manifest share its exchange sibling (ReplaceManifest): serialised per key, striped.
    private readonly object[] _manifestLocks = Enumerable.Range(0, 32).Select(_ => new object()).ToArray();

    private readonly SegmentFileRecycler _recycler;

    public FileSystemSegmentStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
        _recycler = new SegmentFileRecycler(_root);
    }

    /// <summary>Files of deleted segments kept for reuse now (<see cref="SegmentFileRecycler"/>).</summary>
    public int RecycledFiles => _recycler.Count;

    /// <summary>The folder of the root that holds them; no key can name it.</summary>
    public const string RecycleFolder = SegmentFileRecycler.FolderName;

    public string Root => _root;

    /// <summary>The file that holds <paramref name="key"/>'s bytes (for tools and tests).</summary>
    public string PathOf(string key)
    {
        StoreKeys.Validate(key);
        return Path.Combine(_root, key);
    }

    /// <summary>
    /// Stores <paramref name="data"/> under <paramref name="key"/>. Called on a thread of its own (an RTMP receive loop,
    /// where the packager runs inline), it returns before it touches the file system and writes on the thread pool: a
    /// file create waits on the file system (an inode allocation, a journal), and that thread serves other publishers.
    /// On the thread pool the writes are synchronous calls: Linux has no asynchronous buffered file write, so .NET's
    /// asynchronous one queues the same call to another pool thread, a hand-off per file for nothing.
    /// </summary>
    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        string path = PathOf(key);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        if (!Thread.CurrentThread.IsThreadPoolThread) await Task.Yield();
        bool rewritten = IsRewritten(key);
        if (rewritten) ReplaceManifest(path, data.Span);
        else if (IsSegment(key)) WriteSegment(path, data.Span);
        else WriteAtomic(path, data.Span);
        var meta = new Meta(contentType, cacheControl);
        string metaPath = MetaPath(key);
        if (ImpliedMeta(key) is { } implied && implied == meta)
        {
            // No sidecar to create: two of the seven files each segment event created were these. A sidecar left by
            // an earlier put of the same key with other metadata would now be wrong, so it goes (unlink of a
            // missing file is a cheap ENOENT, no inode work).
            DeleteSidecar(metaPath);
            return;
        }
        if (rewritten && _manifestMeta.TryGetValue(key, out var written) && written == meta && File.Exists(metaPath)) return;
        cancellationToken.ThrowIfCancellationRequested();
        WriteAtomic(metaPath, JsonSerializer.SerializeToUtf8Bytes(meta, MetaJson.Default.Meta));
        if (rewritten) _manifestMeta[key] = meta;
    }

    public async ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        string path = PathOf(key);
        byte[] data;
        DateTimeOffset lastModified;
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1,
                    useAsync: true);
                lastModified = File.GetLastWriteTimeUtc(stream.SafeFileHandle);
                data = new byte[stream.Length];
                await stream.ReadExactlyAsync(data, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (FileNotFoundException) { return null; }
            catch (DirectoryNotFoundException) { return null; }
            catch (IOException) when (attempt < 5 && IsRewritten(key))
            {
                // The path named an inode that, by the time the shared lock was asked for, had been swapped out and was
                // being rewritten under its exclusive lock (see ReplaceManifest). Opening the path again finds the new one.
            }
        }

        Meta? meta = null;
        string metaPath = MetaPath(key);
        // Checked first: segments normally have no sidecar, and a FileNotFoundException per read costs more than
        // the stat. A sidecar deleted between the check and the read is caught below.
        if (File.Exists(metaPath))
        {
            try
            {
                var bytes = await File.ReadAllBytesAsync(metaPath, cancellationToken).ConfigureAwait(false);
                meta = JsonSerializer.Deserialize(bytes, MetaJson.Default.Meta);
            }
            catch (IOException) { }
            catch (JsonException) { }
        }
        meta ??= ImpliedMeta(key);
        return new StoredObject(data, meta?.ContentType ?? ContentTypes.FromKey(key), meta?.CacheControl, lastModified, ETagOf(data));
    }

    public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string path = PathOf(key);
            if (!IsSegment(key) || !_recycler.TryKeep(path)) DeleteIfThere(path);
            if (IsRewritten(key)) DeleteIfThere(ExchangeSibling(path));
            _manifestMeta.TryRemove(key, out _);
            DeleteSidecar(MetaPath(key));
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>A missing object is no error, in a missing folder too (File.Delete throws only for the latter): a key never
    /// written, such as a rendition's playlist before its first segment, deletes as S3 deletes it.</summary>
    private static void DeleteIfThere(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        await Task.Yield();
        // Walk from the deepest folder the prefix names, then filter by the full prefix.
        int slash = prefix.LastIndexOf('/');
        string folderKey = slash < 0 ? "" : prefix[..slash];
        if (folderKey.Length > 0) StoreKeys.Validate(folderKey);
        string folder = folderKey.Length == 0 ? _root : Path.Combine(_root, folderKey);
        if (!Directory.Exists(folder)) yield break;
        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
        {
            string key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (!StoreKeys.IsValid(key, out _)) continue; // temp files, the .meta tree
            keys.Add(key);
        }
        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return key;
        }
    }

    /// <summary>Quoted hex of the first 128 bits of SHA-256: strong (RFC 9110 section 8.8.3), stable across restarts.</summary>
    public static string ETagOf(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return "\"" + Convert.ToHexStringLower(hash[..16]) + "\"";
    }

    /// <summary>
    /// The metadata the packager always stores with a CMAF segment (.m4s) or init segment (.mp4): immutable
    /// Cache-Control (<see cref="StoreCacheControl.Immutable"/>: the broadcast id in the name means the URL is never reused) and audio/mp4 in the
    /// audio
    /// rendition's folder (<see cref="StoreKeys.AudioRendition"/>), video/mp4 elsewhere. Null for other keys.
    /// </summary>
    internal static Meta? ImpliedMeta(string key)
    {
        if (!key.EndsWith(".m4s", StringComparison.Ordinal) && !key.EndsWith(".mp4", StringComparison.Ordinal)) return null;
        int last = key.LastIndexOf('/');
        if (last <= 0) return null;
        int previous = key.LastIndexOf('/', last - 1);
        bool audio = key.AsSpan(previous + 1, last - previous - 1).SequenceEqual(StoreKeys.AudioRendition);
        return audio ? ImpliedAudio : ImpliedVideo;
    }

    private static readonly Meta ImpliedVideo = new(ContentTypes.VideoMp4, StoreCacheControl.Immutable);
    private static readonly Meta ImpliedAudio = new(ContentTypes.AudioMp4, StoreCacheControl.Immutable);

    /// <summary>No error when the sidecar or its folder is missing (segments usually have none).</summary>
    private static void DeleteSidecar(string metaPath)
    {
        try { File.Delete(metaPath); }
        catch (DirectoryNotFoundException) { }
    }

    /// <summary>
    /// Objects rewritten under one key (manifests, a channel's live state, the steering overrides) take the
    /// <see cref="ReplaceManifest"/> path, which reuses two inodes; every other key (a segment) is written once. A new file
    /// per write costs an inode allocation, the largest kernel cost of ingest on ext4 (bench/RESULTS.md).
    /// </summary>
    private static bool IsRewritten(string key) => key.EndsWith(".m3u8", StringComparison.Ordinal) || key.EndsWith(".mpd", StringComparison.Ordinal)
        || StoreKeys.IsLiveState(key) || key == StoreKeys.SteeringOverrides;

    private string MetaPath(string key) => Path.Combine(_root, MetaFolder, key + ".json");

    /// <summary>
    /// A manifest's bytes go into its fixed sibling (<see cref="ExchangeSibling"/>), which then swaps places with the
    /// manifest (<see cref="AtomicExchange"/>): the same atomic replace as <see cref="WriteAtomic"/> for readers, but
    /// the two inodes are reused on every update. The sibling is the previous version, which a reader may still be
    /// reading: <see cref="GetAsync"/> opens with a shared lock (.NET takes flock(LOCK_SH) for a shared open) and this
    /// writer opens the sibling exclusively (LOCK_EX, taken before the write), so a sibling in use is never
    /// rewritten; that write takes the temp-file path instead. A process reading the files without that lock (a static
    /// server on the same folder) is safe as long as it reads a manifest faster than two updates.
    /// Synchronous on purpose: a manifest is a few KB written to the page cache, cheaper in place than handed to the
    /// thread pool and back. Writes of one manifest are serialised here, since they share the sibling.
    /// </summary>
    private void ReplaceManifest(string path, ReadOnlySpan<byte> data)
    {
        string sibling = ExchangeSibling(path);
        lock (_manifestLocks[(uint)StringComparer.Ordinal.GetHashCode(path) % (uint)_manifestLocks.Length])
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            SafeFileHandle handle;
            try
            {
                handle = File.OpenHandle(sibling, FileMode.OpenOrCreate, FileAccess.Write, FileShare.None);
            }
            catch (IOException) when (File.Exists(sibling))
            {
                // A reader still holds the previous version: leave it alone this time.
                WriteViaTemp(path, data);
                return;
            }
            using (handle)
            {
                // Written over the previous version and then shortened, never truncated to zero first: ext4 flushes a
                // file truncated to zero and rewritten when it is closed (auto_da_alloc), a block write per manifest
                // update, and the truncation freed the blocks the write then allocated again (a discard each, on a
                // file system mounted with it). Both were 4 % of the ingest profile (bench/RESULTS.md, "Frame pool, manifests and kept files").
                RandomAccess.Write(handle, data, 0);
                if (RandomAccess.GetLength(handle) > data.Length) RandomAccess.SetLength(handle, data.Length);
            }
            if (AtomicExchange.TryExchange(sibling, path) == AtomicExchange.Result.Exchanged) return;
            // First write of this manifest (nothing to swap with), or no exchange on this file system: a plain rename.
            File.Move(sibling, path, overwrite: true);
        }
    }

    private static void WriteViaTemp(string path, ReadOnlySpan<byte> data)
    {
        string temp = TempPath(path);
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None)) RandomAccess.Write(handle, data, 0);
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(temp); } catch (IOException) { }
            throw;
        }
    }

    // ".~" prefix: never a valid key, so listings skip a temp file that a crash left behind.
    private static string TempPath(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, ".~" + Path.GetFileName(path) + "." + Guid.NewGuid().ToString("N") + ".tmp");

    /// <summary>".~" prefix: never a valid key, so listings skip it, like the temp files of <see cref="WriteAtomic"/>.</summary>
    private static string ExchangeSibling(string path) => Path.Combine(Path.GetDirectoryName(path)!, ".~" + Path.GetFileName(path) + ".next");

    /// <summary>A segment (or a low-latency part): written once under its key, and the bulk of what is deleted.</summary>
    private static bool IsSegment(string key) => key.EndsWith(".m4s", StringComparison.Ordinal);

    /// <summary>Into a deleted segment's file when one is kept (<see cref="SegmentFileRecycler"/>), else a new file.</summary>
    private void WriteSegment(string path, ReadOnlySpan<byte> data)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (_recycler.TryWrite(path, data)) return;
            WriteViaTemp(path, data);
        }
        catch
        {
            // A full disk, most likely: the kept files' space is what the deletes would have freed.
            _recycler.Release();
            throw;
        }
    }

    /// <summary>A new file under a temporary name, renamed over <paramref name="path"/>: readers see the old bytes or the new, whole.</summary>
    private static void WriteAtomic(string path, ReadOnlySpan<byte> data)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteViaTemp(path, data);
    }

    internal sealed record Meta(string ContentType, string? CacheControl);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(FileSystemSegmentStore.Meta))]
internal sealed partial class MetaJson : System.Text.Json.Serialization.JsonSerializerContext
{
}
