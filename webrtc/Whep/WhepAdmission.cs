using System.Net;
using Broadcast.Network;
using Broadcast.Refusals;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Whep;

/// <summary>What <see cref="WhepAdmission.TryEnter"/> decided for an offer.</summary>
internal enum WhepAdmissionResult
{
    Admitted,

    /// <summary>The address holds <see cref="WhepOptions.MaxSessionsPerAddress"/> sessions: 429.</summary>
    AddressFull,

    /// <summary>The address holds <see cref="WhepOptions.MaxPendingPerAddress"/> sessions that have not connected: 429.</summary>
    AddressPendingFull,

    /// <summary>The node holds <see cref="WhepOptions.MaxPendingSessions"/> sessions that have not connected: evict one, else 503.</summary>
    NodePendingFull,

    /// <summary>The node serves <see cref="WhepOptions.MaxViewersPerNode"/> viewers: evict one that has not connected, else 503.</summary>
    NodeFull,
}

/// <summary>
/// The places of this node's real-time viewers: the node's viewer cap, the sessions of each client address, and apart
/// from them the sessions that are pending (answered or being answered, not yet connected), per address and in all.
/// A pending session costs its holder one anonymous POST and costs the node a Janus handle, sockets and a place for up
/// to <see cref="WhepOptions.ConnectTimeout"/>: the pending caps keep a flood of offers that never connect from taking
/// the places connecting viewers need (the service evicts the oldest pending one to make room). Refusals and
/// evictions are logged at most once per 10 s per kind, so a flood cannot flood the log too.
/// </summary>
internal sealed partial class WhepAdmission
{
    private const long LogEveryMilliseconds = 10_000;

    private readonly WhepOptions _options;
    private readonly ILogger _logger;
    // Every session, per address. Its total cannot pass the viewer cap (its own 503 and log) and the offers being
    // admitted beside it (at most the pending cap); it is capped at that sum all the same.
    private readonly ClientAddressSlots _addresses;
    // Sessions not yet connected, per address and in all (at most the node's viewer cap).
    private readonly ClientAddressSlots _pending;
    private readonly IntervalGate[] _logGates = [.. Enumerable.Range(0, 5).Select(_ => new IntervalGate(TimeSpan.FromMilliseconds(LogEveryMilliseconds)))];
    private int _reserved;
    private long _refusedAtCap;
    private long _evicted;

    public WhepAdmission(WhepOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        int cap = Math.Max(1, options.MaxViewersPerNode);
        _pending = new ClientAddressSlots(Math.Max(1, options.MaxPendingPerAddress), Math.Clamp(options.MaxPendingSessions, 1, cap));
        _addresses = new ClientAddressSlots(Math.Max(1, options.MaxSessionsPerAddress), cap + _pending.MaxTotal);
    }

    /// <summary>Sessions holding a place now (set up or being set up).</summary>
    public int Viewers => Volatile.Read(ref _reserved);

    /// <summary>Sessions holding a place that have not connected yet (being answered, or answered and waiting for ICE and DTLS).</summary>
    public int Pending => _pending.Open;

    /// <summary>
    /// More sessions have not connected than a tenth of the node's pending cap (10 of 100 by default): a flood of
    /// offers that never connect, or a crowd arriving at once. Sessions answered then get the shorter connect deadline.
    /// </summary>
    public bool UnderPressure => _pending.Open > Math.Max(1, _pending.MaxTotal / 10);

    /// <summary>Slots held in the per-address table of every session (what an ended session gives back).</summary>
    public int AddressSlots => _addresses.Open;

    public long RefusedAtCap => Interlocked.Read(ref _refusedAtCap);

    public long Evicted => Interlocked.Read(ref _evicted);

    /// <summary>Takes a place, a pending slot and an address slot for <paramref name="client"/>, or none of them.</summary>
    public WhepAdmissionResult TryEnter(IPAddress? client)
    {
        switch (_pending.TryEnter(client))
        {
            case AddressAdmission.AddressFull: return WhepAdmissionResult.AddressPendingFull;
            case AddressAdmission.ServerFull: return WhepAdmissionResult.NodePendingFull;
        }

        var address = _addresses.TryEnter(client);
        if (address != AddressAdmission.Admitted)
        {
            _pending.Release(client);
            return address == AddressAdmission.AddressFull ? WhepAdmissionResult.AddressFull : WhepAdmissionResult.NodeFull;
        }

        if (Interlocked.Increment(ref _reserved) > _options.MaxViewersPerNode)
        {
            Interlocked.Decrement(ref _reserved);
            _addresses.Release(client);
            _pending.Release(client);
            return WhepAdmissionResult.NodeFull;
        }

        return WhepAdmissionResult.Admitted;
    }

