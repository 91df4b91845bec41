using System.Collections.Concurrent;
using Broadcast.Packager.Cmaf.Encryption;

namespace Broadcast.Origin.Protection;

/// <summary>
/// The content keys licenses have found, kept for a short while so that an audience starting together (every player asks
/// for its license at its start) reads the keys store once per key rather than once per viewer. Only keys that were found
/// are kept, by channel and KID, so a request with invented KIDs adds nothing; the table has a cap, and past it keys are
/// simply not kept (the store is still asked). A key is immutable for its broadcast, so keeping it cannot serve a wrong one;
/// a deleted channel's key stays answerable for at most <see cref="Lifetime"/>, and only under the channel's own playback
/// authorization, which is checked on every request before the keys.
/// </summary>
internal sealed class CachedContentKeys(IContentKeys store, TimeProvider time) : IContentKeys
{
    /// <summary>How long a found key is kept.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);

    /// <summary>Keys kept at once, at most (a few hundred bytes each).</summary>
    public const int MaxEntries = 10_000;

    private readonly ConcurrentDictionary<(string Channel, KeyId Id), Entry> _entries = new();

    private sealed record Entry(ContentKey Key, long Expires);

    /// <summary>Keys kept now (for tests).</summary>
    public int Count => _entries.Count;

    public async ValueTask<IReadOnlyList<ContentKey>> FindAsync(string channel, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken)
    {
        long now = time.GetTimestamp();
        var found = new List<ContentKey>(keyIds.Count);
        List<KeyId>? missing = null;
        foreach (var id in keyIds)
        {
            if (_entries.TryGetValue((channel, id), out var entry) && entry.Expires > now) found.Add(entry.Key);
            else (missing ??= []).Add(id);
        }

        if (missing is null) return found;
        var fromStore = await store.FindAsync(channel, missing, cancellationToken).ConfigureAwait(false);
        if (fromStore.Count > 0)
        {
            if (_entries.Count + fromStore.Count > MaxEntries) SweepExpired(now);
            long expires = now + (long)(Lifetime.TotalSeconds * time.TimestampFrequency);
            foreach (var key in fromStore)
            {
                found.Add(key);
                if (_entries.Count < MaxEntries) _entries[(channel, key.Id)] = new Entry(key, expires);
            }
        }

        return found;
    }

    private void SweepExpired(long now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.Expires <= now) _entries.TryRemove(key, out _);
        }
    }
}
