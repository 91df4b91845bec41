using System.Buffers;
using Broadcast.Media.Flv;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// A command message (RTMP 1.0 §7.1.1, §7.2): AMF0 (type 20), or type 17 whose payload is a format byte 0 followed
/// by AMF0 values. Layout: name (string), transaction id (number), command object (object or null), arguments.
/// </summary>
public sealed record RtmpCommand(string Name, double TransactionId, object? CommandObject, IReadOnlyList<object?> Arguments)
{
    public static bool TryRead(ReadOnlySpan<byte> payload, bool amf3Envelope, out RtmpCommand? command, out int consumed, out AmfError error)
    {
        command = null;
        consumed = 0;
        int start = 0;
        if (amf3Envelope && payload.Length > 0 && payload[0] == 0) start = 1;
        var reader = new Amf0Reader(payload[start..]);
        if (!reader.TryReadValue(out object? name)) return Failed(reader.Error, out error);
        if (name is not string commandName) return Failed(AmfError.UnsupportedValue, out error);
        double transactionId = 0;
        object? commandObject = null;
        var arguments = new List<object?>();
        if (!reader.End)
        {
            if (!reader.TryReadValue(out object? tx)) return Failed(reader.Error, out error);
            if (tx is not double t) return Failed(AmfError.UnsupportedValue, out error);
            transactionId = t;
        }
        if (!reader.End && !reader.TryReadValue(out commandObject)) return Failed(reader.Error, out error);
        while (!reader.End)
        {
            if (!reader.TryReadValue(out object? argument)) return Failed(reader.Error, out error);
            arguments.Add(argument);
        }
        command = new RtmpCommand(commandName, transactionId, commandObject, arguments);
        consumed = start + reader.Consumed;
        error = AmfError.None;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        Amf0Writer.WriteString(writer, Name);
        Amf0Writer.WriteNumber(writer, TransactionId);
        Amf0Writer.WriteValue(writer, CommandObject);
        foreach (var argument in Arguments) Amf0Writer.WriteValue(writer, argument);
    }

    /// <summary>The first argument as a string (stream name of publish/FCPublish/releaseStream), or null.</summary>
    public string? FirstStringArgument => Arguments.Count > 0 ? Arguments[0] as string : null;

    /// <summary>A string property of the command object (e.g. connect's app, tcUrl), or null.</summary>
    public string? GetProperty(string name) =>
        CommandObject is AmfObject obj && obj.TryGetValue(name, out var v) ? v as string : null;

    private static bool Failed(AmfError reason, out AmfError error)
    {
        error = reason;
        return false;
    }
}

/// <summary>Command names of the publish flow (§7.2.1, §7.2.2) and the extra ones Flash-era encoders send.</summary>
public static class RtmpCommandNames
{
    public const string Connect = "connect";
    public const string ReleaseStream = "releaseStream";
    public const string FCPublish = "FCPublish";
    public const string CreateStream = "createStream";
    public const string Publish = "publish";
    public const string FCUnpublish = "FCUnpublish";
    public const string DeleteStream = "deleteStream";
    public const string CloseStream = "closeStream";
    public const string Result = "_result";
    public const string Error = "_error";
    public const string OnStatus = "onStatus";
    public const string OnFCPublish = "onFCPublish";
    public const string OnFCUnpublish = "onFCUnpublish";
}

/// <summary>NetStream/NetConnection status codes (§7.2.2.6 and the Flash documentation).</summary>
public static class RtmpStatusCodes
{
    public const string ConnectSuccess = "NetConnection.Connect.Success";
    public const string ConnectRejected = "NetConnection.Connect.Rejected";
    public const string PublishStart = "NetStream.Publish.Start";
    public const string PublishBadName = "NetStream.Publish.BadName";
    public const string UnpublishSuccess = "NetStream.Unpublish.Success";
}

