using Broadcast.TestSupport;
using Broadcast.Ingest.Rtmp;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>Component tests: a real RtmpServer on 127.0.0.1, raw sockets as clients.</summary>
public class RtmpServerTests
{
    private const int ProtocolErrorEvent = 1004;
    private const int BadNameEvent = 1006;

    [Fact]
    public async Task Publisher_completes_the_publish_flow_and_the_stream_goes_live()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        var status = await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(status));

        var stream = host.Registry.Find("news");
        Assert.NotNull(stream);
        Assert.Equal("channel-1", stream!.Tag);
        var info = Assert.Single(host.Connections.Snapshot());
        Assert.Equal(RtmpConnectionState.Publishing, info.State);
        Assert.Equal("live", info.App);
        Assert.Equal("news", info.StreamName);
        Assert.True(info.BytesIn > HandshakeResponder.ClientHelloLength);

        await client.SendCommandAsync("FCUnpublish", null, 0, TestPublishAuthorizer.GoodKey);
        await client.SendCommandAsync("deleteStream", null, 0, 1.0);
        var unpublished = await client.WaitForCommandAsync(c => c.Name == "onStatus");
        Assert.Equal(RtmpStatusCodes.UnpublishSuccess, RtmpTestClient.StatusCode(unpublished));
        Assert.True(stream.IsCompleted);
        Assert.Null(host.Registry.Find("news"));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count == 1));
        // The key is a secret: no log line may contain it.
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("/" + TestPublishAuthorizer.GoodKey, StringComparison.Ordinal) || e.Message.Contains(" good ", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("6", 2.0)]
    [InlineData("1", 0.0)]
    public async Task The_connect_result_advertises_the_enhanced_rtmp_codecs_and_capabilities_ingest_has(string maxVideoTracks, double capsEx)
    {
        await using var host = await RtmpTestHost.StartAsync(new Dictionary<string, string?> { ["Rtmp:MaxVideoTracks"] = maxVideoTracks });
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        // An Enhanced RTMP v2 client (OBS 30 with multitrack video) says what it can send.
        await client.SendCommandAsync("connect", new AmfObject
        {
            ["app"] = "live", ["tcUrl"] = "rtmp://127.0.0.1/live", ["fourCcList"] = new List<object?> { "av01", "vp09", "hvc1", "avc1" },
            ["videoFourCcInfoMap"] = new AmfObject { ["*"] = 4.0 }, ["capsEx"] = 2.0,
        });
        var result = await client.WaitForCommandAsync(c => c.Name is "_result" or "_error");
        Assert.Equal(RtmpStatusCodes.ConnectSuccess, RtmpTestClient.StatusCode(result));

        var properties = Assert.IsType<AmfObject>(result.CommandObject);
        Assert.Equal(new object?[] { "avc1", "hvc1", "av01", "mp4a" }, Assert.IsAssignableFrom<IReadOnlyList<object?>>(properties["fourCcList"]));
        var video = Assert.IsType<AmfObject>(properties["videoFourCcInfoMap"]);
        Assert.Equal(new[] { "av01", "avc1", "hvc1" }, video.Keys.Order(StringComparer.Ordinal));
        Assert.All(video.Values, v => Assert.Equal((object)4.0, v)); // CanForward
        var audio = Assert.IsType<AmfObject>(properties["audioFourCcInfoMap"]);
        Assert.Equal((object)4.0, Assert.Single(audio, p => p.Key == "mp4a").Value);
        Assert.Equal((object)capsEx, properties["capsEx"]); // Multitrack alone: no reconnect request, ModEx or nanosecond offsets
    }

    [Fact]
    public async Task Plain_connections_are_read_by_the_receive_loops_the_settings_ask_for()
    {
        if (!OperatingSystem.IsLinux()) return;
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:ReceiveThreads"] = "2" });
        var loops = host.Server.ReceiveLoops;
        Assert.NotNull(loops);
        Assert.Equal(2, loops!.Count);
        Assert.Single(host.Logs.Entries, e => e.EventId == 1056 && e.Message.Contains("on 2 receive loops", StringComparison.Ordinal));
        var clients = new List<RtmpTestClient>();
        for (int i = 0; i < 3; i++)
        {
            var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
            await client.HandshakeAsync();
            clients.Add(client);
        }
        Assert.Equal(3, loops.Sockets);
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await clients[0].PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        foreach (var client in clients) await client.DisposeAsync();
        // Each connection's end leaves its loop: nothing stays registered behind a closed socket.
        Assert.True(await RtmpTestHost.EventuallyAsync(() => loops.Sockets == 0), $"{loops.Sockets} sockets still registered");
    }

    [Theory]
    [InlineData(HandshakeDigestScheme.Offset8)]
    [InlineData(HandshakeDigestScheme.Offset772)]
    public async Task Digest_handshake_gets_a_signed_S1_and_S2(HandshakeDigestScheme scheme)
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        var (s1, s2, c1) = await client.HandshakeAsync(scheme);
        int clientOffset = HandshakeDigest.GetDigestOffset(c1, scheme);
        Assert.True(HandshakeDigest.VerifyResponse(s2, c1.AsSpan(clientOffset, 32), HandshakeDigest.ServerKey));
        int s1Offset = HandshakeDigest.GetDigestOffset(s1, scheme);
        var digest = new byte[32];
        HandshakeDigest.Compute(s1, s1Offset, HandshakeDigest.ServerKey[..HandshakeDigest.ServerKeyTextLength], digest);
        Assert.Equal(digest, s1.AsSpan(s1Offset, 32).ToArray());
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await client.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
    }

    [Fact]
    public async Task Wrong_key_gets_BadName_and_is_closed()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        var status = await client.PublishAsync("live", "wrong-secret");
        Assert.Equal(RtmpStatusCodes.PublishBadName, RtmpTestClient.StatusCode(status));
        var info = Assert.IsType<AmfObject>(status.Arguments[0]);
        Assert.Equal("error", info["level"]);
        Assert.Equal("unknown stream key", info["description"]);
        Assert.True(await client.WaitClosedByServerAsync());
        Assert.Single(host.Logs.Entries, e => e.EventId == BadNameEvent);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Message.Contains("wrong-secret", StringComparison.Ordinal));
        Assert.Empty(host.Registry.Active);
    }

    [Fact]
    public async Task Second_publisher_of_a_live_stream_gets_BadName()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var first = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await first.HandshakeAsync();
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await first.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        // The first encoder keeps sending (its frames reach the hub every 50 ms): a second one with the key is refused.
        using var sending = new CancellationTokenSource();
        var frames = KeepWritingAsync(host.Registry.Find("news")!, sending.Token);

        await using var second = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await second.HandshakeAsync();
        var status = await second.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        Assert.Equal(RtmpStatusCodes.PublishBadName, RtmpTestClient.StatusCode(status));
        Assert.Equal("already publishing: another encoder is sending to this key", ((AmfObject)status.Arguments[0]!)["description"]);
        Assert.True(await second.WaitClosedByServerAsync());
        Assert.False(host.Registry.Find("news")!.IsCompleted); // the first publisher is untouched
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1054);
        await sending.CancelAsync();
        await frames;
    }

    [Fact]
    public async Task A_new_publisher_takes_over_a_connected_one_that_went_silent_and_the_broadcast_continues()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:TakeoverSilenceMilliseconds"] = "400" });
        await using var first = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await first.HandshakeAsync();
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await first.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        var stream = host.Registry.Find("news")!;
        // The first encoder's path dies with its connection left open (a network change): nothing arrives any more.
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.SilentFor > TimeSpan.FromMilliseconds(450)));

        await using var second = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await second.HandshakeAsync();
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await second.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        Assert.True(await first.WaitClosedByServerAsync());
        // The same broadcast, now the second connection's: not ended, not waiting for a reconnect, its authorizer not told.
        Assert.Same(stream, host.Registry.Find("news"));
        Assert.False(stream.IsCompleted);
        Assert.False(stream.IsReconnecting);
        Assert.Equal(1, stream.Epoch);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == 1053)));
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1052);
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId is 1014 or 1015);
        Assert.Empty(host.Authorizer.Unpublished);

        // The new publisher owns it: its own drop is a drop of the broadcast as usual.
        await second.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting));
    }

    private static async Task KeepWritingAsync(Broadcast.Media.LiveStream stream, CancellationToken cancellationToken)
    {
        var track = new Broadcast.Media.VideoTrack(Broadcast.Media.Codec.H264, new byte[] { 1, 0x64, 0, 0x1F }, "avc1.64001f", 320, 240);
        for (long dts = 0; !cancellationToken.IsCancellationRequested; dts += 4500)
        {
            stream.Write(Broadcast.Media.MediaFrame.Rent(track, dts, 0, dts == 0, new byte[] { 1, 2, 3 }));
            try { await Task.Delay(50, cancellationToken); } catch (OperationCanceledException) { }
        }
    }

    [Fact]
    public async Task Disconnect_ends_the_publish()
    {
        // Without a reconnect grace a dropped connection ends the publish at once.
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "0" });
        var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;
        await client.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsCompleted && host.Registry.Find("news") is null && host.Connections.Count == 0));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count == 1));
    }

    [Fact]
    public async Task Disconnect_with_a_grace_keeps_the_stream_waiting_for_the_encoder()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "30" });
        var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;
        await client.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting && host.Connections.Count == 0));
        Assert.False(stream.IsCompleted);
        Assert.Same(stream, host.Registry.Find("news"));

        // The same key again: the same stream goes on.
        await using var again = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await again.HandshakeAsync();
        await again.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => !stream.IsReconnecting && stream.Epoch == 1));
        Assert.Same(stream, host.Registry.Find("news"));
    }

    [Fact]
    public async Task Acknowledgement_follows_the_clients_window()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.SendMessageAsync(2, RtmpMessageType.WindowAcknowledgementSize, 0, 0, Hex.Bytes("00001000"));
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        await client.SendMessageAsync(3, RtmpMessageType.DataAmf0, 0, 1, Hex.Written(w =>
        {
            Amf0Writer.WriteString(w, "@setDataFrame");
            Amf0Writer.WriteString(w, "onMetaData");
            Amf0Writer.WriteEcmaArray(w, new AmfEcmaArray { ["pad"] = new string('x', 5000) });
        }));
        RtmpTestClient.Message ack;
        do ack = await client.ReadMessageAsync(); while (ack.TypeId != RtmpMessageType.Acknowledgement);
        Assert.True(Acknowledgement.TryRead(ack.Payload, out var value, out _));
        Assert.True(value.SequenceNumber >= 4096);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news")!.Metadata.ContainsKey("pad")));
    }

    private static byte[] Chunk(string hex) => Hex.Bytes(hex);

    /// <summary>Each case: what a bad client sends after its handshake (or instead of it) and the reason logged.</summary>
    public static TheoryData<string, bool, string, string> BadInput => new()
    {
        { "garbage instead of a handshake", false, Convert.ToHexString("GET / HTTP/1.1\r\n\r\n"u8), "unsupported RTMP version byte 0x47" },
        { "chunk size 0", true, "02 000000 000004 01 00000000 00000000", "InvalidChunkSize" },
        { "chunk stream never opened", true, "47 000000 000010 14", "ChunkStreamNotOpened" },
        { "message above the size limit", true, "03 000000 100000 09 01000000", "MessageTooLarge" },
        { "malformed AMF in a command", true, "03 000000 000005 14 00000000 02 00FF 6162", "malformed AMF in command message: Truncated" },
        { "video before connect", true, "04 000000 000002 09 01000000 1700", "video message (type 9) before connect" },
        { "data before connect", true, "03 000000 000001 12 00000000 05", "data message (type 18) before connect" },
        { "acknowledgement, then an unassigned type before connect", true, "02 000000 000004 03 00000000 00000010 03 000000 000002 07 00000000 0000", "unknown message (type 7) before connect" },
        { "control message longer than any real one", true, "02 000000 000100 05 00000000", "ControlMessageTooLarge" },
        { "truncated chunk, then end of stream", true, "03 000000 000040 14 00000000 0200", "connection ended inside a chunk" },
        { "command before connect", true, "03 000000 000018 14 00000000 02 000C 63726561746553747265616D 00 4000000000000000", "command createStream before connect" },
    };

    [Theory]
    [MemberData(nameof(BadInput))]
    public async Task Bad_input_closes_only_that_connection_with_one_logged_reason(string name, bool handshake, string hex, string reason)
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:MaxMessageSize"] = "65536" });
        await using var healthy = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await healthy.HandshakeAsync();

        await using var bad = await RtmpTestClient.ConnectAsync(host.EndPoint);
        if (handshake) await bad.HandshakeAsync();
        await bad.SendRawAsync(Chunk(hex));
        if (reason.StartsWith("connection ended", StringComparison.Ordinal)) bad.ShutdownSend();

        // The healthy client completes its publish on the same server meanwhile.
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await healthy.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
        Assert.True(await bad.WaitClosedByServerAsync(), name);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == ProtocolErrorEvent)));
        var entry = Assert.Single(host.Logs.Entries, e => e.EventId == ProtocolErrorEvent);
        Assert.Contains(reason, entry.Message);
        Assert.Equal(LogLevel.Warning, entry.Level);
        Assert.DoesNotContain(host.Logs.Entries, e => e.Level >= LogLevel.Error);

        // Still healthy and still publishing.
        await healthy.SendCommandAsync("createStream", null);
        await healthy.WaitForCommandAsync(c => c.Name == "_result");
        // The closed connection leaves the dashboard list just after its socket closes.
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 1));
        Assert.Equal(RtmpConnectionState.Publishing, Assert.Single(host.Connections.Snapshot()).State);
    }

    [Fact]
    public async Task A_broadcast_ended_by_the_server_closes_its_publisher_once()
    {
        await using var host = await RtmpTestHost.StartAsync();
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        await client.PublishAsync("live", TestPublishAuthorizer.GoodKey);
        var stream = host.Registry.Find("news")!;
        int unpublishedEvents = 0;
        host.Registry.Unpublished += _ => Interlocked.Increment(ref unpublishedEvents);

        // What a scheduled event's end does: the stream is ended from outside the connection.
        host.Registry.EndPublish(stream);

        Assert.True(await client.WaitClosedByServerAsync());
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Connections.Count == 0));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == 1013 && e.Message.Contains("ended the broadcast of news"))));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Authorizer.Unpublished.Count == 1));
        Assert.Equal(1, Volatile.Read(ref unpublishedEvents));
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId == ProtocolErrorEvent);
    }

    [Fact]
    public async Task Silent_client_is_closed_after_the_handshake_timeout()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:HandshakeTimeoutSeconds"] = "1" });
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.SendRawAsync([3, 0, 0]);
        Assert.True(await client.WaitClosedByServerAsync());
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == ProtocolErrorEvent && e.Message.Contains("handshake not completed"))));
    }

    [Fact]
    public async Task Idle_client_is_closed_after_the_idle_timeout()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:IdleTimeoutSeconds"] = "1" });
        await using var client = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await client.HandshakeAsync();
        Assert.True(await client.WaitClosedByServerAsync());
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == ProtocolErrorEvent && e.Message.Contains("idle for 1 s"))));
    }

    [Fact]
    public async Task Connections_beyond_the_limit_are_refused()
    {
        await using var host = await RtmpTestHost.StartAsync(new() { ["Rtmp:MaxConnections"] = "1" });
        await using var first = await RtmpTestClient.ConnectAsync(host.EndPoint);
        await first.HandshakeAsync();
        await using var second = await RtmpTestClient.ConnectAsync(host.EndPoint);
        Assert.True(await second.WaitClosedByServerAsync());
        Assert.Contains(host.Logs.Entries, e => e.EventId == 1002);
        Assert.Equal(RtmpStatusCodes.PublishStart, RtmpTestClient.StatusCode(await first.PublishAsync("live", TestPublishAuthorizer.GoodKey)));
    }
}
