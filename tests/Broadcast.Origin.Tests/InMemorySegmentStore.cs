using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Broadcast.Storage;

namespace Broadcast.Origin.Tests;

/// <summary>
/// A real (not mocked) in-memory ISegmentStore for origin tests, recording every call so tests can prove that a
/// rejected path never reached the store and that concurrent misses were coalesced. <see cref="GetGate"/>, when
/// set, holds every read until the test completes it.
/// </summary>
public sealed class InMemorySegmentStore : ISegmentStore
{
    private readonly ConcurrentDictionary<string, StoredObject> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _gets = new();
    private readonly ConcurrentQueue<string> _puts = new();
    private int _version;

    public TaskCompletionSource? GetGate { get; set; }

    public Exception? FailGetsWith { get; set; }

    public IReadOnlyCollection<string> GetCalls => _gets;

    public IReadOnlyCollection<string> PutCalls => _puts;

    public int GetCount(string key) => _gets.Count(k => k == key);

    /// <summary>Seeds an object with exactly the validators a test wants to see on the wire.</summary>
    public void Seed(string key, byte[] data, string contentType, string? cacheControl, DateTimeOffset lastModified, string etag) =>
        _objects[key] = new StoredObject(data, contentType, cacheControl, lastModified, etag);

    public ValueTask PutAsync(string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, CancellationToken cancellationToken)
    {
        _puts.Enqueue(key);
        int version = Interlocked.Increment(ref _version);
        _objects[key] = new StoredObject(data.ToArray(), contentType, cacheControl, DateTimeOffset.UtcNow, "v" + version);
        return ValueTask.CompletedTask;
    }

    public async ValueTask<StoredObject?> GetAsync(string key, CancellationToken cancellationToken)
    {
        _gets.Enqueue(key);
        if (GetGate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (FailGetsWith is { } failure)
        {
            throw failure;
        }

        return _objects.TryGetValue(key, out StoredObject? stored) ? stored : null;
    }

    public ValueTask DeleteAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken)
    {
        foreach (string key in keys)
        {
            _objects.TryRemove(key, out _);
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        foreach (string key in _objects.Keys)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                yield return key;
            }
        }
    }
}
