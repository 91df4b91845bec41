using System.Collections.Concurrent;
using System.Security.Cryptography;
using Broadcast.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin;

/// <summary>
/// An <see cref="ISegmentStore"/> decorator that keeps recently written and read objects in memory, so the
/// segments and playlists every live viewer asks for in the same few seconds are served without touching the
/// disk or S3.
/// <list type="bullet">
/// <item>Write-through: <see cref="PutAsync"/> stores in the inner store first (a failed write leaves no phantom
/// object in memory), then keeps a private copy (the caller may reuse its buffer) and replaces any older entry,
/// which is how a live manifest's new version displaces the old.</item>
/// <item>Segments are written through only into folders (a rendition) read within <see cref="WatchedWindow"/>, unless
/// <see cref="OriginOptions.KeepUnwatchedSegments"/> (S3): a channel nobody watches (a rehearsal, a recording-only
/// event) costs no memory, no copy and no hash per segment. Its first viewer's reads go to the inner store (for the
/// filesystem, the page cache the write just filled), are kept as read-through segments, and mark the folder watched
/// for the next puts. Manifests are small and always written through.</item>
/// <item>Bounded by <see cref="OriginOptions.CacheBytes"/> with FIFO eviction: live viewers ask for the newest
/// objects, so insertion order is nearly the access order, and FIFO keeps hits lock-free (an LRU would take a
/// lock on every hit to move the entry).</item>
/// <item>Single-flight: concurrent misses of one key share one inner read. Objects read through are kept when
/// they are segments (immutable); manifests read through are not, since another node may be updating them.</item>
/// </list>
/// </summary>
public sealed class RecentObjectCache : ISegmentStore
{
    /// <summary>Bookkeeping bytes charged per entry beyond the data (entry, node, record, strings).</summary>
    private const int EntryOverhead = 256;

    private readonly ISegmentStore _inner;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _capacity;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task<StoredObject?>> _inflight = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _order = new();
    private readonly Lock _gate = new();
    private long _bytes;
    private long _deleteGeneration;

    /// <summary>How long a folder counts as watched after its last read.</summary>
    public static readonly TimeSpan WatchedWindow = TimeSpan.FromSeconds(60);

    /// <summary>Folders (the key up to its last '/') with the UTC ticks of their last read.</summary>
    private readonly ConcurrentDictionary<string, long> _lastReadByFolder = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long>.AlternateLookup<ReadOnlySpan<char>> _lastReadLookup;
    private const int FoldersBeforePrune = 4096;
    private readonly bool _keepUnwatchedSegments;

