using System.Buffers;
using System.IO.Pipelines;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;

namespace Broadcast.Ingest.Tests.Rtmp;

public class ReceiveCoalescingTests
{
    [Theory]
    [InlineData(ReceiveCoalescing.DefaultMilliseconds)]
    [InlineData(50)]
    [InlineData(ReceiveCoalescing.MaxMilliseconds)]
    public async Task A_coalescing_socket_delivers_small_writes_after_the_timeout_and_keeps_working_when_idle(int milliseconds)
    {
        if (!OperatingSystem.IsLinux()) return;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient { NoDelay = true };
        await client.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var server = listener.AcceptSocket();
        ReceiveCoalescing.Apply(server, milliseconds);
        var reader = BlockingReadPump.Start(new System.Net.Sockets.NetworkStream(server, ownsSocket: false), "pump-test", ReceiveCoalescing.IsIdleTimeout);
        var peer = client.GetStream();

        // Idle for several timeouts first: each is a timed-out read the pump ignores; the socket stays usable.
        await Task.Delay(milliseconds * 5);
        for (int round = 0; round < 3; round++)
        {
            // Fewer bytes than the low-water mark still arrive, once the receive timeout ends.
            await peer.WriteAsync(new byte[] { 1, 2, 3, (byte)round });
            var got = await ReadAtLeastAsync(reader, 4);
            Assert.Equal(new byte[] { 1, 2, 3, (byte)round }, got);
        }
        // A burst above the low-water mark arrives whole and in order.
        byte[] burst = Enumerable.Range(0, 3 * ReceiveCoalescing.Bytes).Select(i => (byte)i).ToArray();
        await peer.WriteAsync(burst);
        Assert.Equal(burst, await ReadAtLeastAsync(reader, burst.Length));
        client.Close();
        var end = await reader.ReadAsync();
        Assert.True(end.IsCompleted);
        await reader.CompleteAsync();
    }

    /// <summary>
    /// Coalescing asked for while the pump's read blocks (the publish is decided on another thread while the pump waits
    /// for the next bytes): a small message after it, an FCUnpublish with no media before it, still arrives. Applied from
    /// the asking thread, the blocked read (begun with no timeout) slept until 16 KB came, since Linux wakes it only at the
    /// new low-water mark.
    /// </summary>
    [Theory]
    [InlineData(ReceiveCoalescing.DefaultMilliseconds)]
    [InlineData(0)]
    public async Task Coalescing_asked_for_during_a_blocked_read_leaves_small_messages_flowing(int milliseconds)
    {
        if (!OperatingSystem.IsLinux()) return;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient { NoDelay = true };
        await client.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        var server = listener.AcceptSocket();
        using var stream = new ReceiveCoalescing.SocketStream(server, milliseconds);
        var reader = BlockingReadPump.Start(stream, "pump-test", ReceiveCoalescing.IsIdleTimeout);
        var peer = client.GetStream();

        for (int round = 0; round < 20; round++)
        {
            // The pump delivered the last bytes and blocks in its next read (or is about to) when coalescing is asked for.
            await peer.WriteAsync(new byte[] { 9, (byte)round });
            Assert.Equal(new byte[] { 9, (byte)round }, await ReadAtLeastAsync(reader, 2, TimeSpan.FromSeconds(10)));
            if (round == 10) stream.Request();
        }
        // Set from the pump's own thread at its next read; a window of 0 leaves the socket as it was (no timeout).
        Assert.Equal(milliseconds, server.ReceiveTimeout);
        client.Close();
        Assert.True((await reader.ReadAsync()).IsCompleted);
        await reader.CompleteAsync();
    }

    private static async Task<byte[]> ReadAtLeastAsync(PipeReader reader, int count, TimeSpan? within = null)
    {
        using var cts = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var result = await reader.ReadAsync(cts.Token);
            if (result.Buffer.Length >= count)
            {
                byte[] bytes = result.Buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                return bytes;
            }
            Assert.False(result.IsCompleted, "the stream ended early");
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
