using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Tests.Fuzzing;
using Broadcast.Media;
using Broadcast.TestSupport.Fuzzing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>
/// Hostile clients against a real RtmpServer on loopback: per-IP connection and handshake limits, slowloris,
/// clients that never finish, stream-key guessing (garbage next to a real ffmpeg publisher: <see cref="RtmpGarbageBesideFfmpegTests"/>).
/// A second source address is 127.0.0.2 (Linux routes all of 127.0.0.0/8 to loopback).
/// </summary>
public sealed class RtmpLimitsTests(ITestOutputHelper output)
{
    private const int TooManyFromAddressEvent = 1040;
    private const int HandshakeRateEvent = 1041;
    private const int ProtocolErrorEvent = 1004;
    private const int SlowClientEvent = 1042;
    private const int StalledPeerResetEvent = 1058;
    private const int AddressBlockedEvent = 1043;
    private const int PublishBlockedEvent = 1044;
    private static readonly IPAddress SecondAddress = IPAddress.Parse("127.0.0.2");

    /// <summary><paramref name="count"/> Ping Requests (RTMP 7.1.7): chunk stream 2, type 4, stream 0, event 6 with a 4-byte value.</summary>
    private static byte[] PingRequests(int count)
    {
        byte[] ping = [0x02, 0, 0, 0, 0, 0, 6, RtmpMessageType.UserControl, 0, 0, 0, 0, 0, 6, 0, 0, 0, 1];
        return Enumerable.Repeat(ping, count).SelectMany(b => b).ToArray();
    }

    private void DumpLog(RtmpTestHost host)
    {
        foreach (var entry in host.Logs.Entries.TakeLast(40)) output.WriteLine($"{entry.EventId} {entry.Level}: {entry.Message}");
    }