    public RecentObjectCache(ISegmentStore inner, IOptions<OriginOptions> options, TimeProvider time, ILogger<RecentObjectCache> logger)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _time = time;
        _logger = logger;
        _capacity = options.Value.CacheBytes;
        _keepUnwatchedSegments = options.Value.KeepUnwatchedSegments ?? false;
        _lastReadLookup = _lastReadByFolder.GetAlternateLookup<ReadOnlySpan<char>>();
        if (_capacity < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Origin:CacheBytes must not be negative.");
        }
    }

    /// <summary>Bytes currently charged to the cache (data plus per-entry overhead).</summary>
    public long CachedBytes => Interlocked.Read(ref _bytes);

    /// <summary>Number of objects held in memory.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether <paramref name="key"/> is held in memory now.</summary>
    public bool Contains(string key) => _entries.ContainsKey(key);

    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        await _inner.PutAsync(key, data, contentType, cacheControl, cancellationToken).ConfigureAwait(false);

        if (!_keepUnwatchedSegments && MediaObjectKinds.Classify(key) == MediaObjectKind.Segment && !IsWatched(key))
        {
            // Readable from the inner store now; a copy held from an earlier write of this key would be stale.
            Invalidate(key);
            Stored?.Invoke(key);
            return;
        }

        // One copy per write (not per read): the caller's buffer is typically pooled and reused after we return.
        byte[] copy = data.ToArray();
        // HTTP dates carry whole seconds; a sub-second Last-Modified would never equal an If-Modified-Since.
        DateTimeOffset now = _time.GetUtcNow();
        DateTimeOffset lastModified = new(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        StoredObject stored = new(copy, contentType, cacheControl, lastModified, ComputeETag(copy));
        Insert(key, stored, replace: true, generation: -1);
        Stored?.Invoke(key);
    }

    /// <summary>Raised after every put, once the object is readable here (LL-HLS waiters wake on it).</summary>
    public event Action<string>? Stored;

    /// <summary>
    /// Another process stored <paramref name="key"/> (an origin-only node told by the ingest node): drops the copy held
    /// here and forgets a read of it already in flight, so the next <see cref="GetAsync"/> reads the new version.
    /// </summary>
    public void Invalidate(string key)
    {
        _inflight.TryRemove(key, out _);
        lock (_gate)
        {
            if (_entries.TryGetValue(key, out Entry? entry))
            {
                RemoveLocked(entry);
            }
        }
    }

    /// <summary>
    /// Drops every object held here whose key starts with <paramref name="prefix"/> (a stream's <c>{slug}/</c>) and
    /// keeps reads already in flight from putting theirs back. An origin-only node calls it when a stream stops being
    /// private (its channel was deleted, or taken over by another channel), so copies read with a token are not then
    /// served without one.
    /// </summary>
    public int InvalidatePrefix(string prefix)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        foreach (string key in _inflight.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal)) _inflight.TryRemove(key, out _);
        }

        int removed = 0;
        lock (_gate)
        {
            _deleteGeneration++;
            foreach (Entry entry in _entries.Values)
            {
                if (entry.Key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    RemoveLocked(entry);
                    removed++;
                }
            }
        }

        return removed;
    }

    private long _hits;
    private long _misses;

    /// <summary>Reads answered from memory.</summary>
    public long Hits => Volatile.Read(ref _hits);

    /// <summary>Reads that went to the store (or joined a read already on its way there).</summary>
    public long Misses => Volatile.Read(ref _misses);

    public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        if (_entries.TryGetValue(key, out Entry? entry))
        {
            // Hit: no lock, no allocation, no await.
            Interlocked.Increment(ref _hits);
            NoteRead(key);
            return new ValueTask<StoredObject?>(entry.Object);
        }

        Interlocked.Increment(ref _misses);
        return ReadThroughAsync(key, cancellationToken);
    }

    public async ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        await _inner.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            // Reads already in flight fetched the object before it was deleted; the generation stops them
            // from putting it back.
            _deleteGeneration++;
            foreach (string key in keys)
            {
                if (_entries.TryGetValue(key, out Entry? entry))
                {
                    RemoveLocked(entry);
                }
            }
        }
    }

    public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken) =>
        _inner.ListAsync(prefix, cancellationToken);

    /// <summary>
    /// Marks the folder of <paramref name="key"/>, an object that exists, as read now. Only existing objects count, so
    /// requests for made-up paths cannot grow the map; it allocates only the first time a folder is read.
    /// </summary>
    private void NoteRead(string key)
    {
        ReadOnlySpan<char> folder = Folder(key);
        long now = _time.GetUtcNow().UtcTicks;
        bool known = _lastReadLookup.TryGetValue(folder, out long lastRead);
        // A folder read within the last second keeps its time: every hit of a watched rendition would otherwise write the
        // same entry under its bucket's lock, one lock that every core serving that channel takes. A second is nothing
        // against the window. Otherwise the value is replaced in place (a long is written atomically): no allocation.
        if (known && now - lastRead >= 0 && now - lastRead < TimeSpan.TicksPerSecond) return;
        if (!known && _lastReadByFolder.Count >= FoldersBeforePrune)
        {
            // Forget folders not read within the window (channels deleted, renditions gone): they count as unwatched anyway.
            foreach (KeyValuePair<string, long> stale in _lastReadByFolder)
            {
                if (now - stale.Value > WatchedWindow.Ticks)
                {
                    _lastReadByFolder.TryRemove(stale);
                }
            }
        }

        _lastReadLookup[folder] = now;
    }

    private bool IsWatched(string key) =>
        _lastReadLookup.TryGetValue(Folder(key), out long lastRead) && _time.GetUtcNow().UtcTicks - lastRead <= WatchedWindow.Ticks;

    private static ReadOnlySpan<char> Folder(string key) => key.AsSpan(0, key.LastIndexOf('/') + 1);

    private async ValueTask<StoredObject?> ReadThroughAsync(string key, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_inflight.TryGetValue(key, out Task<StoredObject?>? pending))
            {
                return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            TaskCompletionSource<StoredObject?> leader = new(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_inflight.TryAdd(key, leader.Task))
            {
                // The shared read runs on its own, not under this caller's token: one viewer hanging up must not
                // fail the read for everyone waiting on it.
                _ = LoadAsync(key, leader);
                return await leader.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task LoadAsync(string key, TaskCompletionSource<StoredObject?> leader)
    {
        try
        {
            // A put may have landed between the caller's miss and our registration.
            if (_entries.TryGetValue(key, out Entry? entry))
            {
                NoteRead(key);
                leader.TrySetResult(entry.Object);
                return;
            }

            long generation = Interlocked.Read(ref _deleteGeneration);
            StoredObject? stored = await _inner.GetAsync(key, CancellationToken.None).ConfigureAwait(false);
            if (stored is not null)
            {
                NoteRead(key);
            }

            if (stored is not null && MediaObjectKinds.Classify(key) == MediaObjectKind.Segment)
            {
                Insert(key, stored, replace: false, generation);
            }

            leader.TrySetResult(stored);
        }
        catch (Exception ex)
        {
            leader.TrySetException(ex);
        }
        finally
        {
            _inflight.TryRemove(new KeyValuePair<string, Task<StoredObject?>>(key, leader.Task));
        }
    }

    private void Insert(string key, StoredObject stored, bool replace, long generation)
    {
        long size = stored.Data.Length + (key.Length * 2L) + EntryOverhead;
        lock (_gate)
        {
            if (generation >= 0 && generation != _deleteGeneration)
            {
                return;
            }

            if (_entries.TryGetValue(key, out Entry? existing))
            {
                if (!replace)
                {
                    // A put won the race against this read; its bytes are newer.
                    return;
                }

                RemoveLocked(existing);
            }

            if (size > _capacity)
            {
                OriginLog.CacheObjectTooLarge(_logger, key, stored.Data.Length, _capacity);
                return;
            }

            Entry added = new(key, stored, size);
            added.Node = _order.AddLast(added);
            _entries[key] = added;
            _bytes += size;

            while (_bytes > _capacity && _order.First is { } oldest)
            {
                RemoveLocked(oldest.Value);
                OriginLog.CacheEvicted(_logger, oldest.Value.Key, oldest.Value.Size, _capacity);
            }
        }
    }

    private void RemoveLocked(Entry entry)
    {
        if (entry.Node is not null)
        {
            _order.Remove(entry.Node);
            entry.Node = null;
            _entries.TryRemove(new KeyValuePair<string, Entry>(entry.Key, entry));
            _bytes -= entry.Size;
        }
    }

    /// <summary>
    /// A strong validator from the content: the same bytes give the same tag on every node and after a restart,
    /// so a CDN revalidating against another origin still gets its 304. 128 bits of SHA-256, quoted.
    /// </summary>
    public static string ComputeETag(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(data, hash);
        return string.Create(34, hash[..16].ToArray(), static (chars, bytes) =>
        {
            chars[0] = '"';
            Convert.TryToHexStringLower(bytes, chars[1..33], out _);
            chars[33] = '"';
        });
    }

    private sealed class Entry(string key, StoredObject stored, long size)
    {
        public string Key { get; } = key;

        public StoredObject Object { get; } = stored;

        public long Size { get; } = size;

        /// <summary>Position in insertion order; null once removed (guards against double removal).</summary>
        public LinkedListNode<Entry>? Node { get; set; }
    }
}
