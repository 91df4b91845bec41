using System.Net;
using Broadcast.Network;

namespace Broadcast.Ingest.Rtmp;

/// <summary>How often each hostile-client limit was hit since start; exported on /metrics.</summary>
public sealed class RtmpLimitCounters
{
    private long _connectionsPerIp;
    private long _handshakeRate;
    private long _slowClients;
    private long _failedPublishes;
    private long _blockedPublishes;
    private long _memoryBudget;

    /// <summary>Connections refused because their address had <see cref="RtmpOptions.MaxConnectionsPerIp"/> open.</summary>
    public long ConnectionsRefusedPerIp => Interlocked.Read(ref _connectionsPerIp);

    /// <summary>Connections refused by the per-address handshake token bucket.</summary>
    public long HandshakesRateLimited => Interlocked.Read(ref _handshakeRate);

    /// <summary>Connections closed before publishing for being too slow: handshake or publish timeout, trickled bytes.</summary>
    public long SlowClientsClosed => Interlocked.Read(ref _slowClients);

    /// <summary>Publishes refused for an unknown or revoked stream key.</summary>
    public long FailedPublishes => Interlocked.Read(ref _failedPublishes);

    /// <summary>Publishes refused because their address was blocked for guessing keys.</summary>
    public long BlockedPublishes => Interlocked.Read(ref _blockedPublishes);

    /// <summary>Connections closed because they would have held more than their memory budget or the total (event 1045).</summary>
    public long MemoryBudgetCloses => Interlocked.Read(ref _memoryBudget);

    internal void OnMemoryBudget() => Interlocked.Increment(ref _memoryBudget);

    internal void OnConnectionRefusedPerIp() => Interlocked.Increment(ref _connectionsPerIp);

    internal void OnHandshakeRateLimited() => Interlocked.Increment(ref _handshakeRate);

    internal void OnSlowClient() => Interlocked.Increment(ref _slowClients);

    internal void OnFailedPublish() => Interlocked.Increment(ref _failedPublishes);

    internal void OnBlockedPublish() => Interlocked.Increment(ref _blockedPublishes);
}

/// <summary>
/// Per-IP-address admission for the RTMP listener: concurrent connections, a handshake token bucket, and the
/// stream-key guessing block (N refused keys within a window block the address for a cool-down: the project's one
/// <see cref="FailedAttemptGuard"/>, which WHIP uses too; an IPv6 client counts by its /64). State per address lives
/// only while it matters (open connections, a bucket not yet full, recent failures, a block) and is swept otherwise, so
/// a scan from many addresses leaves nothing behind.
/// </summary>
internal sealed class RtmpAdmission(RtmpOptions options, TimeProvider time)
{
    private readonly FailedAttemptGuard _keyGuesses = new(options.MaxFailedPublishesPerIp,
        TimeSpan.FromSeconds(Math.Max(options.FailedPublishWindowSeconds, 1)), TimeSpan.FromSeconds(Math.Max(options.FailedPublishBlockSeconds, 0)),
        time);

    public enum Verdict
    {
        Admitted,
        TooManyConnections,
        HandshakeRateExceeded,
    }

    private sealed class Peer
    {
        public int Connections;
        public double Tokens;
        public long TokensAt;
        public long Refused;
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, Peer> _peers = new();
    private long _nextSweep;

    public RtmpLimitCounters Counters { get; } = new();

    private long Now => time.GetTimestamp();

    private long Ticks(double seconds) => (long)(seconds * time.TimestampFrequency);

    /// <summary>Tracked addresses, connections and key failures (for tests: a scan must not leave state behind).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_gate) return _peers.Count + _keyGuesses.TrackedAddresses;
        }
    }

    /// <summary>
    /// Decides on a new connection from <paramref name="address"/>; when admitted, the caller calls
    /// <see cref="Release"/> once the connection closes. <paramref name="refusedCount"/> counts this address's
    /// refusals, so the caller logs the first and then every tenfold, not every one of a flood.
    /// </summary>
    public Verdict TryAdmit(IPAddress address, out int open, out long refusedCount)
    {
        long now = Now;
        lock (_gate)
        {
            SweepIfDue(now);
            var peer = GetPeer(address, now);
            open = peer.Connections;
            refusedCount = 0;
            if (options.MaxConnectionsPerIp > 0 && peer.Connections >= options.MaxConnectionsPerIp)
            {
                refusedCount = ++peer.Refused;
                Counters.OnConnectionRefusedPerIp();
                return Verdict.TooManyConnections;
            }
            if (options.HandshakesPerSecondPerIp > 0)
            {
                Refill(peer, now);
                if (peer.Tokens < 1)
                {
                    refusedCount = ++peer.Refused;
                    Counters.OnHandshakeRateLimited();
                    return Verdict.HandshakeRateExceeded;
                }
                peer.Tokens -= 1;
            }
            peer.Connections++;
            return Verdict.Admitted;
        }
    }

    public void Release(IPAddress address)
    {
        lock (_gate)
        {
            if (_peers.TryGetValue(address, out var peer) && peer.Connections > 0) peer.Connections--;
        }
    }

    /// <summary>True while <paramref name="address"/> is blocked for guessing keys.</summary>
    public bool IsPublishBlocked(IPAddress address, out int failures, out TimeSpan remaining)
    {
        if (!_keyGuesses.IsBlocked(address, out failures, out remaining)) return false;
        Counters.OnBlockedPublish();
        return true;
    }

    /// <summary>
    /// Records a refused stream key; returns true when this failure starts a block of the address
    /// (<paramref name="failures"/> within the window).
    /// </summary>
    public bool RecordFailedPublish(IPAddress address, out int failures)
    {
        Counters.OnFailedPublish();
        return _keyGuesses.RecordFailure(address, out failures);
    }

    private Peer GetPeer(IPAddress address, long now)
    {
        if (!_peers.TryGetValue(address, out var peer))
        {
            peer = new Peer { Tokens = options.HandshakeBurstPerIp, TokensAt = now };
            _peers.Add(address, peer);
        }
        return peer;
    }

    private void Refill(Peer peer, long now)
    {
        double seconds = (double)(now - peer.TokensAt) / time.TimestampFrequency;
        peer.Tokens = Math.Min(Math.Max(options.HandshakeBurstPerIp, 1), peer.Tokens + seconds * options.HandshakesPerSecondPerIp);
        peer.TokensAt = now;
    }

    /// <summary>At most every few seconds: forget addresses with nothing left to remember.</summary>
    private void SweepIfDue(long now)
    {
        if (now < _nextSweep) return;
        _nextSweep = now + Ticks(5);
        List<IPAddress>? idle = null;
        foreach (var (address, peer) in _peers)
        {
            if (peer.Connections > 0) continue;
            if (options.HandshakesPerSecondPerIp > 0)
            {
                Refill(peer, now);
                if (peer.Tokens < options.HandshakeBurstPerIp) continue;
            }
            (idle ??= []).Add(address);
        }
        if (idle is not null) foreach (var address in idle) _peers.Remove(address);
    }

    /// <summary>Log the 1st, 10th, 100th… refusal of an address: a flood must not flood the log.</summary>
    public static bool ShouldLog(long refusedCount)
    {
        if (refusedCount <= 0) return false;
        long n = refusedCount;
        while (n % 10 == 0) n /= 10;
        return n == 1;
    }
}
