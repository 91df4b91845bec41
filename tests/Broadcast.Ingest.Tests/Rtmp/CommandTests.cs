using Broadcast.TestSupport;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

public class CommandTests
{
    public static TheoryData<string, RtmpCommand, string> Cases => new()
    {
        {
            "connect",
            new RtmpCommand("connect", 1, new AmfObject { ["app"] = "live", ["type"] = "nonprivate" }, []),
            "02 0007 636F6E6E656374 00 3FF0000000000000 03 0003 617070 02 0004 6C697665 0004 74797065 02 000A 6E6F6E70726976617465 0000 09"
        },
        {
            "createStream",
            new RtmpCommand("createStream", 4, null, []),
            "02 000C 63726561746553747265616D 00 4010000000000000 05"
        },
        {
            "publish",
            new RtmpCommand("publish", 5, null, ["key", "live"]),
            "02 0007 7075626C697368 00 4014000000000000 05 02 0003 6B6579 02 0004 6C697665"
        },
        {
            "createStream _result",
            RtmpReplies.Result(4, 1.0),
            "02 0007 5F726573756C74 00 4010000000000000 05 00 3FF0000000000000"
        },
        {
            "onStatus BadName",
            RtmpReplies.OnStatus("error", RtmpStatusCodes.PublishBadName, "no"),
            "02 0008 6F6E537461747573 00 0000000000000000 05 03" +
            "0005 6C6576656C 02 0005 6572726F72" +
            "0004 636F6465 02 0019 4E657453747265616D2E5075626C6973682E4261644E616D65" +
            "000B 6465736372697074696F6E 02 0002 6E6F 0000 09"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, RtmpCommand command, string hex)
    {
        var bytes = Hex.Bytes(hex);
        foreach (bool amf3 in new[] { false, true })
        {
            var payload = amf3 ? [0, .. bytes] : bytes;
            Assert.True(RtmpCommand.TryRead(payload, amf3, out var read, out int consumed, out var error), $"{name}: {error}");
            Assert.Equal(payload.Length, consumed);
            Assert.Equal(command.Name, read!.Name);
            Assert.Equal(command.TransactionId, read.TransactionId);
            AmfAssert.Equal(command.CommandObject, read.CommandObject);
            AmfAssert.Equal(command.Arguments.ToArray(), read.Arguments.ToArray());
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, RtmpCommand command, string hex) =>
        Assert.True(Hex.Bytes(hex).AsSpan().SequenceEqual(Hex.Written(command.Write)), name);

    [Fact]
    public void Connect_result_carries_fms_properties_and_the_success_status()
    {
        var bytes = Hex.Written(RtmpReplies.ConnectResult(1, 0, new RtmpOptions()).Write);
        Assert.True(RtmpCommand.TryRead(bytes, false, out var read, out _, out _));
        Assert.Equal("_result", read!.Name);
        var properties = Assert.IsType<AmfObject>(read.CommandObject);
        Assert.Equal("FMS/3,5,7,7009", properties["fmsVer"]);
        Assert.Equal(31.0, properties["capabilities"]);
        var info = Assert.IsType<AmfObject>(Assert.Single(read.Arguments));
        Assert.Equal(RtmpStatusCodes.ConnectSuccess, info["code"]);
        Assert.Equal("status", info["level"]);
    }

    public static TheoryData<string, string, AmfError> Errors => new()
    {
        { "empty", "", AmfError.Truncated },
        { "name is a number", "00 3FF0000000000000", AmfError.UnsupportedValue },
        { "transaction id is a string", "02 0001 61 02 0001 62", AmfError.UnsupportedValue },
        { "truncated argument", "02 0001 61 00 3FF0000000000000 05 02 0010 61", AmfError.Truncated },
        { "unknown marker in arguments", "02 0001 61 00 3FF0000000000000 05 42", AmfError.UnknownMarker },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Malformed_commands_give_a_typed_error(string name, string hex, AmfError expected)
    {
        Assert.False(RtmpCommand.TryRead(Hex.Bytes(hex), false, out _, out _, out var error), name);
        Assert.Equal(expected, error);
    }
}

public class DataMessageTests
{
    private const string OnMetaDataEcma = "02 000A 6F6E4D65746144617461 08 00000002 0005 7769647468 00 4074000000000000 0007 656E636F646572 02 0003 666F6F 0000 09";

    [Fact]
    public void SetDataFrame_onMetaData_decodes_to_a_dictionary()
    {
        var bytes = Hex.Bytes("02 000D 40736574446174614672616D65 " + OnMetaDataEcma);
        Assert.True(RtmpDataMessage.TryRead(bytes, false, out var message, out _));
        Assert.Equal("@setDataFrame", message!.Name);
        Assert.True(message.TryGetMetadata(out var metadata));
        Assert.Equal(320.0, metadata["width"]);
        Assert.Equal("foo", metadata["encoder"]);
    }

    [Fact]
    public void OnMetaData_alone_and_in_a_type_15_envelope_decodes()
    {
        Assert.True(RtmpDataMessage.TryRead(Hex.Bytes("00 " + OnMetaDataEcma), true, out var message, out _));
        Assert.Equal("onMetaData", message!.Name);
        Assert.True(message.TryGetMetadata(out var metadata));
        Assert.Equal(2, metadata.Count);
    }

    [Fact]
    public void Other_data_messages_carry_no_metadata()
    {
        Assert.True(RtmpDataMessage.TryRead(Hex.Bytes("02 0006 6F6E43756521 05"), false, out var message, out _));
        Assert.False(message!.TryGetMetadata(out _));
    }

    [Theory]
    [InlineData("", AmfError.Truncated)]
    [InlineData("05", AmfError.UnsupportedValue)]
    [InlineData("02 000A 6F6E4D65746144617461 03 0001 61", AmfError.Truncated)]
    public void Malformed_data_messages_give_a_typed_error(string hex, AmfError expected)
    {
        Assert.False(RtmpDataMessage.TryRead(Hex.Bytes(hex), false, out _, out var error));
        Assert.Equal(expected, error);
    }
}
