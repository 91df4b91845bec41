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

    /// <summary>
    /// The most channels the edges' lines count at once. A listed edge answers only for channels the origins serve, but a
    /// UDP source address can be forged: without a bound, invented channel names would each take a row in the audience's
    /// tables. A channel nobody's line named for <see cref="OriginOptions.ViewerWindow"/> gives its place up.
    /// </summary>
    internal const int MaxChannels = 4096;
    private static readonly TimeSpan MalformedLogInterval = TimeSpan.FromMinutes(1);

    // Validated at start (OriginServiceCollectionExtensions): every entry parses.
    private readonly List<IPNetwork> _sources = IpNetworks.TryParseList(options.Value.EdgeLogSources, out var sources, out _) ? sources : [];
    private readonly IPEndPoint _bind = new(IPAddress.Parse(options.Value.EdgeLogAddress), options.Value.EdgeLogPort);
    private readonly HashSet<IPAddress> _refusedLogged = [];
    // The sources heard and whether each is listed: an edge sends from one address, so a datagram costs a compare.
    private readonly List<(SocketAddress Address, bool Allowed)> _decided = [];
    // The channels the lines counted lately, with the timestamp of each one's last line (only the receive loop touches it).
    private readonly Dictionary<string, long> _channels = new(StringComparer.Ordinal);
    private readonly long _channelIdleTicks = (long)(options.Value.ViewerWindow.TotalSeconds * time.TimestampFrequency);
    private long _counted;
    private long _ignored;
    private long _overChannelCap;
    private long _refused;
    private long _malformed;
    private long _malformedLogged;
    private DateTimeOffset _malformedLoggedAt = DateTimeOffset.MinValue;

    /// <summary>Lines counted: a viewer's request the edge served, or one it failed itself.</summary>
    public long Counted => Interlocked.Read(ref _counted);

    /// <summary>Lines read that count nothing: not under /live/, or a status that is neither served nor failed at the edge.</summary>
    public long Ignored => Interlocked.Read(ref _ignored);

    /// <summary>Lines dropped because <see cref="MaxChannels"/> other channels were being counted.</summary>
    public long OverChannelCap => Interlocked.Read(ref _overChannelCap);

    /// <summary>Datagrams dropped as not being lines of the format.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>Datagrams dropped because their source is not a listed edge.</summary>
    public long Refused => Interlocked.Read(ref _refused);

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var socket = new Socket(_bind.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            // Room for a burst (a few thousand lines) while this loop is busy; the kernel caps it at net.core.rmem_max.
            socket.ReceiveBufferSize = 4 * 1024 * 1024;
            // The loop looks at the stopping token at least this often when no line comes.
            socket.ReceiveTimeout = 1000;
            socket.Bind(_bind);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        OriginLog.EdgeLogListening(logger, socket.LocalEndPoint?.ToString() ?? _bind.ToString(), options.Value.EdgeLogSources);
        // A thread of its own, blocked in recvfrom between datagrams: an edge sends thousands of lines a second, and an awaited
        // receive paid a hand-off to the thread pool for many of them (bench/edge-log.sh).
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            // Closing the socket wakes a receive blocked in it; the timeout is the bound if it did not.
            using var wake = stoppingToken.Register(socket.Dispose);
            try
            {
                ReceiveLoop(socket, stoppingToken);
            }
            finally
            {
                socket.Dispose();
                stopped.TrySetResult();
            }
        }) { IsBackground = true, Name = "edge audience log" };
        thread.Start();
        return stopped.Task;
    }

    private void ReceiveLoop(Socket socket, CancellationToken stoppingToken)
    {
        var buffer = new byte[EdgeAccessLogLine.MaxBytes + 1];
        var chars = new char[EdgeAccessLogLine.MaxBytes];
        var from = new SocketAddress(_bind.AddressFamily);
        while (!stoppingToken.IsCancellationRequested)
        {
            int received;
            try
            {
                received = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (ObjectDisposedException)
            {
                break;
            }
            catch (SocketException)
            {
                // Stopping (the socket closed), no line within the timeout, an ICMP error from an earlier send, or a
                // datagram larger than the buffer (truncated): nothing to read.
                continue;
            }

            try
            {
                Handle(buffer.AsSpan(0, received), from, chars);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A line this code could not count is a malformed one, never the end of the thread (and of the process).
                CountMalformed(from, e.GetType().Name);
            }
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
            CountMalformed(from, result.ToString(), source);
            return;
        }

        switch (Count(entry))
        {
            case LineOutcome.Counted: Interlocked.Increment(ref _counted); break;
            case LineOutcome.OverChannelCap: Interlocked.Increment(ref _overChannelCap); break;
            default: Interlocked.Increment(ref _ignored); break;
        }
    }

    private void CountMalformed(SocketAddress from, string reason, IPAddress? source = null)
    {
        Interlocked.Increment(ref _malformed);
        var now = time.GetUtcNow();
        if (now - _malformedLoggedAt < MalformedLogInterval) return;
        OriginLog.EdgeLogMalformed(logger, _malformed - _malformedLogged, source ?? AddressOf(from), reason);
        _malformedLogged = _malformed;
        _malformedLoggedAt = now;
    }

    internal enum LineOutcome
    {
        Counted,
        /// <summary>Not under /live/, or a status that is neither served nor failed at the edge.</summary>
        Ignored,
        OverChannelCap,
    }

    /// <summary>Counts one line in the audience (the receive loop's thread only).</summary>
    internal LineOutcome Count(in EdgeAccessLogEntry entry)
    {
        var uri = entry.RequestUri;
        if (!uri.StartsWith("/live/", StringComparison.Ordinal)) return LineOutcome.Ignored;
        int question = uri.IndexOf('?');
        var key = (question < 0 ? uri : uri[..question])[6..];
        var query = question < 0 ? [] : uri[question..];
        if (entry.Status is not (200 or 206 or 304 or 502 or 504)) return LineOutcome.Ignored;
        int slash = key.IndexOf('/');
        if (slash <= 0) return LineOutcome.Ignored;
        if (!AdmitChannel(key[..slash])) return LineOutcome.OverChannelCap;
        if (entry.Status is 502 or 504) audience.FailedAtEdge(key);
        else audience.ServedByEdge(key, query, entry.Address, entry.UserAgent, entry.CmcdRequest, entry.CmcdObject, entry.CmcdStatus, entry.CmcdSession);
        return LineOutcome.Counted;
    }

    /// <summary>
    /// Whether a line of <paramref name="channel"/> may count: a channel counted lately always (a lookup by span, no
    /// allocation); a new one while fewer than <see cref="MaxChannels"/> are, after giving up the idle ones' places.
    /// </summary>
    private bool AdmitChannel(ReadOnlySpan<char> channel)
    {
        long now = time.GetTimestamp();
        var lookup = _channels.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.ContainsKey(channel))
        {
            lookup[channel] = now;
            return true;
        }

        if (_channels.Count >= MaxChannels)
        {
            foreach (var (name, last) in _channels)
            {
                if (now - last > _channelIdleTicks) _channels.Remove(name);
            }

            if (_channels.Count >= MaxChannels) return false;
        }

        _channels[channel.ToString()] = now;
        return true;
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