/// <summary>The replies a server sends in the publish flow, shaped as ffmpeg, librtmp (OBS) and FMS clients expect.</summary>
public static class RtmpReplies
{
    /// <summary>
    /// connect's _result: FMS-style properties (fmsVer, capabilities) with the server's Enhanced RTMP capabilities, and an
    /// information object. Multitrack is advertised when <paramref name="options"/> take multitrack publishes
    /// (Rtmp:MaxVideoTracks above 1; at 1 they are refused).
    /// </summary>
    public static RtmpCommand ConnectResult(double transactionId, double objectEncoding, RtmpOptions options) => new(
        RtmpCommandNames.Result,
        transactionId,
        new AmfObject
        {
            ["fmsVer"] = "FMS/3,5,7,7009",
            ["capabilities"] = 31.0,
            ["mode"] = 1.0,
            // Enhanced RTMP v2, "Enhancing NetConnection connect Command": the codecs ingest takes and the extended
            // capabilities it has, so a client that waits for them (before multitrack, say) knows what it may send.
            ["fourCcList"] = FourCcs([.. FlvDemuxer.VideoFourCcs, .. FlvDemuxer.AudioFourCcs]),
            ["videoFourCcInfoMap"] = InfoMap(FlvDemuxer.VideoFourCcs),
            ["audioFourCcInfoMap"] = InfoMap(FlvDemuxer.AudioFourCcs),
            ["capsEx"] = (double)(options.MaxVideoTracks > 1 ? EnhancedRtmpCapsEx.Multitrack : 0),
        },
        [
            new AmfObject
            {
                ["level"] = "status",
                ["code"] = RtmpStatusCodes.ConnectSuccess,
                ["description"] = "Connection succeeded.",
                ["objectEncoding"] = objectEncoding,
            },
        ]);

    private static List<object?> FourCcs(IEnumerable<uint> fourCcs) => [.. fourCcs.Select(f => (object?)FlvVideoTagHeader.FourCcToString(f))];

    /// <summary>
    /// Each codec as forwarded: ingest repackages what it takes and decodes or encodes nothing on the connection, so
    /// CanForward alone (the transcoder's ladder, when on, is another matter).
    /// </summary>
    private static AmfObject InfoMap(IEnumerable<uint> fourCcs)
    {
        var map = new AmfObject();
        foreach (uint fourCc in fourCcs) map[FlvVideoTagHeader.FourCcToString(fourCc)] = (double)EnhancedRtmpFourCcInfo.CanForward;
        return map;
    }

    /// <summary>A plain _result (createStream returns the new stream id; releaseStream/FCPublish nothing).</summary>
    public static RtmpCommand Result(double transactionId, object? value) => new(RtmpCommandNames.Result, transactionId, null, [value]);

    public static RtmpCommand Error(double transactionId, string code, string description) => new(
        RtmpCommandNames.Error, transactionId, null,
        [new AmfObject { ["level"] = "error", ["code"] = code, ["description"] = description }]);

    /// <summary>onStatus on a message stream: level "status" or "error", a code and a human description.</summary>
    public static RtmpCommand OnStatus(string level, string code, string description) => new(
        RtmpCommandNames.OnStatus, 0, null,
        [new AmfObject { ["level"] = level, ["code"] = code, ["description"] = description }]);

    /// <summary>onFCPublish, the answer to FCPublish that Flash Media Encoder-era clients wait for.</summary>
    public static RtmpCommand OnFCPublish(string code, string description) => new(
        RtmpCommandNames.OnFCPublish, 0, null,
        [new AmfObject { ["code"] = code, ["description"] = description }]);
}

/// <summary>The capsEx bits of a connect and its _result (Enhanced RTMP v2, CapsExMask).</summary>
[Flags]
public enum EnhancedRtmpCapsEx
{
    /// <summary>NetConnection.Connect.ReconnectRequest is understood.</summary>
    Reconnect = 0x01,

    /// <summary>Multitrack audio and video messages are taken.</summary>
    Multitrack = 0x02,

    /// <summary>ModEx packets (and the nanosecond offsets they carry) are parsed.</summary>
    ModEx = 0x04,

    /// <summary>Nanosecond timestamp offsets (in ModEx) are used.</summary>
    TimestampNanoOffset = 0x08,
}

/// <summary>The capability bits of a videoFourCcInfoMap or audioFourCcInfoMap entry (Enhanced RTMP v2, FourCcInfoMask).</summary>
[Flags]
public enum EnhancedRtmpFourCcInfo
{
    CanDecode = 0x01,
    CanEncode = 0x02,
    CanForward = 0x04,
}
