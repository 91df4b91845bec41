using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Storage;

/// <summary>
/// An <see cref="ISegmentStore"/> decorator for a remote store: puts and deletes return once queued, and a worker
/// applies them to the inner store in order.
/// <list type="bullet">
/// <item>Ordering: segments (<c>.m4s</c>, <c>.mp4</c>; immutable URLs) upload in parallel; a manifest or a delete
/// waits until everything queued before it is stored. The packager stores a manifest's segments before the
/// manifest, so no manifest in the store names a segment that is not there.</item>
/// <item>Outage: a failed upload is retried with backoff (capped at <see cref="UploadQueueOptions.MaxRetryDelay"/>)
/// until the store answers; meanwhile reads of waiting objects are served from the queue, and
/// a newer version of a manifest replaces an older one still waiting (only the newest matters).</item>
/// <item>Bound: waiting bytes beyond <see cref="UploadQueueOptions.MemoryBytes"/> go to a spill folder; past memory
/// plus spill, the oldest waiting live-only segments are dropped and counted. Init segments and segments of
/// recorded broadcasts (<c>isRecorded</c>) are never dropped.</item>
/// </list>
/// </summary>
public sealed partial class UploadQueue : ISegmentStore, IUploadBacklog, IAsyncDisposable
{
    private readonly ISegmentStore _inner;
    private readonly UploadQueueOptions _options;
    private readonly Func<string, bool> _isRecorded;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _parallelUploads;
    private readonly Lock _gate = new();
    private readonly LinkedList<Item> _queue = new();
    private readonly Dictionary<string, Item> _latest = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;
    private readonly UploadSpill? _spill;
    private int _inFlight;
    private long _memoryBytes;
    private long _spilledBytes;
    private long _uploaded;
    private long _dropped;
    private bool _reachable = true;
    private string? _lastError;
    private TaskCompletionSource _idle = NewIdle(completed: true);

