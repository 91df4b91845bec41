using System.Collections.Concurrent;

namespace Broadcast.Control.Persistence;

/// <summary>
/// The answer to an anonymous read that costs database work, shared: concurrent asks for one key wait for one query,
/// and its answer stands for <see cref="Lifetime"/>, so a thousand viewers polling a channel cost the database one
/// query per lifetime, not one each. At most <see cref="Capacity"/> keys are remembered (the keys come from clients:
/// a scan of made-up names must not grow the table); past it, expired answers are swept, and when none has expired
/// the read is answered without being remembered. A failed read is not remembered.
/// </summary>
public sealed class SharedReads<TKey, TValue>(TimeSpan lifetime, int capacity, TimeProvider? time = null)
    where TKey : notnull
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new();

    private sealed record Entry(Task<TValue> Answer, long At);

    public TimeSpan Lifetime { get; } = lifetime > TimeSpan.Zero ? lifetime : throw new ArgumentOutOfRangeException(nameof(lifetime));

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity));

    /// <summary>Keys remembered now (for tests: never more than <see cref="Capacity"/>).</summary>
    public int Count => _entries.Count;

    /// <summary>The answer for <paramref name="key"/>: a standing one, or <paramref name="read"/>'s (shared with whoever asks meanwhile).</summary>
    public Task<TValue> GetAsync(TKey key, Func<TKey, Task<TValue>> read)
    {
        ArgumentNullException.ThrowIfNull(read);
        if (_entries.TryGetValue(key, out var known) && Stands(known)) return known.Answer;
        if (_entries.Count >= Capacity)
        {
            foreach (var (name, entry) in _entries)
                if (!Stands(entry)) _entries.TryRemove(new KeyValuePair<TKey, Entry>(name, entry));
        }

        var fresh = new Entry(read(key), _time.GetTimestamp());
        if (_entries.Count < Capacity || _entries.ContainsKey(key)) _entries[key] = fresh;
        return fresh.Answer;
    }

    /// <summary>Forgets <paramref name="key"/>'s answer: the next ask reads again (what it answered has changed).</summary>
    public void Forget(TKey key) => _entries.TryRemove(key, out _);

    // In flight, or answered within its lifetime; a failed read stands for nobody.
    private bool Stands(Entry entry) => !entry.Answer.IsCompleted
        || (entry.Answer.IsCompletedSuccessfully && _time.GetElapsedTime(entry.At) < Lifetime);
}
