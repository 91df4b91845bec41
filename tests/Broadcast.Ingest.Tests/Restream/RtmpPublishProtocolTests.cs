using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Ingest.Tests.Rtmp;

namespace Broadcast.Ingest.Tests.Restream;

/// <summary>The publishing client's conversation, byte for byte, against scripted server messages.</summary>
public class RtmpPublishProtocolTests
{
    private static readonly RtmpPublishTarget Target = new(false, "example.com", 1935, "live", "secret-key");

    [Fact]
    public void Start_sends_set_chunk_size_then_connect()
    {
        var protocol = new RtmpPublishProtocol(Target);
        var bytes = Hex.Written(protocol.Start);
        var expected = Hex.Bytes(
            // Set Chunk Size 4096 on chunk stream 2: fmt 0, ts 0, length 4, type 1, message stream 0 (little endian)
            "02 000000 000004 01 00000000 00001000" +
            // connect on chunk stream 3, 132 bytes, type 20 (AMF0 command)
            "03 000000 000084 14 00000000" +
            "02 0007 636F6E6E656374 00 3FF0000000000000 03" +
            "0003 617070 02 0004 6C697665" +
            "0004 74797065 02 000A 6E6F6E70726976617465" +
            "0008 666C617368566572 02 0020 464D4C452F332E302028636F6D70617469626C653B2042726F61646361737429" +
            "0005 746355726C 02 0017 72746D703A2F2F6578616D706C652E636F6D2F6C697665" +
            "0000 09");
        Assert.Equal(Convert.ToHexString(expected), Convert.ToHexString(bytes));
        Assert.Equal(RtmpPublishPhase.Connecting, protocol.Phase);
    }

    [Fact]
    public void Full_publish_flow_reaches_live_and_names_the_key_only_in_publish_commands()
    {
        var protocol = new RtmpPublishProtocol(Target);
        protocol.Start(new ArrayBufferWriter<byte>());

        var afterConnect = Commands(Hex.Written(w => protocol.Handle(Message(RtmpReplies.ConnectResult(1, 0, new RtmpOptions())), w)));
        Assert.Equal(RtmpPublishPhase.CreatingStream, protocol.Phase);
        Assert.Equal(["releaseStream", "FCPublish", "createStream"], afterConnect.Select(c => c.Command.Name));
        Assert.Equal([2.0, 3.0, 4.0], afterConnect.Select(c => c.Command.TransactionId));
        Assert.Equal("secret-key", afterConnect[0].Command.FirstStringArgument);
        Assert.Equal("secret-key", afterConnect[1].Command.FirstStringArgument);

        var afterCreate = Commands(Hex.Written(w => protocol.Handle(Message(RtmpReplies.Result(4, 7.0)), w)));
        var publish = Assert.Single(afterCreate);
        Assert.Equal("publish", publish.Command.Name);
        Assert.Equal(7u, publish.MessageStreamId);
        Assert.Equal(["secret-key", "live"], publish.Command.Arguments);
        Assert.Equal(RtmpPublishPhase.Publishing, protocol.Phase);

        var afterStart = Hex.Written(w => protocol.Handle(Message(RtmpReplies.OnStatus("status", RtmpStatusCodes.PublishStart, "ok"), streamId: 7), w));
        Assert.Empty(afterStart);
        Assert.Equal(RtmpPublishPhase.Live, protocol.Phase);
        Assert.Equal(7u, protocol.StreamId);

        // Media goes on message stream 7: audio on chunk stream 4, video on 6.
        var video = Hex.Written(w => protocol.WriteVideo(w, 0x010203, [0x17, 0x01]));
        Assert.Equal("06 010203 000002 09 07000000 1701".Replace(" ", ""), Convert.ToHexString(video));
        var audio = Hex.Written(w => protocol.WriteAudio(w, 0x01020304, [0xAF, 0x01]));
        Assert.Equal("04 FFFFFF 000002 08 07000000 01020304 AF01".Replace(" ", ""), Convert.ToHexString(audio)); // extended timestamp
    }

    [Fact]
    public void BadName_fails_with_the_servers_description()
    {
        var protocol = Connected();
        protocol.Handle(Message(RtmpReplies.OnStatus("error", RtmpStatusCodes.PublishBadName, "unknown stream key"), streamId: 1), new ArrayBufferWriter<byte>());
        Assert.Equal(RtmpPublishPhase.Failed, protocol.Phase);
        Assert.Equal("NetStream.Publish.BadName: unknown stream key", protocol.Error);
    }

    [Fact]
    public void Connect_error_fails_with_the_servers_description()
    {
        var protocol = new RtmpPublishProtocol(Target);
        protocol.Start(new ArrayBufferWriter<byte>());
        protocol.Handle(Message(RtmpReplies.Error(1, RtmpStatusCodes.ConnectRejected, "app not found")), new ArrayBufferWriter<byte>());
        Assert.Equal(RtmpPublishPhase.Failed, protocol.Phase);
        Assert.Equal("NetConnection.Connect.Rejected: app not found", protocol.Error);
    }