    /// <summary>The session of <paramref name="client"/> connected: its pending slot is free, its place stays.</summary>
    public void Connected(IPAddress? client) => _pending.Release(client);

    /// <summary>A session ended (or its setup failed): its place, its address slot and, if it never connected, its pending slot.</summary>
    public void Leave(IPAddress? client, bool pending)
    {
        Interlocked.Decrement(ref _reserved);
        _addresses.Release(client);
        if (pending) _pending.Release(client);
    }

    /// <summary>The refusal an offer gets for <paramref name="result"/> (logged at most once per 10 s per kind).</summary>
    public Refusal Refusal(WhepAdmissionResult result, string channel)
    {
        switch (result)
        {
            case WhepAdmissionResult.AddressFull:
                if (ShouldLog(result)) LogAddressCapReached(channel, _options.MaxSessionsPerAddress);
                return Refuse.TooMany($"this address holds its limit of {_options.MaxSessionsPerAddress} real-time sessions on this node");
            case WhepAdmissionResult.AddressPendingFull:
                if (ShouldLog(result)) LogAddressPendingCapReached(channel, _options.MaxPendingPerAddress);
                return Refuse.TooMany($"this address holds its limit of {_options.MaxPendingPerAddress} real-time sessions that have not " +
                    "connected yet; connect one or wait for it to end");
            case WhepAdmissionResult.NodePendingFull:
                Interlocked.Increment(ref _refusedAtCap);
                if (ShouldLog(result)) LogPendingCapReached(channel, _pending.MaxTotal);
                return Refuse.Unavailable($"this node is answering its limit of {_pending.MaxTotal} real-time viewers that have not connected " +
                    "yet; play LL-HLS instead");
            default:
                Interlocked.Increment(ref _refusedAtCap);
                if (ShouldLog(result)) LogCapReached(channel, _options.MaxViewersPerNode);
                return Refuse.Unavailable($"this node serves its limit of {_options.MaxViewersPerNode} real-time viewers; play LL-HLS instead");
        }
    }

    /// <summary>A pending session was ended to make room for a new offer (counted; logged at most once per 10 s).</summary>
    public void Evicting(string channel, string sessionId, int ageMs)
    {
        Interlocked.Increment(ref _evicted);
        if (ShouldLog(WhepAdmissionResult.Admitted)) LogEvicted(channel, sessionId, ageMs, Evicted);
    }

    /// <summary>At most one line every 10 s for each kind (the eviction is logged under <see cref="WhepAdmissionResult.Admitted"/>).</summary>
    private bool ShouldLog(WhepAdmissionResult kind) => _logGates[(int)kind].TryPass();

    [LoggerMessage(EventId = 8203, Level = LogLevel.Warning, Message = "WHEP {Channel}: viewer cap of {Cap} reached; the viewer is sent to LL-HLS " +
        "(logged at most once per 10 s)")]
    private partial void LogCapReached(string channel, int cap);

    [LoggerMessage(EventId = 8206, Level = LogLevel.Warning,
        Message = "WHEP {Channel}: a client address already holds {Cap} real-time sessions on this node; refused with 429 (logged at most once per 10 s)")]
    private partial void LogAddressCapReached(string channel, int cap);

    [LoggerMessage(EventId = 8214, Level = LogLevel.Warning,
        Message = "WHEP {Channel}: a client address already holds {Cap} real-time sessions that have not connected; refused with 429 " +
            "(logged at most once per 10 s)")]
    private partial void LogAddressPendingCapReached(string channel, int cap);

    [LoggerMessage(EventId = 8215, Level = LogLevel.Warning,
        Message = "WHEP {Channel}: {Cap} real-time sessions are not connected yet and none is old enough to end for a newcomer; " +
            "the viewer is sent to LL-HLS (logged at most once per 10 s)")]
    private partial void LogPendingCapReached(string channel, int cap);

    [LoggerMessage(EventId = 8216, Level = LogLevel.Warning,
        Message = "WHEP {Channel}: session {SessionId}, not connected {AgeMs} ms after its answer, was ended to make room for a new viewer; " +
            "{Evicted} so ended since the start (logged at most once per 10 s)")]
    private partial void LogEvicted(string channel, string sessionId, int ageMs, long evicted);
}
