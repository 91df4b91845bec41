using System.Net;
using System.Net.Sockets;
using Broadcast.Network;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.EdgeLog;

/// <summary>
/// Takes a CDN edge's access log over UDP syslog and counts each line in the audience as if this node had served the
/// request (<see cref="OriginAudience.ServedByEdge"/>): the viewers an edge answers from its cache reach no origin, so
/// without its log the audience behind an edge is the edge's own few misses. Lines whose status the edge served
/// (200, 206, 304) count a viewer and its CMCD; a 502 or 504 the edge made itself (no origin answered) counts a failed
/// request. A 404 or 503 is the origin's own answer, already counted where it was made. Only the listed edges are
/// heard; one datagram is one line, read into buffers kept for the receiver's life.
/// </summary>
public sealed class EdgeAccessLogReceiver(OriginAudience audience, IOptions<OriginOptions> options, ILogger<EdgeAccessLogReceiver> logger,
    TimeProvider time) : BackgroundService
{
    private const int MaxRefusedSourcesLogged = 16;
    private static readonly TimeSpan MalformedLogInterval = TimeSpan.FromMinutes(1);

    // Validated at start (OriginServiceCollectionExtensions): every entry parses.
    private readonly List<IPNetwork> _sources = IpNetworks.TryParseList(options.Value.EdgeLogSources, out var sources, out _) ? sources : [];
    private readonly IPEndPoint _bind = new(IPAddress.Parse(options.Value.EdgeLogAddress), options.Value.EdgeLogPort);
    private readonly HashSet<IPAddress> _refusedLogged = [];
    // The sources heard and whether each is listed: an edge sends from one address, so a datagram costs a compare.
    private readonly List<(SocketAddress Address, bool Allowed)> _decided = [];
    private long _counted;
    private long _ignored;
    private long _refused;
    private long _malformed;
    private long _malformedLogged;
    private DateTimeOffset _malformedLoggedAt = DateTimeOffset.MinValue;

    /// <summary>Lines counted: a viewer's request the edge served, or one it failed itself.</summary>
    public long Counted => Interlocked.Read(ref _counted);

    /// <summary>Lines read that count nothing: not under /live/, or a status that is neither served nor failed at the edge.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Datagrams dropped as not being lines of the format.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Datagrams dropped because their source is not a listed edge.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var socket = new Socket(_bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        // Room for a burst (a few thousand lines) while this loop is busy; the kernel caps it at net.core.rmem_max.
        socket.ReceiveBufferSize = 4 * 1024 * 1024;
        socket.Bind(_bind);
        OriginLog.EdgeLogListening(logger, socket.LocalEndPoint?.ToString() ?? _bind.ToString(), options.Value.EdgeLogSources);
        var buffer = new byte[EdgeAccessLogLine.MaxBytes + 1];
        var chars = new char[EdgeAccessLogLine.MaxBytes];
        var from = new SocketAddress(_bind.AddressFamily);
        while (!stoppingToken.IsCancellationRequested)
        {
            int received;
            try
            {
                received = await socket.ReceiveFromAsync(buffer, SocketFlags.None, from, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (SocketException)
            {
                // An ICMP error from an earlier send, or a datagram larger than the buffer (truncated): nothing to read.
                continue;
            }

            Handle(buffer.AsSpan(0, received), from, chars);
        }
    }

    private void Handle(ReadOnlySpan<byte> datagram, SocketAddress from, Span<char> chars)
    {
        if (!Allowed(from, out var source))
        {
            Interlocked.Increment(ref _refused);
            return;
        }

        var result = EdgeAccessLogLine.Parse(datagram, chars, out var entry);
        if (result != EdgeLogParse.Read)
        {
            Interlocked.Increment(ref _malformed);
            var now = time.GetUtcNow();
            if (now - _malformedLoggedAt >= MalformedLogInterval)
            {
                source ??= AddressOf(from);
                OriginLog.EdgeLogMalformed(logger, _malformed - _malformedLogged, source, result.ToString());
                _malformedLogged = _malformed;
                _malformedLoggedAt = now;
            }

            return;
        }

        if (Count(entry)) Interlocked.Increment(ref _counted);
        else Interlocked.Increment(ref _ignored);
    }

    /// <summary>Counts one line in the audience; false for a line that counts nothing (not under /live/, or another status).</summary>
    private bool Count(in EdgeAccessLogEntry entry)
    {
        var uri = entry.RequestUri;
        if (!uri.StartsWith("/live/", StringComparison.Ordinal)) return false;
        int question = uri.IndexOf('?');
        var key = (question < 0 ? uri : uri[..question])[6..];
        var query = question < 0 ? [] : uri[question..];
        switch (entry.Status)
        {
            case 200 or 206 or 304:
                audience.ServedByEdge(key, query, entry.Address, entry.UserAgent, entry.CmcdRequest, entry.CmcdObject, entry.CmcdStatus, entry.CmcdSession);
                return true;
            case 502 or 504:
                audience.FailedAtEdge(key);
                return true;
            default:
                return false;
        }
    }

    private IPAddress AddressOf(SocketAddress from) => ((IPEndPoint)_bind.Create(from)).Address;

    private bool Allowed(SocketAddress from, out IPAddress? source)
    {
        source = null;
        foreach (var (address, allowed) in _decided)
        {
            if (address.Equals(from)) return allowed;
        }

        source = AddressOf(from);
        bool listed = IpNetworks.Contains(_sources, source);
        if (_decided.Count < 64)
        {
            var copy = new SocketAddress(from.Family, from.Size);
            from.Buffer.Span.CopyTo(copy.Buffer.Span);
            _decided.Add((copy, listed));
        }

        if (!listed && _refusedLogged.Count < MaxRefusedSourcesLogged && _refusedLogged.Add(source)) OriginLog.EdgeLogSourceRefused(logger, source);
        return listed;
    }
}
