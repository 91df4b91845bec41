using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp.Receive;
using Broadcast.Media;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The RTMP ingest listener: accepts TCP connections up to <see cref="RtmpOptions.MaxConnections"/> and runs one
/// <see cref="RtmpServerSession"/> per client. Binding happens in <see cref="StartAsync"/>, so <see cref="LocalEndPoint"/>
/// is known (the real port for Port=0) when the host has started.
/// </summary>
public sealed class RtmpServer : IHostedService, IAsyncDisposable
{
    private readonly RtmpOptions _options;
    private readonly LiveStreamRegistry _registry;
    private readonly IPublishAuthorizer _authorizer;
    private readonly RtmpConnectionRegistry _connections;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RtmpAdmission _admission;
    private readonly TaskCompletionSource<IPEndPoint> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<long, Task> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private Socket? _listener;
    private ReceiveLoops? _receiveLoops;
    private Task? _acceptLoop;
    private readonly TimeSpan _reconnectGrace;
    private readonly TimeSpan _takeoverSilence;

    public RtmpServer(IOptions<RtmpOptions> options, LiveStreamRegistry registry, IPublishAuthorizer authorizer, IRtmpConnections connections,
        ILogger<RtmpServer> logger, TimeProvider? time = null, IOptions<IngestOptions>? ingest = null, RtmpMemoryBudget? memory = null)
    {
        _reconnectGrace = TimeSpan.FromSeconds(Math.Max(0, ingest?.Value.ReconnectGraceSeconds ?? 0));
        _takeoverSilence = TimeSpan.FromMilliseconds(Math.Max(0, ingest?.Value.TakeoverSilenceMilliseconds ?? 0));
        _options = options.Value;
        _registry = registry;
        _authorizer = authorizer;
        _connections = connections as RtmpConnectionRegistry ?? throw new ArgumentException("Use the registry registered by AddRtmpIngest.",
            nameof(connections));
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _admission = new RtmpAdmission(_options, _time);
        Memory = memory ?? new RtmpMemoryBudget(_options.MemoryBudgetTotal);
    }

    /// <summary>What the RTMP connections hold now, against Rtmp:MemoryBudgetTotal (shared with the RTMPS listener).</summary>
    public RtmpMemoryBudget Memory { get; }

    /// <summary>How often the per-IP and slow-client limits were hit.</summary>
    public RtmpLimitCounters Limits => _admission.Counters;

    internal RtmpAdmission Admission => _admission;

    /// <summary>The epoll loops that read plain connections (Linux, once started); null for RTMPS or elsewhere.</summary>
    internal ReceiveLoops? ReceiveLoops => _receiveLoops;

    /// <summary>The bound endpoint once started; null before.</summary>
    public IPEndPoint? LocalEndPoint { get; private set; }

    /// <summary>Completes with the bound endpoint when the server is listening.</summary>
    public Task<IPEndPoint> Listening => _listening.Task;

    public IRtmpConnections Connections => _connections;

    /// <summary>Wraps each accepted socket before the RTMP handshake (the RTMPS listener sets TLS); null for plain RTMP.</summary>
    internal IRtmpTransport? Transport { get; init; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var address = IPAddress.Parse(_options.BindAddress);
        var listener = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.Bind(new IPEndPoint(address, _options.Port));
            listener.Listen(512);
        }
        catch
        {
            listener.Dispose();
            throw;
        }
        _listener = listener;
        // Plain RTMP on Linux: a few epoll loops read every publisher. RTMPS reads through its TLS stream, a thread per connection.
        if (Transport is null && LinuxEpoll.IsSupported)
        {
            _receiveLoops = new ReceiveLoops(_options.ReceiveThreads > 0 ? _options.ReceiveThreads : Environment.ProcessorCount,
                _options.ReceiveCoalescingMilliseconds, _logger);
            RtmpLog.ReceiveLoopsStarted(_logger, _receiveLoops.Count, _options.ReceiveCoalescingMilliseconds);
        }
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        if (Transport is null) RtmpLog.Listening(_logger, LocalEndPoint.ToString()); // RTMPS logs its own line
        _listening.TrySetResult(LocalEndPoint);
        var sessions = new RtmpSessionServices(_options, _registry, _authorizer, _admission, Memory, _logger)
        {
            Transport = Transport, ReceiveLoops = _receiveLoops, ReconnectGrace = _reconnectGrace, TakeoverSilence = _takeoverSilence,
        };
        _acceptLoop = Task.Run(() => AcceptLoopAsync(listener, sessions, _stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task AcceptLoopAsync(Socket listener, RtmpSessionServices sessions, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(stopping).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex)
            {
                if (stopping.IsCancellationRequested) return;
                RtmpLog.AcceptFailed(_logger, ex);
                continue;
            }

            string remote = socket.RemoteEndPoint?.ToString() ?? "?";
            if (_connections.Count >= _options.MaxConnections)
            {
                RtmpLog.TooManyConnections(_logger, remote, _options.MaxConnections);
                socket.Dispose();
                continue;
            }
            var address = (socket.RemoteEndPoint as IPEndPoint)?.Address ?? IPAddress.None;
            if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
            var verdict = _admission.TryAdmit(address, out int open, out long refused);
            if (verdict != RtmpAdmission.Verdict.Admitted)
            {
                if (RtmpAdmission.ShouldLog(refused))
                {
                    if (verdict == RtmpAdmission.Verdict.TooManyConnections) RtmpLog.TooManyConnectionsFromAddress(_logger, address.ToString(), open,
                        refused);
                    else RtmpLog.HandshakeRateExceeded(_logger, address.ToString(), _options.HandshakesPerSecondPerIp, _options.HandshakeBurstPerIp,
                        refused);
                }
                socket.Dispose();
                continue;
            }
            socket.NoDelay = true;
            long id = _connections.NextId();
            var connection = new RtmpServerSession(sessions, id, socket, address, _time.GetUtcNow());
            _connections.Add(connection);
            RtmpLog.Accepted(_logger, id, remote);
            _running[id] = RunConnectionAsync(connection, stopping);
        }
    }

    private async Task RunConnectionAsync(RtmpServerSession connection, CancellationToken stopping)
    {
        await Task.Yield(); // leave the accept loop at once
        try
        {
            await connection.RunAsync(stopping).ConfigureAwait(false);
        }
        finally
        {
            _admission.Release(connection.Address);
            _connections.Remove(connection);
            _running.TryRemove(connection.Id, out _);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        _listener?.Dispose();
        foreach (var connection in _connections.All) connection.Abort();
        var tasks = _running.Values.ToList();
        if (_acceptLoop is not null) tasks.Add(_acceptLoop);
        try
        {
            await Task.WhenAll(tasks).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return; // connections still closing: their loops stay until the process ends
        }
        _receiveLoops?.Dispose();
        _receiveLoops = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping.Dispose();
    }
}
