using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Storage;

/// <summary>
/// Keeps the live window going when a local store stops taking writes (a full disk, a quota, a read-only remount):
/// writes go straight to the inner store while it works; the first failed write starts an episode, logged once
/// (event 4520), during which every put and delete goes to an in-memory <see cref="UploadQueue"/> that retries
/// against the inner store in order and serves the waiting objects to readers. The origin therefore keeps serving
/// the newest playlists and segments from memory; when the queue has written everything out the episode ends
/// (event 4521) and writes go straight through again.
/// <list type="bullet">
/// <item>Order per key is kept: once an episode started, no put bypasses the queue until it has drained, so an
/// older manifest waiting in the queue can never overwrite a newer one written directly.</item>
/// <item>Memory is bounded by <see cref="UploadQueueOptions.MemoryBytes"/>: past it the oldest live-only segments
/// are dropped (they have usually left the live window by then); nothing spills, since the spill would land on the
/// same full disk.</item>
/// <item><see cref="GetStatus"/> reports the episode (<c>GET /status/store</c>, the channel's live warnings).</item>
/// </list>
/// </summary>
public sealed partial class WriteFallbackSegmentStore : ISegmentStore, IUploadBacklog, IAsyncDisposable
{
    private readonly ISegmentStore _inner;
    private readonly UploadQueue _queue;
    private readonly string _description;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private bool _failing;
    private int _entering;
    private string? _lastError;
    private DateTimeOffset _episodeStart;

    /// <param name="description">Names the inner store in logs, e.g. its root folder.</param>
    public WriteFallbackSegmentStore(ISegmentStore inner, string description, UploadQueueOptions? options = null,
        TimeProvider? time = null, ILogger<WriteFallbackSegmentStore>? logger = null, Func<string, bool>? isRecorded = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _description = description;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger<WriteFallbackSegmentStore>.Instance;
        var queueOptions = options ?? new UploadQueueOptions();
        queueOptions.SpillDirectory = null;
        // The queue's own logger stays silent: this class reports the episode once, in its own words.
        _queue = new UploadQueue(inner, queueOptions, parallelUploads: 2, isRecorded, _time);
    }

    public ISegmentStore Inner => _inner;

    /// <summary>True from a failed write until the held objects were all written.</summary>
    public bool Failing
    {
        get { lock (_gate) return _failing; }
    }

    public UploadBacklogStatus GetStatus()
    {
        var status = _queue.GetStatus();
        lock (_gate)
        {
            return status with
            {
                StoreReachable = status.StoreReachable && !_failing,
                LastError = status.LastError ?? _lastError,
            };
        }
    }

    public async ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl,
        CancellationToken cancellationToken)
    {
        if (!EnterQueueIfFailing())
        {
            try
            {
                await _inner.PutAsync(key, data, contentType, cacheControl, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (IsWriteFailure(e))
            {
                StartEpisode(key, e);
            }
        }

        try { await _queue.PutAsync(key, data, contentType, cacheControl, cancellationToken).ConfigureAwait(false); }
        finally { LeaveQueue(); }
    }

    public ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken) => _queue.GetAsync(key, cancellationToken);

    public async ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        if (!EnterQueueIfFailing())
        {
            await _inner.DeleteAsync(keys, cancellationToken).ConfigureAwait(false);
            return;
        }

        try { await _queue.DeleteAsync(keys, cancellationToken).ConfigureAwait(false); }
        finally { LeaveQueue(); }
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var key in _queue.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) yield return key;
    }

    /// <summary>Completes when nothing is held in memory (tests, shutdown).</summary>
    public Task WhenIdleAsync(CancellationToken cancellationToken) => _queue.WhenIdleAsync(cancellationToken);

    public ValueTask DisposeAsync() => _queue.DisposeAsync();

    /// <summary>The kinds of failure a full or read-only disk raises; a bad key (ArgumentException) is the caller's bug and propagates.</summary>
    private static bool IsWriteFailure(Exception e) => e is IOException or UnauthorizedAccessException;

    private bool EnterQueueIfFailing()
    {
        lock (_gate)
        {
            if (!_failing) return false;
            _entering++;
            return true;
        }
    }

    private void LeaveQueue()
    {
        lock (_gate) _entering--;
    }

    private void StartEpisode(string key, Exception e)
    {
        bool first;
        lock (_gate)
        {
            first = !_failing;
            _failing = true;
            _entering++;
            _lastError = e.Message;
            if (first) _episodeStart = _time.GetUtcNow();
        }

        if (!first) return;
        LogWritesFailing(_logger, _description, key, e.Message);
        _ = Task.Run(WatchRecoveryAsync);
    }

    /// <summary>Ends the episode once the queue has written everything and no put is on its way into it.</summary>
    private async Task WatchRecoveryAsync()
    {
        while (true)
        {
            try { await _queue.WhenIdleAsync(CancellationToken.None).ConfigureAwait(false); }
            catch (ObjectDisposedException) { return; }

            TimeSpan? lasted = null;
            lock (_gate)
            {
                if (_entering == 0 && _queue.GetStatus().PendingObjects == 0)
                {
                    _failing = false;
                    _lastError = null;
                    lasted = _time.GetUtcNow() - _episodeStart;
                }
            }

            if (lasted is { } duration)
            {
                LogWritesRecovered(_logger, _description, duration.TotalSeconds, _queue.GetStatus().Uploaded);
                return;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(50), _time).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 4520, Level = LogLevel.Error,
        Message = "Segment store {Store} cannot write ({Reason}) while storing {Key}; serving the live window from memory and retrying until " +
            "writes succeed")]
    private static partial void LogWritesFailing(ILogger logger, string store, string key, string reason);

    [LoggerMessage(EventId = 4521, Level = LogLevel.Information,
        Message = "Segment store {Store} takes writes again after {Seconds:0.0} s; the objects held in memory are written " +
            "({Written} written through the fallback since start)")]
    private static partial void LogWritesRecovered(ILogger logger, string store, double seconds, long written);
}
