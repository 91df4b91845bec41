using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Receive;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Rtmp.Receive;

public class ReceiveLoopsTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task One_loop_delivers_every_connections_bytes_in_order_and_each_end_completes_its_reader()
    {
        if (!LinuxEpoll.IsSupported) return;
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 0);
        using var listener = Listen();
        var pairs = new List<(TcpClient Client, Socket Server, ReceiveRegistration Receive)>();
        for (int i = 0; i < 8; i++)
        {
            var (client, server) = await ConnectAsync(listener);
            pairs.Add((client, server, loops.Register(server, 64 * 1024)));
        }
        // Every connection sends its own pattern at once, more than the pause mark, so readers and loop interleave.
        byte[][] sent = pairs.Select((_, i) => Enumerable.Range(0, 512 * 1024).Select(b => (byte)(b * (i + 3))).ToArray()).ToArray();
        var writes = pairs.Select(async (pair, i) =>
        {
            await pair.Client.GetStream().WriteAsync(sent[i]);
            pair.Client.Client.Shutdown(SocketShutdown.Send);
        }).ToArray();
        var reads = pairs.Select(pair => ReadToEndAsync(pair.Receive.Reader)).ToArray();
        await Task.WhenAll(writes).WaitAsync(Bound);
        byte[][] received = await Task.WhenAll(reads).WaitAsync(Bound);
        for (int i = 0; i < pairs.Count; i++) Assert.Equal(sent[i], received[i]);
        foreach (var pair in pairs) Cleanup(pair);
    }

    [Fact]
    public async Task A_reader_that_waits_pauses_only_its_own_socket_and_gets_every_byte_when_it_reads_again()
    {
        if (!LinuxEpoll.IsSupported) return;
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 0);
        using var listener = Listen();
        var (slowClient, slowServer) = await ConnectAsync(listener);
        var (fastClient, fastServer) = await ConnectAsync(listener);
        var slow = loops.Register(slowServer, 16 * 1024);
        var fast = loops.Register(fastServer, 16 * 1024);

        // The slow reader reads nothing while 4 MB arrive: its pipe stops at the pause mark and the rest waits in the socket.
        byte[] big = Enumerable.Range(0, 4 * 1024 * 1024).Select(b => (byte)(b % 251)).ToArray();
        var bigWrite = slowClient.GetStream().WriteAsync(big).AsTask();
        await WaitFor.ConditionAsync(() => !slow.Watched, Bound, "the loop to stop watching the slow connection at its pause mark");

        // Meanwhile the same loop serves the other connection.
        for (int round = 0; round < 5; round++)
        {
            await fastClient.GetStream().WriteAsync(new byte[] { 7, (byte)round });
            Assert.Equal(new byte[] { 7, (byte)round }, await ReadExactlyAsync(fast.Reader, 2));
        }
        // The paused socket's pipe holds its pause mark and at most one read more; the rest stays in the kernel.
        Assert.True(slow.Reader.TryRead(out var held));
        long heldBytes = held.Buffer.Length;
        slow.Reader.AdvanceTo(held.Buffer.Start);
        Assert.InRange(heldBytes, 16 * 1024, 32 * 1024);

        // Reading again resumes the socket: everything arrives, in order.
        var readBig = ReadExactlyAsync(slow.Reader, big.Length);
        await bigWrite.WaitAsync(Bound);
        Assert.Equal(big, await readBig.WaitAsync(Bound));
        Cleanup((slowClient, slowServer, slow));
        Cleanup((fastClient, fastServer, fast));
    }

    [Fact]
    public async Task A_reset_connection_fails_its_reader_and_a_removed_one_leaves_the_loop()
    {
        if (!LinuxEpoll.IsSupported) return;
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 0);
        using var listener = Listen();
        var (client, server) = await ConnectAsync(listener);
        var receive = loops.Register(server, 64 * 1024);
        await client.GetStream().WriteAsync(new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, await ReadExactlyAsync(receive.Reader, 3));
        // Closing a socket with received bytes it never read resets the connection (RFC 2525 2.17; Linux sends RST, no FIN).
        server.Send(new byte[] { 9 });
        await WaitFor.ConditionAsync(() => client.Available > 0, Bound, "the client to hold an unread byte");
        client.Client.Close();
        await Assert.ThrowsAsync<IOException>(async () => await ReadToEndAsync(receive.Reader).WaitAsync(Bound));
        Cleanup((client, server, receive));

        // A connection the server ends while its peer still sends: removed, the loop keeps none of it.
        var (busyClient, busyServer) = await ConnectAsync(listener);
        var busy = loops.Register(busyServer, 64 * 1024);
        await busyClient.GetStream().WriteAsync(new byte[1000]);
        Assert.Equal(1000, (await ReadExactlyAsync(busy.Reader, 1000)).Length);
        Cleanup((busyClient, busyServer, busy));
        await WaitFor.ConditionAsync(() => loops.Sockets == 0, Bound, "the loop to forget both sockets", () => $"{loops.Sockets} sockets");
    }

    [Fact]
    public async Task A_socket_still_in_its_command_exchange_is_not_held_for_the_coalescing_window()
    {
        if (!LinuxEpoll.IsSupported) return;
        // A window far longer than the bound below: a loop that waited it out after each message would fail the test.
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 60_000);
        using var listener = Listen();
        var (client, server) = await ConnectAsync(listener);
        var receive = loops.Register(server, 64 * 1024);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        for (int round = 0; round < 10; round++)
        {
            await client.GetStream().WriteAsync(new byte[] { 5, (byte)round }, cts.Token);
            Assert.Equal(new byte[] { 5, (byte)round }, await ReadExactlyAsync(receive.Reader, 2, cts.Token));
        }
        Cleanup((client, server, receive));
    }

    [Fact]
    public async Task A_socket_in_media_still_gets_its_bytes_with_a_coalescing_window()
    {
        if (!LinuxEpoll.IsSupported) return;
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 50);
        using var listener = Listen();
        var (client, server) = await ConnectAsync(listener);
        var receive = loops.Register(server, 64 * 1024);
        receive.CoalesceFromNowOn();
        for (int round = 0; round < 10; round++)
        {
            await client.GetStream().WriteAsync(new byte[] { 6, (byte)round });
            Assert.Equal(new byte[] { 6, (byte)round }, await ReadExactlyAsync(receive.Reader, 2));
        }
        Cleanup((client, server, receive));
    }

    [Fact]
    public async Task A_busy_publisher_is_read_again_without_waiting_out_the_window()
    {
        if (!LinuxEpoll.IsSupported) return;
        // The longest window: a loop that slept it out after every turn (at most 128 KB, and under load often the
        // socket's small receive buffer's worth) would need a minute or more for 32 MB.
        using var loops = new ReceiveLoops(1, coalescingMilliseconds: 200);
        using var listener = Listen();
        var (client, server) = await ConnectAsync(listener);
        // A small receive buffer, as a socket's starts: a loop that waited a window whenever a turn drained it would
        // carry at most this much per window, 320 KB/s.
        server.ReceiveBufferSize = 64 * 1024;
        var receive = loops.Register(server, 1024 * 1024);
        receive.CoalesceFromNowOn();
        byte[] data = Enumerable.Range(0, 32 * 1024 * 1024).Select(b => (byte)(b % 253)).ToArray();
        var write = client.GetStream().WriteAsync(data).AsTask();
        Assert.Equal(data, await ReadExactlyAsync(receive.Reader, data.Length));
        await write.WaitAsync(Bound);
        Cleanup((client, server, receive));
    }

    [Fact]
    public async Task A_peer_that_never_reads_fails_the_write_instead_of_blocking_it()
    {
        if (!LinuxEpoll.IsSupported) return;
        using var listener = Listen();
        var (client, server) = await ConnectAsync(listener);
        var output = new DontWaitSendStream(server);
        byte[] reply = new byte[4096];
        // Bounded: the socket buffers on both sides hold a few MB at most; the write fails long before 256 MB.
        var error = await Task.Run(() =>
        {
            for (int i = 0; i < 64 * 1024; i++)
            {
                try
                {
                    output.Write(reply);
                }
                catch (RtmpCloseException ex)
                {
                    return ex;
                }
            }
            return null;
        }).WaitAsync(Bound);
        Assert.NotNull(error);
        Assert.True(error.SlowClient);
        Assert.Contains("does not read", error.Message);
        // The session closing after it may still flush what it had queued: dropped, not a second failure.
        output.Write(reply);
        client.Dispose();
        server.Dispose();
    }

    private static TcpListener Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return listener;
    }

    private static async Task<(TcpClient Client, Socket Server)> ConnectAsync(TcpListener listener)
    {
        var client = new TcpClient { NoDelay = true };
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        // Accepted synchronously: the loop reads a socket that never had an async operation, as the server's do.
        var server = listener.AcceptSocket();
        return (client, server);
    }

    /// <summary>The server's order: the reader completes, the registration goes, then the socket closes.</summary>
    private static void Cleanup((TcpClient Client, Socket Server, ReceiveRegistration Receive) pair)
    {
        pair.Receive.Reader.Complete();
        pair.Receive.Dispose();
        pair.Server.Dispose();
        pair.Client.Dispose();
    }

    private static async Task<byte[]> ReadToEndAsync(PipeReader reader)
    {
        var received = new MemoryStream();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer) received.Write(segment.Span);
            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                await LeaveTheLoopAsync();
                return received.ToArray();
            }
        }
    }

    /// <summary>
    /// A pipe read resumes on the loop's thread (the reader runs inline there, as the RTMP parser does): the test goes on
    /// on the pool, so it never holds the loop it tests (nor disposes it from its own thread).
    /// </summary>
    private static async Task LeaveTheLoopAsync() => await Task.Yield();

    private static async Task<byte[]> ReadExactlyAsync(PipeReader reader, int count, CancellationToken token = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        cts.CancelAfter(Bound);
        while (true)
        {
            var result = await reader.ReadAsync(cts.Token);
            if (result.Buffer.Length >= count)
            {
                byte[] bytes = result.Buffer.Slice(0, count).ToArray();
                reader.AdvanceTo(result.Buffer.GetPosition(count));
                await LeaveTheLoopAsync();
                return bytes;
            }
            Assert.False(result.IsCompleted, "the stream ended early");
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