    [Fact]
    public async Task Per_ip_connection_limit_refuses_the_next_connection_and_not_other_addresses()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:MaxConnectionsPerIp"] = "3" });
        try
        {
            var open = new List<RtmpTestClient>();
            for (int i = 0; i < 3; i++)
            {
                var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
                await client.HandshakeAsync();
                open.Add(client);
            }
            await using var fourth = await RtmpTestClient.ConnectAsync(host.EndPoint);
            Assert.True(await fourth.WaitClosedByServerAsync());
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == TooManyFromAddressEvent)));
            Assert.Contains(host.Logs.Entries, e => e.EventId == TooManyFromAddressEvent && e.Message.Contains("127.0.0.1") && e.Message.Contains("3 connections"));
            Assert.Equal(1, host.Server.Limits.ConnectionsRefusedPerIp);

            // Another address is not affected, and a closed connection frees its slot.
            await using var other = await RtmpTestClient.ConnectAsync(host.EndPoint, SecondAddress);
            await other.HandshakeAsync();
            await open[0].DisposeAsync();
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 3));
            await using var again = await RtmpTestClient.ConnectAsync(host.EndPoint);
            await again.HandshakeAsync();
            Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await again.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
            foreach (var client in open.Skip(1)) await client.DisposeAsync();
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Handshake_rate_limit_refuses_a_burst_beyond_the_bucket()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:HandshakesPerSecondPerIp"] = "0.5", ["Rtmp:HandshakeBurstPerIp"] = "3" });
        try
        {
            var clients = new List<RtmpTestClient>();
            for (int i = 0; i < 3; i++)
            {
                var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
                await client.HandshakeAsync();
                clients.Add(client);
            }
            await using var refused = await RtmpTestClient.ConnectAsync(host.EndPoint);
            Assert.True(await refused.WaitClosedByServerAsync());
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == HandshakeRateEvent && e.Message.Contains("127.0.0.1"))));
            Assert.Equal(1, host.Server.Limits.HandshakesRateLimited);
            await using var other = await RtmpTestClient.ConnectAsync(host.EndPoint, SecondAddress);
            await other.HandshakeAsync();
            foreach (var client in clients) await client.DisposeAsync();
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Slowloris_sending_one_byte_per_second_is_closed()
    {
        await using var host = await RtmpTestHost.StartAsync(new()
        {
            ["Rtmp:HandshakeTimeoutSeconds"] = "60", // the rate limit must be what closes it, not the handshake timeout
            ["Rtmp:MinBytesPerSecondBeforePublish"] = "64",
            ["Rtmp:SlowClientGraceSeconds"] = "2",
        });
        try
        {
            await using var slow = await RtmpTestClient.ConnectAsync(host.EndPoint);
            var clock = Stopwatch.StartNew();
            bool closed = false;
            // The client under test trickles: one byte a second (C0 first, then C1 bytes), at most 30.
            for (int i = 0; i < 30 && !closed; i++)
            {
                try
                {
                    await slow.SendRawAsync([i == 0 ? HandshakeC0.Rtmp : (byte)i]);
                }
                catch (IOException)
                {
                    closed = true;
                    break;
                }
                closed = host.Logs.Entries.Any(e => e.EventId == SlowClientEvent);
                if (!closed) await Task.Delay(TimeSpan.FromSeconds(1));
            }
            Assert.True(await slow.WaitClosedByServerAsync());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"closed after {clock.Elapsed}");
            var entry = Assert.Single(host.Logs.Entries, e => e.EventId == SlowClientEvent);
            Assert.Contains("bytes/s", entry.Message);
            Assert.Equal(LogLevel.Warning, entry.Level);
            Assert.Equal(1, host.Server.Limits.SlowClientsClosed);
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Client_that_never_completes_the_handshake_is_closed()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:HandshakeTimeoutSeconds"] = "2", ["Rtmp:MinBytesPerSecondBeforePublish"] = "0" });
        try
        {
            await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
            await client.SendRawAsync([HandshakeC0.Rtmp, .. new byte[HandshakePacket.Length]]); // C0C1, never C2
            Assert.True(await client.WaitClosedByServerAsync());
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.Message.Contains("handshake not completed within 2 s"))));
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Server.Limits.SlowClientsClosed == 1));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Client_that_never_reads_the_replies_it_asks_for_is_cut_off_and_others_keep_working()
    {
        // A peer that floods requests for replies (Ping Request, RTMP 7.1.7) and never reads them fills both socket
        // buffers. The receive loop that parses it serves other publishers too, so its replies never block: the first
        // that finds the send buffer full closes the connection as a slow client's. On a loaded machine the flood can
        // stall first instead: the peer's 4 KB receive buffer drops the server's segments, and with them the
        // acknowledgements they carry, so the peer's own sending waits while the server's send buffer still has room.
        // The server then sees silence and ends the connection at the idle timeout. Either way the connection ends with
        // a reset, since its socket holds replies the peer never took (a FIN would wait behind them, and the peer's
        // write with it), and the loop goes on serving others. (RTMPS, and RTMP off Linux, read on a thread per
        // connection, whose blocked write ends at the send timeout.)
        if (!OperatingSystem.IsLinux()) return;
        await using var host = await RtmpTestHost.StartAsync(new()
        {
            ["Rtmp:IdleTimeoutSeconds"] = "5",
            ["Rtmp:PublishTimeoutSeconds"] = "120",
            ["Rtmp:MinBytesPerSecondBeforePublish"] = "0",
        });
        try
        {
            await using var hostile = await RtmpTestClient.ConnectAsync(host.EndPoint);
            await hostile.HandshakeAsync();
            hostile.Socket.ReceiveBufferSize = 4096;
            byte[] batch = PingRequests(10_000);
            var flooding = Stopwatch.StartNew();
            bool reset = false;
            while (!reset && flooding.Elapsed < TimeSpan.FromSeconds(60))
            {
                // Each write may wait while the loaded machine's loop catches up; the server's cut-off resets the next.
                try
                {
                    await hostile.SendRawAsync(batch).WaitAsync(TimeSpan.FromSeconds(30));
                }
                catch (IOException)
                {
                    reset = true;
                }
                catch (TimeoutException)
                {
                    Assert.Fail($"a write of the flood waited 30 s; receive loops: {host.Server.ReceiveLoops?.Describe()}");
                }
            }
            Assert.True(reset, "the server kept serving a peer that never read its replies");

            // The loop goes on serving another publisher as usual.
            await using (var healthy = await RtmpTestClient.ConnectAsync(host.EndPoint))
            {
                await healthy.HandshakeAsync();
                Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await healthy.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
            }

            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Server.Connections.Count == 0, timeoutSeconds: 30),
                $"{host.Server.Connections.Count} connection(s) still open");
            // Closed as a slow client (counted and logged as one), or at the idle timeout.
            Assert.Contains(host.Logs.Entries, e => e.ConnectionId == 1
                && ((e.EventId == SlowClientEvent && e.Message.Contains("does not read what the server sends", StringComparison.Ordinal))
                    || (e.EventId == ProtocolErrorEvent && e.Message.Contains("idle for 5 s", StringComparison.Ordinal))));
            Assert.Contains(host.Logs.Entries, e => e.ConnectionId == 1 && e.EventId == StalledPeerResetEvent);
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Peer_that_stops_reading_and_sending_is_reset_when_its_connection_ends()
    {
        // The peer asks for more replies than its 4 KB receive buffer takes, then falls silent. Whether the server's
        // send buffer fills (a slow client) or the idle timeout comes first, the server's socket still holds replies the
        // peer never took: it closes with a reset, so it neither lingers behind them nor leaves the peer waiting for a
        // FIN that would come only after them.
        if (!OperatingSystem.IsLinux()) return;
        await using var host = await RtmpTestHost.StartAsync(new()
        {
            ["Rtmp:IdleTimeoutSeconds"] = "2",
            ["Rtmp:MinBytesPerSecondBeforePublish"] = "0",
        });
        try
        {
            await using var peer = await RtmpTestClient.ConnectAsync(host.EndPoint, null, receiveBufferSize: 4096);
            await peer.HandshakeAsync();
            await peer.SendRawAsync(PingRequests(4_000)).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.ConnectionId == 1 && e.EventId == StalledPeerResetEvent),
                timeoutSeconds: 30), "no reset logged");
            Assert.Contains(host.Logs.Entries, e => e.ConnectionId == 1 && e.EventId is SlowClientEvent or ProtocolErrorEvent);
            // Reading now, the peer gets what reached its buffer, then the reset instead of the rest and a FIN.
            var error = await Assert.ThrowsAsync<SocketException>(async () =>
            {
                var buffer = new byte[64 * 1024];
                while (await peer.Socket.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(30)) > 0)
                {
                }
            });
            Assert.Equal(SocketError.ConnectionReset, error.SocketErrorCode);
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Client_that_connects_but_never_publishes_is_closed_at_the_publish_timeout()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:PublishTimeoutSeconds"] = "3", ["Rtmp:MinBytesPerSecondBeforePublish"] = "0" });
        try
        {
            await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
            await client.HandshakeAsync();
            await client.SendCommandAsync("connect", new AmfObject { ["app"] = "live" });
            await client.WaitForCommandAsync(c => c.Name == "_result");
            Assert.True(await client.WaitClosedByServerAsync());
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == SlowClientEvent && e.Message.Contains("not publishing within 3 s"))));
        }
        finally
        {
            DumpLog(host);
        }
    }

    [Fact]
    public async Task Repeated_bad_keys_block_the_address_for_a_cool_down_but_not_other_addresses()
    {
        await using var host = await RtmpTestHost.StartAsync(new()
        {
            ["Rtmp:MaxFailedPublishesPerIp"] = "3",
            ["Rtmp:FailedPublishWindowSeconds"] = "60",
            ["Rtmp:FailedPublishBlockSeconds"] = "60",
        });
        try
        {
            for (int i = 0; i < 3; i++)
            {
                await using var guesser = await RtmpTestClient.ConnectAsync(host.EndPoint);
                await guesser.HandshakeAsync();
                var status = await guesser.PublishAsync("live", $"guess-{i}-secret");
                Assert.Equal(RtmpStatusCodes.PublishBadName, RtmpTestClient.StatusCode(status));
            }
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == AddressBlockedEvent)));
            var blocked = Assert.Single(host.Logs.Entries, e => e.EventId == AddressBlockedEvent);
            Assert.Contains("127.0.0.1", blocked.Message);
            Assert.Contains("3 refused stream keys", blocked.Message);

            // The right key from the same address is refused during the cool-down...
            await using (var owner = await RtmpTestClient.ConnectAsync(host.EndPoint))
            {
                await owner.HandshakeAsync();
                var refused = await owner.PublishAsync("live", TestPublishAuthorizer.GoodKey);
                Assert.Equal(RtmpStatusCodes.PublishBadName, RtmpTestClient.StatusCode(refused));
                Assert.True(await owner.WaitClosedByServerAsync());
            }
            Assert.Contains(host.Logs.Entries, e => e.EventId == PublishBlockedEvent && e.Message.Contains("127.0.0.1"));
            Assert.Null(host.Registry.Find("news"));

            // ...while another address publishes with it.
            await using var elsewhere = await RtmpTestClient.ConnectAsync(host.EndPoint, SecondAddress);
            await elsewhere.HandshakeAsync();
            Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await elsewhere.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
            Assert.NotNull(host.Registry.Find("news"));

            Assert.Equal(3, host.Server.Limits.FailedPublishes);
            Assert.Equal(1, host.Server.Limits.BlockedPublishes);
            // Keys are secrets, the guessed ones too: no log line names one.
            Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("secret", StringComparison.Ordinal) || e.Message.Contains("/" + TestPublishAuthorizer.GoodKey, StringComparison.Ordinal));
        }
        finally
        {
            DumpLog(host);
        }
    }

}
