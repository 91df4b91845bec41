using System.Net;
using System.Net.Sockets;

namespace Broadcast.TestSupport;

/// <summary>
/// Picks a free loopback TCP port by binding port 0. Only for programs that must be told a port up front
/// (nginx, our server's RTMP listener); anything we host in-process binds port 0 itself instead.
/// </summary>
public static class FreePort
{
    // Ports handed out in this process. The kernel may give a port it just released to the next bind of port 0, so two
    // picks in a row (a server's RTMP and HTTP ports) could be the same number: the server then failed to start with
    // "address already in use". A port is handed out once per process.
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> HandedOut = new();

    public static int Tcp() => HandOutOnce(() =>
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    });

    /// <summary>A free loopback UDP port (the server's SRT listener is told one up front).</summary>
    public static int Udp() => HandOutOnce(() =>
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    });

    /// <summary>Binds port 0 until the kernel gives a number not yet handed out in this process; after 50 retries it returns the last number anyway.</summary>
    private static int HandOutOnce(Func<int> bindEphemeral)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = bindEphemeral();
            if (HandedOut.TryAdd(port, 0) || attempt >= 50) return port;
        }
    }

    /// <summary>A loopback port free for both TCP and UDP (a TURN server listens on both with one number).</summary>
    public static int TcpAndUdp()
    {
        for (int attempt = 0; ; attempt++)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
                if (HandedOut.TryAdd(port, 0) || attempt >= 20) return port;
            }
            catch (SocketException) when (attempt < 20)
            {
                // That number is taken for UDP: another one.
            }
        }
    }

    /// <summary>True when something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<bool> IsListeningAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await client.ConnectAsync(IPAddress.Loopback, port, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
