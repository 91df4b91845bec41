using System.Collections.Concurrent;

namespace Broadcast.Ingest.Rtmp;

public enum RtmpConnectionState
{
    Handshake,
    Connected,
    Publishing,
    Closed,
}

/// <summary>A snapshot of one RTMP connection for the dashboard. No stream key: it is a secret.</summary>
public sealed record RtmpConnectionInfo(
    long Id,
    string RemoteEndPoint,
    RtmpConnectionState State,
    long BytesIn,
    string? App,
    string? StreamName,
    string? ChannelId,
    DateTimeOffset ConnectedAt)
{
    /// <summary>Bytes the connection holds now against its memory budget (reassembly buffers, unparsed input, unsent replies).</summary>
    public long MemoryBytes { get; init; }
}

/// <summary>The RTMP connections open right now.</summary>
public interface IRtmpConnections
{
    int Count { get; }

    IReadOnlyList<RtmpConnectionInfo> Snapshot();
}

internal sealed class RtmpConnectionRegistry : IRtmpConnections
{
    private readonly ConcurrentDictionary<long, RtmpServerSession> _connections = new();
    private long _lastId;

    public int Count => _connections.Count;

    public IReadOnlyList<RtmpConnectionInfo> Snapshot() =>
        _connections.Values.Select(c => c.Info).OrderBy(i => i.Id).ToArray();

    /// <summary>Connection ids, unique across every listener that shares this registry (RTMP and RTMPS).</summary>
    internal long NextId() => Interlocked.Increment(ref _lastId);

    internal void Add(RtmpServerSession connection) => _connections[connection.Id] = connection;

    internal void Remove(RtmpServerSession connection) => _connections.TryRemove(connection.Id, out _);

    internal ICollection<RtmpServerSession> All => _connections.Values;
}
