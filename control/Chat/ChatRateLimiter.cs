using System.Collections.Concurrent;

namespace Broadcast.Control.Chat;

/// <summary>Why a message was not taken, or <see cref="Allowed"/>.</summary>
public enum ChatLimitVerdict
{
    Allowed,
    Viewer,
    Address,
    Channel,
    SlowMode,
}

/// <summary>
/// The limits in front of every message: a token bucket per viewer id, per client address (all the ids one address
/// makes up) and per channel (<see cref="ChatOptions"/>), and slow mode (one message per viewer per N seconds, a
/// channel setting). Time comes from a <see cref="TimeProvider"/>. Buckets live in dictionaries that are swept of
/// idle entries (<see cref="Sweep"/>), and hold at most <see cref="MaxEntries"/> keys each: a table that is full is swept
/// at once (at most once a second), and past that a new key is refused (as rate-limited), so a flood of made-up ids
/// cannot grow memory without bound. A refused message adds no entry.
/// </summary>
public sealed class ChatRateLimiter(ChatOptions options, TimeProvider time)
{
    public const int MaxEntries = 200_000;

    private readonly ConcurrentDictionary<string, Bucket> _viewers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Bucket> _addresses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Bucket> _channels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _lastMessage = new(StringComparer.Ordinal);

    /// <summary>
    /// Takes one message for <paramref name="viewerId"/> from <paramref name="addressHash"/> on a channel, or says which
    /// limit refused it (nothing is taken then). <paramref name="retryAfter"/> is how long until it would pass. Slow mode
    /// is checked here and started by <see cref="MarkSent"/>.
    /// </summary>
    public ChatLimitVerdict TryAcquire(string channelId, string viewerId, string addressHash, int slowModeSeconds, out TimeSpan retryAfter)
    {
        var now = time.GetTimestamp();
        retryAfter = TimeSpan.Zero;
        var slowKey = string.Concat(channelId, "/", viewerId);
        if (slowModeSeconds > 0 && _lastMessage.TryGetValue(slowKey, out var last))
        {
            var since = time.GetElapsedTime(last, now);
            if (since < TimeSpan.FromSeconds(slowModeSeconds))
            {
                retryAfter = TimeSpan.FromSeconds(slowModeSeconds) - since;
                return ChatLimitVerdict.SlowMode;
            }
        }

        // A message refused by a bucket that exists adds nothing: only a message every limit lets through makes the buckets
        // it lacks (a missing bucket is a full one). Otherwise a flood of fresh viewer ids refused at their address's
        // limit would still fill the viewer table, and then refuse the legitimate viewers who came next.
        if (Empty(_viewers, viewerId, now) is { } viewerWait) { retryAfter = viewerWait; return ChatLimitVerdict.Viewer; }
        if (Empty(_addresses, addressHash, now) is { } addressWait) { retryAfter = addressWait; return ChatLimitVerdict.Address; }
        if (Empty(_channels, channelId, now) is { } channelWait) { retryAfter = channelWait; return ChatLimitVerdict.Channel; }

        var viewer = Get(_viewers, viewerId, options.ViewerBurst, options.ViewerMessagesPerMinute / 60, now);
        var address = Get(_addresses, addressHash, options.AddressBurst, options.AddressMessagesPerMinute / 60, now);
        var channel = Get(_channels, channelId, options.ChannelBurst, options.ChannelMessagesPerSecond, now);
        if (viewer is null) return ChatLimitVerdict.Viewer;
        if (address is null) return ChatLimitVerdict.Address;
        if (channel is null) return ChatLimitVerdict.Channel;

        // Take from all three or none: lock in a fixed order (viewer, address, channel).
        lock (viewer)
        lock (address)
        lock (channel)
        {
            viewer.Refill(now, time);
            address.Refill(now, time);
            channel.Refill(now, time);
            if (viewer.Tokens < 1) { retryAfter = viewer.Wait(); return ChatLimitVerdict.Viewer; }
            if (address.Tokens < 1) { retryAfter = address.Wait(); return ChatLimitVerdict.Address; }
            if (channel.Tokens < 1) { retryAfter = channel.Wait(); return ChatLimitVerdict.Channel; }
            viewer.Tokens--;
            address.Tokens--;
            channel.Tokens--;
        }

        return ChatLimitVerdict.Allowed;
    }

    /// <summary>
    /// Starts a viewer's slow-mode interval: called once a message is accepted (after the filter), so a refused
    /// message does not make its sender wait.
    /// </summary>
    public void MarkSent(string channelId, string viewerId, int slowModeSeconds)
    {
        if (slowModeSeconds <= 0) return;
        var slowKey = string.Concat(channelId, "/", viewerId);
        if (_lastMessage.Count < MaxEntries || _lastMessage.ContainsKey(slowKey))
        {
            _lastMessage[slowKey] = time.GetTimestamp();
        }
    }

    /// <summary>Forgets buckets that are full again and slow-mode marks older than an hour.</summary>
    public void Sweep()
    {
        var now = time.GetTimestamp();
        foreach (var d in new[] { _viewers, _addresses, _channels })
        {
            foreach (var (key, bucket) in d)
            {
                lock (bucket)
                {
                    bucket.Refill(now, time);
                    if (bucket.Tokens >= bucket.Capacity) d.TryRemove(key, out _);
                }
            }
        }

        foreach (var (key, last) in _lastMessage)
        {
            if (time.GetElapsedTime(last, now) > TimeSpan.FromSeconds(ChatRoomSettings.MaxSlowModeSeconds)) _lastMessage.TryRemove(key, out _);
        }
    }

    /// <summary>Keys held (tests, metrics).</summary>
    public int Count => _viewers.Count + _addresses.Count + _channels.Count + _lastMessage.Count;

    // How long until the key's bucket holds a token again, when it exists and is empty; null when it would let one through.
    private TimeSpan? Empty(ConcurrentDictionary<string, Bucket> d, string key, long now)
    {
        if (!d.TryGetValue(key, out var bucket)) return null;
        lock (bucket)
        {
            bucket.Refill(now, time);
            return bucket.Tokens < 1 ? bucket.Wait() : null;
        }
    }

    private Bucket? Get(ConcurrentDictionary<string, Bucket> d, string key, int capacity, double perSecond, long now)
    {
        if (d.TryGetValue(key, out var b)) return b;
        if (d.Count >= MaxEntries)
        {
            // Full: the buckets that are full again are as good as absent. Swept here at most once a second.
            long last = Interlocked.Read(ref _lastFullSweep);
            if (time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(1)
                || Interlocked.CompareExchange(ref _lastFullSweep, now, last) != last) return null;
            Sweep();
            if (d.Count >= MaxEntries) return null;
        }

        return d.GetOrAdd(key, _ => new Bucket(capacity, perSecond, now));
    }

    private long _lastFullSweep;

    private sealed class Bucket(int capacity, double perSecond, long now)
    {
        public int Capacity { get; } = capacity;

        public double Tokens { get; set; } = capacity;

        private long _stamp = now;

        public void Refill(long now, TimeProvider time)
        {
            var elapsed = time.GetElapsedTime(_stamp, now).TotalSeconds;
            if (elapsed <= 0) return;
            Tokens = Math.Min(Capacity, Tokens + elapsed * perSecond);
            _stamp = now;
        }

        public TimeSpan Wait() => TimeSpan.FromSeconds(Math.Max(0, (1 - Tokens) / perSecond));
    }
}