    /// <param name="isRecorded">True for segment keys of recorded broadcasts; null treats every segment as recorded (nothing is dropped).</param>
    public UploadQueue(ISegmentStore inner, UploadQueueOptions options, int parallelUploads, Func<string, bool>? isRecorded = null,
        TimeProvider? time = null, ILogger<UploadQueue>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelUploads, 1);
        _inner = inner;
        _options = options;
        _parallelUploads = parallelUploads;
        _isRecorded = isRecorded ?? (static _ => true);
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<UploadQueue>.Instance;
        if (!string.IsNullOrEmpty(options.SpillDirectory)) _spill = new UploadSpill(options.SpillDirectory);
        _worker = Task.Run(RunAsync);
    }

    public ISegmentStore Inner => _inner;

    public UploadBacklogStatus GetStatus()
    {
        lock (_gate)
        {
            DateTimeOffset? oldest = _queue.First?.Value.EnqueuedAt;
            foreach (var item in _latest.Values)
                if (oldest is null || item.EnqueuedAt < oldest) oldest = item.EnqueuedAt;
            return new UploadBacklogStatus(_queue.Count + _inFlight, _memoryBytes + _spilledBytes, _spilledBytes,
                Interlocked.Read(ref _uploaded), Interlocked.Read(ref _dropped), _reachable, _lastError, oldest);
        }
    }

    /// <summary>Completes when nothing is queued or in flight (tests, shutdown).</summary>
    public Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        lock (_gate) return _idle.Task.WaitAsync(cancellationToken);
    }

    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        StoreKeys.Validate(key);
        ArgumentException.ThrowIfNullOrEmpty(contentType);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        // A private copy: the caller reuses its (pooled) buffer as soon as we return.
        byte[] copy = data.ToArray();
        var item = new Item(ItemKind.Put, key, contentType, cacheControl, copy.Length, _time.GetUtcNow()) { Data = copy };
        if (_spill is not null && Volatile.Read(ref _memoryBytes) + copy.Length > _options.MemoryBytes)
        {
            item.SpillPath = await _spill.WriteAsync(copy, cancellationToken).ConfigureAwait(false);
            item.Data = null;
        }

        List<Item>? dropped = null;
        Item? superseded = null;
        lock (_gate)
        {
            if (_latest.TryGetValue(key, out var older) && older.Node is not null)
            {
                // Only the newest version of a waiting manifest needs to reach the store.
                RemoveQueuedLocked(older);
                superseded = older;
            }

            item.Node = _queue.AddLast(item);
            _latest[key] = item;
            if (item.SpillPath is null) _memoryBytes += item.Length;
            else _spilledBytes += item.Length;
            if (_idle.Task.IsCompleted) _idle = NewIdle(completed: false);
            dropped = EnforceBoundLocked();
        }

        if (superseded is not null) DeleteSpill(superseded);
        if (dropped is { Count: > 0 })
        {
            Interlocked.Add(ref _dropped, dropped.Count);
            LogDropped(_logger, dropped.Count, dropped[0].Key, Bound, Interlocked.Read(ref _dropped));
            foreach (var d in dropped) DeleteSpill(d);
        }

        _wake.Release();
    }

    public async ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        Item? pending;
        lock (_gate) _latest.TryGetValue(key, out pending);
        if (pending is not null)
        {
            byte[]? data = pending.Data;
            if (data is null && pending.SpillPath is { } path) data = await UploadSpill.TryReadAsync(path, cancellationToken).ConfigureAwait(false);

            if (data is not null)
            {
                var at = pending.EnqueuedAt;
                return new StoredObject(data, pending.ContentType, pending.CacheControl,
                    new DateTimeOffset(at.Ticks - (at.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero), FileSystemSegmentStore.ETagOf(data));
            }
        }

        return await _inner.GetAsync(key, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (keys.Count == 0) return ValueTask.CompletedTask;
        foreach (var key in keys) StoreKeys.Validate(key);
        lock (_gate)
        {
            foreach (var key in keys)
            {
                // A waiting put of a key about to be deleted need not travel at all.
                if (_latest.TryGetValue(key, out var older) && older.Node is not null)
                {
                    RemoveQueuedLocked(older);
                    DeleteSpill(older);
                }
            }

            var item = new Item(ItemKind.Delete, "", "", null, 0, _time.GetUtcNow()) { Keys = [.. keys] };
            item.Node = _queue.AddLast(item);
            if (_idle.Task.IsCompleted) _idle = NewIdle(completed: false);
        }

        _wake.Release();
        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            seen.Add(key);
            yield return key;
        }

        List<string> pending;
        lock (_gate) pending = [.. _latest.Keys.Where(k => k.StartsWith(prefix,
            StringComparison.Ordinal) && !seen.Contains(k)).Order(StringComparer.Ordinal)];
        foreach (var key in pending) yield return key;
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        try
        {
            await WhenIdleAsync(CancellationToken.None).WaitAsync(_options.FlushTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var status = GetStatus();
            LogFlushTimeout(_logger, status.PendingObjects, status.PendingBytes);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try { await _worker.ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        _wake.Dispose();
        _stop.Dispose();
    }

    private long Bound => _options.MemoryBytes + (_spill is null ? 0 : _options.SpillBytes);

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var uploads = new List<Task>();
        using var slots = new SemaphoreSlim(_parallelUploads);
        try
        {
            while (true)
            {
                await _wake.WaitAsync(token).ConfigureAwait(false);
                // Take a slot before taking the item: an object stays in the queue (droppable, replaceable)
                // until an upload can actually start.
                await slots.WaitAsync(token).ConfigureAwait(false);
                Item? item;
                lock (_gate)
                {
                    item = _queue.First?.Value;
                    if (item is not null)
                    {
                        _queue.RemoveFirst();
                        item.Node = null;
                        _inFlight++;
                    }
                }

                if (item is null)
                {
                    slots.Release(); // its put was superseded or dropped
                    continue;
                }

                uploads.RemoveAll(t => t.IsCompleted);
                if (item.Kind == ItemKind.Put && IsSegment(item.Key))
                {
                    uploads.Add(Task.Run(async () =>
                    {
                        try { await ApplyAsync(item, token).ConfigureAwait(false); }
                        finally { slots.Release(); }
                    }, CancellationToken.None));
                }
                else
                {
                    // A manifest names segments queued before it; a delete may target them: both wait for them.
                    try
                    {
                        await Task.WhenAll(uploads).ConfigureAwait(false);
                        uploads.Clear();
                        await ApplyAsync(item, token).ConfigureAwait(false);
                    }
                    finally { slots.Release(); }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }

        try { await Task.WhenAll(uploads).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Applies one put or delete, retrying until it succeeds or the queue stops.</summary>
    private async Task ApplyAsync(Item item, CancellationToken token)
    {
        var delay = TimeSpan.FromMilliseconds(250);
        try
        {
            while (true)
            {
                try
                {
                    if (item.Kind == ItemKind.Delete)
                    {
                        await _inner.DeleteAsync(item.Keys!, token).ConfigureAwait(false);
                    }
                    else
                    {
                        byte[] data = item.Data ?? await UploadSpill.ReadAsync(item.SpillPath!, token).ConfigureAwait(false);
                        await _inner.PutAsync(item.Key, data, item.ContentType, item.CacheControl, token).ConfigureAwait(false);
                        Interlocked.Increment(ref _uploaded);
                    }

                    MarkReachable();
                    return;
                }
                catch (Exception e) when (!token.IsCancellationRequested && e is not ArgumentException)
                {
                    MarkUnreachable(item, e);
                    await Task.Delay(delay, _time, token).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
                }
                catch (ArgumentException e)
                {
                    // A key the store refuses will never succeed: report it and move on.
                    LogRejected(_logger, item.Key, e.Message);
                    return;
                }
            }
        }
        finally
        {
            lock (_gate)
            {
                _inFlight--;
                if (item.Kind == ItemKind.Put)
                {
                    if (item.SpillPath is null) _memoryBytes -= item.Length;
                    else _spilledBytes -= item.Length;
                    if (_latest.TryGetValue(item.Key, out var latest) && ReferenceEquals(latest, item)) _latest.Remove(item.Key);
                }

                if (_queue.Count == 0 && _inFlight == 0) _idle.TrySetResult();
            }

            DeleteSpill(item);
        }
    }

    private void MarkReachable()
    {
        bool recovered;
        lock (_gate)
        {
            recovered = !_reachable;
            _reachable = true;
        }

        if (recovered) LogRecovered(_logger, GetStatus().PendingObjects);
    }

    private void MarkUnreachable(Item item, Exception e)
    {
        bool first;
        lock (_gate)
        {
            first = _reachable;
            _reachable = false;
            _lastError = e.Message;
        }

        if (first) LogUnreachable(_logger, item.Kind == ItemKind.Delete ? "(delete)" : item.Key, e.Message);
    }

    /// <summary>Drops the oldest waiting live-only segments until the backlog fits its bound.</summary>
    private List<Item>? EnforceBoundLocked()
    {
        long bound = Bound;
        if (_memoryBytes + _spilledBytes <= bound) return null;
        List<Item>? dropped = null;
        for (var node = _queue.First; node is not null && _memoryBytes + _spilledBytes > bound;)
        {
            var next = node.Next;
            var item = node.Value;
            if (item.Kind == ItemKind.Put && item.Key.EndsWith(".m4s", StringComparison.Ordinal) && !_isRecorded(item.Key))
            {
                RemoveQueuedLocked(item);
                (dropped ??= []).Add(item);
            }

            node = next;
        }

        return dropped;
    }

    private void RemoveQueuedLocked(Item item)
    {
        if (item.Node is null) return;
        _queue.Remove(item.Node);
        item.Node = null;
        if (item.SpillPath is null) _memoryBytes -= item.Length;
        else _spilledBytes -= item.Length;
        if (_latest.TryGetValue(item.Key, out var latest) && ReferenceEquals(latest, item)) _latest.Remove(item.Key);
        if (_queue.Count == 0 && _inFlight == 0) _idle.TrySetResult();
    }

    private static void DeleteSpill(Item item)
    {
        if (item.SpillPath is { } path) UploadSpill.Delete(path);
    }

    /// <summary>Segments and init segments: immutable URLs, safe to upload in any order among themselves.</summary>
    private static bool IsSegment(string key) =>
        key.EndsWith(".m4s", StringComparison.Ordinal) || key.EndsWith(".mp4", StringComparison.Ordinal);

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed) tcs.SetResult();
        return tcs;
    }

    private enum ItemKind { Put, Delete }

    private sealed class Item(ItemKind kind, string key, string contentType, string? cacheControl, int length, DateTimeOffset enqueuedAt)
    {
        public ItemKind Kind { get; } = kind;
        public string Key { get; } = key;
        public string ContentType { get; } = contentType;
        public string? CacheControl { get; } = cacheControl;
        public int Length { get; } = length;
        public DateTimeOffset EnqueuedAt { get; } = enqueuedAt;
        public byte[]? Data { get; set; }
        public string? SpillPath { get; set; }
        public string[]? Keys { get; init; }
        public LinkedListNode<Item>? Node { get; set; }
    }

    [LoggerMessage(EventId = 4510, Level = LogLevel.Warning,
        Message = "Segment store unreachable while storing {Key}: {Reason}; holding uploads in the queue")]
    private static partial void LogUnreachable(ILogger logger, string key, string reason);

    [LoggerMessage(EventId = 4511, Level = LogLevel.Information, Message = "Segment store reachable again; {Pending} objects waiting to upload")]
    private static partial void LogRecovered(ILogger logger, int pending);

    [LoggerMessage(EventId = 4512, Level = LogLevel.Error,
        Message = "Upload backlog past {Bound} bytes: dropped {Count} live-only segments (oldest {Key}); {Total} dropped since start")]
    private static partial void LogDropped(ILogger logger, int count, string key, long bound, long total);

    [LoggerMessage(EventId = 4513, Level = LogLevel.Error, Message = "Shutdown with {Pending} objects ({Bytes} bytes) not uploaded")]
    private static partial void LogFlushTimeout(ILogger logger, int pending, long bytes);

    [LoggerMessage(EventId = 4514, Level = LogLevel.Error, Message = "Store refused {Key}: {Reason}")]
    private static partial void LogRejected(ILogger logger, string key, string reason);
}
