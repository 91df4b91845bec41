using Microsoft.Win32.SafeHandles;

namespace Broadcast.Storage;

/// <summary>
/// The files of deleted segments, kept in a folder of the store's root for the next segment writes to reuse. A live
/// channel writes new segments and deletes old ones every few seconds; on ext4 each new file is an inode allocation
/// whose search skips every recently deleted inode (<c>find_inode_bit</c>, <c>recently_deleted</c>), and that grows
/// with the churn: 9 to 25 % of the server's CPU at 20 RTMP publishers (bench/RESULTS.md). A kept file gets the new
/// bytes written over its own and is renamed to the new key: no inode is allocated or freed.
/// <list type="bullet">
/// <item>Readers: <see cref="FileSystemSegmentStore.GetAsync"/> holds a shared lock while it reads; a kept file is
/// opened exclusively before it is written, so one a reader still holds is deleted instead. A segment is deleted only
/// after no playlist has named it for the delete grace, so that is rare.</item>
/// <item>Bound: at most <see cref="MaxFiles"/> files and <see cref="MaxBytes"/> kept, deletes running at once included;
/// beyond, a delete deletes. In steady state each batch's writes take what the previous batch's deletes kept. A failed
/// write gives back every kept file's space (<see cref="Release"/>): a full disk gets what deletes would have freed.</item>
/// <item>The folder's name starts with ".~", which no key can: listings skip it and nothing serves it. What a previous
/// run left there is deleted at start; a process sharing the root that starts meanwhile costs the others their kept files,
/// never a write (a kept file that vanished is passed over).</item>
/// </list>
/// </summary>
internal sealed class SegmentFileRecycler
{
    public const string FolderName = ".~recycle";

    private const int MaxFiles = 64;
    private const long MaxBytes = 64L * 1024 * 1024;

    private readonly string _folder;
    // Another process may keep files in the same folder (two stores on one root): names never collide.
    private readonly string _prefix = Guid.NewGuid().ToString("N")[..12];
    // Few (MaxFiles): a choice by size scans them under the lock, cheap beside the file calls around it.
    private readonly List<KeptFile> _kept = new(MaxFiles);
    private readonly Lock _lock = new();
    private long _bytes; // of the kept files and those being moved in, under the lock
    private int _moving; // files being moved in, their places reserved, under the lock
    private long _sequence;

    private readonly record struct KeptFile(string Path, long Bytes);

    public SegmentFileRecycler(string root)
    {
        _folder = Path.Combine(root, FolderName);
        try
        {
            if (Directory.Exists(_folder)) Directory.Delete(_folder, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    /// <summary>Files kept now (tests, status).</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _kept.Count;
        }
    }

    /// <summary>
    /// Keeps a deleted segment's file for reuse. False when it did not: the pool is full, the file is missing or the
    /// move failed; the caller deletes the path then (a no-op when it is missing).
    /// </summary>
    public bool TryKeep(string path)
    {
        long bytes;
        try
        {
            bytes = new FileInfo(path).Length;
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
        // The bounds hold with deletes running at once: each reserves its place and bytes before it moves the file,
        // so two cannot both pass the check for the last place.
        lock (_lock)
        {
            if (_kept.Count + _moving >= MaxFiles || _bytes + bytes > MaxBytes) return false;
            _moving++;
            _bytes += bytes;
        }
        string kept = Path.Combine(_folder, $"{_prefix}-{Interlocked.Increment(ref _sequence)}");
        bool moved = false;
        try
        {
            Directory.CreateDirectory(_folder);
            File.Move(path, kept);
            moved = true;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        finally
        {
            lock (_lock)
            {
                _moving--;
                if (moved) _kept.Add(new KeptFile(kept, bytes));
                else _bytes -= bytes;
            }
        }
        return moved;
    }

    /// <summary>
    /// Writes <paramref name="data"/> over a kept file and renames it to <paramref name="path"/> (atomic for readers, as a
    /// temp file's rename). False when no kept file could take it: the caller writes a new file. A failed write deletes
    /// the kept file and throws. Synchronous: its caller is already on the thread pool (<see cref="FileSystemSegmentStore.PutAsync"/>).
    /// </summary>
    public bool TryWrite(string path, ReadOnlySpan<byte> data)
    {
        while (TryTake(data.Length, out var file))
        {
            SafeFileHandle handle;
            try
            {
                handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Write, FileShare.None);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A reader still holds it (its shared lock), or it is gone.
                TryDelete(file.Path);
                continue;
            }
            try
            {
                using (handle)
                {
                    RandomAccess.Write(handle, data, 0);
                    if (RandomAccess.GetLength(handle) > data.Length) RandomAccess.SetLength(handle, data.Length);
                }
                File.Move(file.Path, path, overwrite: true);
                return true;
            }
            catch (FileNotFoundException)
            {
                // Another process on the same root started and cleared the folder under this write: take another.
                continue;
            }
            catch
            {
                TryDelete(file.Path);
                throw;
            }
        }
        return false;
    }

    /// <summary>Deletes every kept file: their space goes back to the file system (after a failed write).</summary>
    public void Release()
    {
        while (TryTake(long.MaxValue, out var file)) TryDelete(file.Path);
    }

    /// <summary>
    /// The kept file that fits <paramref name="length"/> best: the largest no longer than it, which the write only
    /// extends, else the shortest longer one. A file shortened frees its tail blocks, and ext4 frees them with a
    /// synchronous discard on a file system mounted with it: taking files in the order they were kept wrote 30 KB audio
    /// segments over 600 KB video ones and paid that on every other segment (bench/RESULTS.md, "Frame pool, manifests and kept files").
    /// </summary>
    private bool TryTake(long length, out KeptFile file)
    {
        lock (_lock)
        {
            int best = -1;
            for (int i = 0; i < _kept.Count; i++)
            {
                long bytes = _kept[i].Bytes;
                if (best < 0) { best = i; continue; }
                long current = _kept[best].Bytes;
                bool fits = bytes <= length, currentFits = current <= length;
                if (fits ? !currentFits || bytes > current : !currentFits && bytes < current) best = i;
            }
            if (best < 0)
            {
                file = default;
                return false;
            }
            file = _kept[best];
            _kept[best] = _kept[^1];
            _kept.RemoveAt(_kept.Count - 1);
            _bytes -= file.Bytes;
        }
        return true;
    }

    private static void TryDelete(string path)
    {
        try { File.Delete(path); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