    [Fact]
    public void ReleaseStream_error_is_harmless()
    {
        var protocol = new RtmpPublishProtocol(Target);
        protocol.Start(new ArrayBufferWriter<byte>());
        protocol.Handle(Message(RtmpReplies.ConnectResult(1, 0, new RtmpOptions())), new ArrayBufferWriter<byte>());
        protocol.Handle(Message(RtmpReplies.Error(2, "NetConnection.Call.Failed", "no such stream")), new ArrayBufferWriter<byte>());
        Assert.Equal(RtmpPublishPhase.CreatingStream, protocol.Phase);
    }

    [Fact]
    public void Ping_request_gets_a_ping_response()
    {
        var protocol = Connected();
        var ping = Hex.Written(new UserControlMessage(UserControlEventType.PingRequest, 0xCAFE).Write);
        var bytes = Hex.Written(w => protocol.Handle(new RtmpMessage(2, RtmpMessageType.UserControl, 0, 0, ping), w));
        Assert.Equal("02 000000 000006 04 00000000 0007 0000CAFE".Replace(" ", ""), Convert.ToHexString(bytes));
    }

    [Fact]
    public void Acknowledges_once_per_window()
    {
        var protocol = Connected();
        var window = Hex.Written(new WindowAcknowledgementSize(1000).Write);
        protocol.Handle(new RtmpMessage(2, RtmpMessageType.WindowAcknowledgementSize, 0, 0, window), new ArrayBufferWriter<byte>());
        Assert.Empty(Hex.Written(w => protocol.OnBytesReceived(999, w)));
        Assert.Equal("02 000000 000004 03 00000000 000003E9".Replace(" ", ""), Convert.ToHexString(Hex.Written(w => protocol.OnBytesReceived(2, w))));
        Assert.Empty(Hex.Written(w => protocol.OnBytesReceived(500, w)));
    }

    [Theory]
    [InlineData("0A 00")] // AMF string marker with a truncated length
    [InlineData("05")]    // null where the command name should be
    public void Malformed_command_from_the_server_fails_the_publish(string hex)
    {
        var protocol = Connected();
        protocol.Handle(new RtmpMessage(3, RtmpMessageType.CommandAmf0, 0, 0, Hex.Bytes(hex)), new ArrayBufferWriter<byte>());
        Assert.Equal(RtmpPublishPhase.Failed, protocol.Phase);
        Assert.StartsWith("malformed AMF", protocol.Error);
    }

    [Fact]
    public void CreateStream_result_without_an_id_fails()
    {
        var protocol = new RtmpPublishProtocol(Target);
        protocol.Start(new ArrayBufferWriter<byte>());
        protocol.Handle(Message(RtmpReplies.ConnectResult(1, 0, new RtmpOptions())), new ArrayBufferWriter<byte>());
        protocol.Handle(Message(RtmpReplies.Result(4, "nope")), new ArrayBufferWriter<byte>());
        Assert.Equal(RtmpPublishPhase.Failed, protocol.Phase);
    }

    private static RtmpPublishProtocol Connected()
    {
        var protocol = new RtmpPublishProtocol(Target);
        var sink = new ArrayBufferWriter<byte>();
        protocol.Start(sink);
        protocol.Handle(Message(RtmpReplies.ConnectResult(1, 0, new RtmpOptions())), sink);
        protocol.Handle(Message(RtmpReplies.Result(4, 1.0)), sink);
        return protocol;
    }

    private static RtmpMessage Message(RtmpCommand command, uint streamId = 0) =>
        new(3, RtmpMessageType.CommandAmf0, 0, streamId, Hex.Written(command.Write));

    /// <summary>Our output read back with the server's chunk reader (chunk size 4096 announced by Start).</summary>
    private static List<(RtmpCommand Command, uint MessageStreamId)> Commands(byte[] bytes)
    {
        using var reader = new ChunkStreamReader();
        var prefix = Hex.Bytes("02 000000 000004 01 00000000 00001000");
        var sequence = new ReadOnlySequence<byte>([.. prefix, .. bytes]);
        var commands = new List<(RtmpCommand, uint)>();
        while (reader.TryRead(ref sequence, out var message) == ChunkReadStatus.Message)
        {
            if (message.TypeId != RtmpMessageType.CommandAmf0) continue;
            Assert.True(RtmpCommand.TryRead(message.Payload.Span, false, out var command, out _, out var error), error.ToString());
            commands.Add((command!, message.MessageStreamId));
        }
        Assert.Equal(0, sequence.Length);
        return commands;
    }
}
