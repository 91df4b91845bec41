using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Pull.Proxy;

/// <summary>
/// A forward proxy on loopback that ffmpeg and ffprobe reach every http:// and https:// address through
/// (<c>-http_proxy</c>) while they pull a source: the playlist, every segment an HLS playlist names, on any host. Each
/// destination is resolved and checked by the <see cref="OutboundGuard"/> here, and the connection goes to the address
/// that was checked, so a playlist cannot point ffmpeg at the metadata service or a private network, and a name cannot
/// resolve to another address between the check and the connect. https:// goes through <c>CONNECT</c>: TLS stays end
/// to end between ffmpeg and the source (certificate checks included); the proxy sees only the host and port.
/// One proxy per pull attempt; it serves only CONNECT and GET/HEAD of http:// URIs, one request per connection.
/// </summary>
public sealed partial class OutboundHttpProxy : IAsyncDisposable
{
    /// <summary>Connections served at once (ffmpeg opens one or two).</summary>
    public const int MaxConnections = 16;

    private static readonly TimeSpan HeadTimeout = TimeSpan.FromSeconds(10);

    private readonly OutboundGuard _guard;
    private readonly ILogger _logger;
    private readonly TimeSpan _connectTimeout;
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private readonly Task _accepting;
    private string? _lastRefusal;
    private int _refused;

    private OutboundHttpProxy(OutboundGuard guard, ILogger logger, TimeSpan connectTimeout)
    {
        _guard = guard;
        _logger = logger;
        _connectTimeout = connectTimeout;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(MaxConnections);
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/";
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>What ffmpeg's <c>-http_proxy</c> gets.</summary>
    public string Url { get; }

    /// <summary>The classified reason the last destination was refused (the pull's status shows it); null when none was.</summary>
    public string? LastRefusal => Volatile.Read(ref _lastRefusal);

    /// <summary>Destinations refused by the policy so far (a name that does not resolve is not counted).</summary>
    public int Refused => Volatile.Read(ref _refused);

    public static OutboundHttpProxy Start(OutboundGuard guard, ILogger logger, TimeSpan connectTimeout)
    {
        ArgumentNullException.ThrowIfNull(guard);
        ArgumentNullException.ThrowIfNull(logger);
        return new OutboundHttpProxy(guard, logger, connectTimeout);
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        var connections = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
                Socket client;
                try
                {
                    client = await _listener.AcceptSocketAsync(cancellationToken).ConfigureAwait(false);
                }
                catch
                {
                    _slots.Release();
                    throw;
                }

                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(ServeAsync(client, cancellationToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        await Task.WhenAll(connections).ConfigureAwait(false);
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using var _ = client;
        Socket? upstream = null;
        try
        {
            client.NoDelay = true;
            var buffer = ArrayPool<byte>.Shared.Rent(ProxyRequestHead.MaxBytes);
            ProxyRequestHead? head;
            int received = 0;
            try
            {
                using (var headTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
                {
                    headTimeout.CancelAfter(HeadTimeout);
                    while (true)
                    {
                        int n = await client.ReceiveAsync(buffer.AsMemory(received, ProxyRequestHead.MaxBytes - received), SocketFlags.None,
                            headTimeout.Token)
                            .ConfigureAwait(false);
                        if (n == 0) return;
                        received += n;
                        var status = ProxyRequestHead.TryRead(buffer.AsSpan(0, received), out head, out string? error);
                        if (status == ProxyHeadStatus.Complete) break;
                        if (status == ProxyHeadStatus.Invalid)
                        {
                            LogMalformed(_logger, error!);
                            await RespondAsync(client, "400 Bad Request", cancellationToken).ConfigureAwait(false);
                            return;
                        }
                    }
                }

                var request = head!;
                var check = await _guard.CheckAsync(
                        new Uri($"{(request.Method == ProxyMethod.Connect ? "https" : "http")}://{request.Host}:{request.Port}/"), cancellationToken)
                    .ConfigureAwait(false);
                if (!check.IsAllowed)
                {
                    string reason = check.Decision.Describe();
                    if (check.Decision.Verdict == OutboundVerdict.Refused)
                    {
                        Volatile.Write(ref _lastRefusal, reason);
                        Interlocked.Increment(ref _refused);
                    }

                    LogRefused(_logger, request.Host, request.Port, reason);
                    await RespondAsync(client, check.Decision.Verdict == OutboundVerdict.HostNotFound ? "502 Bad Gateway" : "403 Forbidden",
                        cancellationToken)
                        .ConfigureAwait(false);
                    return;
                }

                upstream = await ConnectAsync(check.Addresses, request.Port, cancellationToken).ConfigureAwait(false);
                if (upstream is null)
                {
                    await RespondAsync(client, "502 Bad Gateway", cancellationToken).ConfigureAwait(false);
                    return;
                }

                if (request.Method == ProxyMethod.Connect)
                {
                    await client.SendAsync("HTTP/1.1 200 Connection Established\r\n\r\n"u8.ToArray(), SocketFlags.None,
                        cancellationToken).ConfigureAwait(false);
                    // Bytes the client sent after the head (a TLS ClientHello in the same segment) go first.
                    if (received > request.Length)
                        await upstream.SendAsync(buffer.AsMemory(request.Length, received - request.Length), SocketFlags.None,
                            cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await upstream.SendAsync(request.ToOriginRequest(), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }

            await SpliceAsync(client, upstream, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (IOException)
        {
        }
        finally
        {
            upstream?.Dispose();
            _slots.Release();
        }
    }

    private async Task<Socket?> ConnectAsync(IReadOnlyList<IPAddress> addresses, int port, CancellationToken cancellationToken)
    {
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_connectTimeout);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, port), timeout.Token).ConfigureAwait(false);
                return socket;
            }
            catch (Exception e) when (e is SocketException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                socket.Dispose();
            }
        }

        return null;
    }

    /// <summary>Copies both ways until either side closes, then closes both.</summary>
    private static async Task SpliceAsync(Socket client, Socket upstream, CancellationToken cancellationToken)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var down = CopyAsync(upstream, client, done.Token);
        var up = CopyAsync(client, upstream, done.Token);
        await Task.WhenAny(down, up).ConfigureAwait(false);
        await done.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(down, up).ConfigureAwait(false);
    }

    private static async Task CopyAsync(Socket from, Socket to, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                int n = await from.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                await to.SendAsync(buffer.AsMemory(0, n), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task RespondAsync(Socket client, string status, CancellationToken cancellationToken)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes($"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        await client.SendAsync(bytes, SocketFlags.None, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        await _accepting.ConfigureAwait(false);
        _stop.Dispose();
        _slots.Dispose();
    }

    [LoggerMessage(EventId = 1711, Level = LogLevel.Warning, Message = "Pull proxy: refused {Host}:{Port}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string host, int port, string reason);

    [LoggerMessage(EventId = 1712, Level = LogLevel.Debug, Message = "Pull proxy: malformed request from ffmpeg: {Reason}")]
    private static partial void LogMalformed(ILogger logger, string reason);
}
