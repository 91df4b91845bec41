using System.Net;

namespace Broadcast.Network;

/// <summary>
/// Blocks a client that keeps failing a secret check (a stream key guessed over and over): <c>maxFailures</c> failures from
/// one address within <c>window</c> block it for <c>block</c>. Addresses go by <see cref="ClientAddressSlots.Bucket"/> (an
/// IPv6 client by its /64, which it can walk freely). State lives only while it matters (recent failures, a block) and is
/// swept every few seconds; at most <see cref="MaxTrackedAddresses"/> addresses are tracked at once, so a scan from
/// many addresses cannot grow it without bound (past that, new addresses are checked but not counted until a sweep).
/// </summary>
public sealed class FailedAttemptGuard
{
    /// <summary>Addresses tracked at once, at most.</summary>
    public const int MaxTrackedAddresses = 65_536;

    private readonly int _maxFailures;
    private readonly long _window;
    private readonly long _block;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<UInt128, Entry> _entries = new();
    private long _nextSweep;

    private sealed class Entry
    {
        public readonly Queue<long> Failures = new();
        public long BlockedUntil;
    }

    /// <param name="maxFailures">Failures within the window that block the address; 0 or less: never block.</param>
    public FailedAttemptGuard(int maxFailures, TimeSpan window, TimeSpan block, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(block, TimeSpan.Zero);
        _maxFailures = maxFailures;
        _time = time ?? TimeProvider.System;
        _window = Ticks(window);
        _block = Ticks(block);
    }

    /// <summary>Addresses with state (for tests: a scan must not leave state behind).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_gate) return _entries.Count;
        }
    }

    /// <summary>True while <paramref name="address"/> is blocked; <paramref name="remaining"/> is how long it stays so.</summary>
    public bool IsBlocked(IPAddress address, out TimeSpan remaining) => IsBlocked(address, out _, out remaining);

    /// <summary>As <see cref="IsBlocked(IPAddress, out TimeSpan)"/>, with the failures that led to the block (for the log).</summary>
    public bool IsBlocked(IPAddress address, out int failures, out TimeSpan remaining)
    {
        ArgumentNullException.ThrowIfNull(address);
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            SweepIfDue(now);
            failures = 0;
            remaining = TimeSpan.Zero;
            if (!_entries.TryGetValue(ClientAddressSlots.Bucket(address), out var entry) || entry.BlockedUntil <= now) return false;
            failures = entry.Failures.Count;
            remaining = TimeSpan.FromSeconds((double)(entry.BlockedUntil - now) / _time.TimestampFrequency);
            return true;
        }
    }

    /// <summary>Records a failure; true when it starts a block (<paramref name="failures"/> within the window).</summary>
    public bool RecordFailure(IPAddress address, out int failures)
    {
        ArgumentNullException.ThrowIfNull(address);
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            SweepIfDue(now);
            var key = ClientAddressSlots.Bucket(address);
            if (!_entries.TryGetValue(key, out var entry))
            {
                failures = 1;
                if (_entries.Count >= MaxTrackedAddresses) return false;
                entry = new Entry();
                _entries.Add(key, entry);
            }
            while (entry.Failures.Count > 0 && now - entry.Failures.Peek() > _window) entry.Failures.Dequeue();
            entry.Failures.Enqueue(now);
            failures = entry.Failures.Count;
            if (_maxFailures <= 0 || failures < _maxFailures || entry.BlockedUntil > now) return false;
            entry.BlockedUntil = now + _block;
            return true;
        }
    }

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private void SweepIfDue(long now)
    {
        if (now < _nextSweep) return;
        _nextSweep = now + Ticks(TimeSpan.FromSeconds(5));
        List<UInt128>? idle = null;
        foreach (var (address, entry) in _entries)
        {
            if (entry.BlockedUntil > now) continue;
            while (entry.Failures.Count > 0 && now - entry.Failures.Peek() > _window) entry.Failures.Dequeue();
            if (entry.Failures.Count == 0) (idle ??= []).Add(address);
        }
        if (idle is not null) foreach (var address in idle) _entries.Remove(address);
    }
}
