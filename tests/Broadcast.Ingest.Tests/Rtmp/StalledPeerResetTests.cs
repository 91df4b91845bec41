using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Receive;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>Real loopback sockets: what the peer sees when the server closes after it stopped reading, and when it read everything.</summary>
public class StalledPeerResetTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_socket_holding_bytes_its_peer_never_took_closes_with_a_reset()
    {
        if (!LinuxEpoll.IsSupported) return;
        var logs = new CapturingLoggerProvider();
        using var listener = Listen();
        using var client = new TcpClient { ReceiveBufferSize = 4096 };
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = listener.AcceptSocket();
        server.Blocking = false;
        // The peer reads nothing: write until the send buffer is full (bounded, in case it never fills).
        var chunk = new byte[16 * 1024];
        long written = 0;
        try
        {
            while (written < 64L * 1024 * 1024) written += server.Send(chunk);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock)
        {
        }
        Assert.True(LinuxEpoll.UnsentBytes(server) > 0, $"nothing unsent after {written} bytes written");

        StalledPeerReset.ResetIfUnsent(server, logs.CreateLogger("test"), connectionId: 7, remote: "peer");
        server.Dispose();

        Assert.Contains(logs.Entries, e => e.EventId == 1058 && e.Level == LogLevel.Debug && e.ConnectionId == 7);
        // What reached the peer's buffer is still read, then the reset: no FIN that would wait behind the rest.
        var error = await Assert.ThrowsAsync<SocketException>(() => ReadToEndAsync(client).WaitAsync(Bound));
        Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
    }

    [Fact]
    public async Task A_socket_whose_peer_took_everything_closes_with_a_fin()
    {
        if (!LinuxEpoll.IsSupported) return;
        var logs = new CapturingLoggerProvider();
        using var listener = Listen();
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = listener.AcceptSocket();
        byte[] reply = Enumerable.Range(0, 3000).Select(i => (byte)i).ToArray();
        server.Send(reply);
        var received = new byte[reply.Length];
        await client.GetStream().ReadExactlyAsync(received).AsTask().WaitAsync(Bound);
        Assert.Equal(reply, received);

        StalledPeerReset.ResetIfUnsent(server, logs.CreateLogger("test"), connectionId: 7, remote: "peer");
        server.Dispose();

        Assert.DoesNotContain(logs.Entries, e => e.EventId == 1058);
        Assert.Equal(0, await ReadToEndAsync(client).WaitAsync(Bound));
    }

    /// <summary>Reads until the end; the bytes after those already checked (the first test's buffer, the second's none).</summary>
    private static async Task<long> ReadToEndAsync(TcpClient client)
    {
        var buffer = new byte[64 * 1024];
        long total = 0;
        while (true)
        {
            int read = await client.Client.ReceiveAsync(buffer, SocketFlags.None);
            if (read == 0) return total;
            total += read;
        }
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }
}
