using System.Buffers;
using System.IO.Pipelines;
using Broadcast.Ingest.Rtmp;
using Broadcast.Media;

namespace Broadcast.Ingest.Tests.Rtmp;

public class ReceiveCoalescingTests
{
    [Fact]
    public async Task A_coalescing_socket_delivers_small_writes_after_the_timeout_and_keeps_working_when_idle()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        using var client = new System.Net.Sockets.TcpClient { NoDelay = true };
        await client.ConnectAsync(System.Net.IPAddress.Loopback, ((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        using var server = listener.AcceptSocket();
        ReceiveCoalescing.Apply(server);
        var reader = BlockingReadPump.Start(new System.Net.Sockets.NetworkStream(server, ownsSocket: false), "pump-test", ReceiveCoalescing.IsIdleTimeout);
        var peer = client.GetStream();

        // Idle for several timeouts first: each is a timed-out read the pump ignores; the socket stays usable.
        await Task.Delay(ReceiveCoalescing.Milliseconds * 5);
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

    private static async Task<byte[]> ReadAtLeastAsync(PipeReader reader, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
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
