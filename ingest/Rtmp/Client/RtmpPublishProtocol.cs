using System.Buffers;

namespace Broadcast.Ingest.Rtmp.Client;

public enum RtmpPublishPhase
{
    /// <summary>connect sent, waiting for its _result.</summary>
    Connecting,

    /// <summary>releaseStream, FCPublish and createStream sent, waiting for the stream id.</summary>
    CreatingStream,

    /// <summary>publish sent, waiting for NetStream.Publish.Start.</summary>
    Publishing,

    /// <summary>The server accepted the publish: media may flow.</summary>
    Live,

    /// <summary>The server refused (an _error or an error onStatus); <see cref="RtmpPublishProtocol.Error"/> says why.</summary>
    Failed,
}

/// <summary>
/// The publishing client's side of the RTMP conversation after the handshake, without sockets: fed the server's
/// messages, it writes our messages into an <see cref="IBufferWriter{T}"/>. The flow (RTMP 1.0 §7.2.1.1, §7.2.2.6, and
/// the FMLE extras every server expects):
/// <code>
/// → Set Chunk Size, connect(app, tcUrl, flashVer, type)      ← Window Ack Size, Set Peer Bandwidth, Set Chunk Size, _result
/// → releaseStream(key), FCPublish(key), createStream          ← _result(stream id)
/// → publish(key, "live") on the new message stream            ← onStatus NetStream.Publish.Start   (or _error / BadName)
/// → @setDataFrame onMetaData, sequence headers, audio/video …
/// </code>
/// It answers pings and acknowledges received bytes once per the server's window (§5.4.3). Not thread-safe: the
/// caller serialises access (one writer at a time).
/// </summary>
public sealed class RtmpPublishProtocol
{
    public const int ControlChunkStream = 2;
    public const int CommandChunkStream = 3;
    public const int AudioChunkStream = 4;
    public const int StreamChunkStream = 5;
    public const int VideoChunkStream = 6;

    public const double ConnectTransaction = 1;
    public const double ReleaseStreamTransaction = 2;
    public const double FCPublishTransaction = 3;
    public const double CreateStreamTransaction = 4;
    public const double PublishTransaction = 5;

    /// <summary>What connect announces as flashVer: FMLE-compatible, as OBS and ffmpeg announce themselves.</summary>
    public const string FlashVersion = "FMLE/3.0 (compatible; Broadcast)";

    private readonly RtmpPublishTarget _target;
    private readonly int _chunkSize;
    private readonly ChunkStreamWriter _chunks = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(512);
    private uint _peerWindow;
    private long _bytesIn;
    private long _bytesAtLastAck;

    public RtmpPublishProtocol(RtmpPublishTarget target, int chunkSize = 4096)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (chunkSize is < 128 or > 65536) throw new ArgumentOutOfRangeException(nameof(chunkSize), "Chunk size must be 128..65536.");
        _target = target;
        _chunkSize = chunkSize;
    }

    public RtmpPublishPhase Phase { get; private set; } = RtmpPublishPhase.Connecting;

    /// <summary>The message stream createStream returned; media and publish go on it.</summary>
    public uint StreamId { get; private set; }

    /// <summary>Why the server refused, in its words ("NetStream.Publish.BadName: unknown stream key").</summary>
    public string? Error { get; private set; }

    /// <summary>The acknowledgement window the server asked for (0 until it sends one).</summary>
    public uint PeerWindow => _peerWindow;

    /// <summary>Writes Set Chunk Size and connect.</summary>
    public void Start(IBufferWriter<byte> output)
    {
        _scratch.ResetWrittenCount();
        new SetChunkSize((uint)_chunkSize).Write(_scratch);
        _chunks.Write(output, ControlChunkStream, RtmpMessageType.SetChunkSize, 0, 0, _scratch.WrittenSpan);
        _chunks.ChunkSize = _chunkSize;
        WriteCommand(output, CommandChunkStream, 0, new RtmpCommand(RtmpCommandNames.Connect, ConnectTransaction, new AmfObject
        {
            ["app"] = _target.App,
            ["type"] = "nonprivate",
            ["flashVer"] = FlashVersion,
            ["tcUrl"] = _target.TcUrl,
        }, []));
    }

    /// <summary>Counts bytes read from the server and writes an Acknowledgement once a window's worth arrived.</summary>
    public void OnBytesReceived(long count, IBufferWriter<byte> output)
    {
        _bytesIn += count;
        if (_peerWindow == 0 || _bytesIn - _bytesAtLastAck < _peerWindow) return;
        _bytesAtLastAck = _bytesIn;
        _scratch.ResetWrittenCount();
        new Acknowledgement((uint)_bytesIn).Write(_scratch);
        _chunks.Write(output, ControlChunkStream, RtmpMessageType.Acknowledgement, 0, 0, _scratch.WrittenSpan);
    }

    /// <summary>Handles one message from the server, writing any answer; returns the phase after it.</summary>
    public RtmpPublishPhase Handle(in RtmpMessage message, IBufferWriter<byte> output)
    {
        var payload = message.Payload.Span;
        switch (message.TypeId)
        {
            case RtmpMessageType.WindowAcknowledgementSize:
                if (WindowAcknowledgementSize.TryRead(payload, out var window, out _)) _peerWindow = window.Size;
                else Fail("malformed Window Acknowledgement Size from the server");
                break;
            case RtmpMessageType.UserControl:
                if (!UserControlMessage.TryRead(payload, out var control, out _)) Fail("malformed User Control message from the server");
                else if (control.EventType == UserControlEventType.PingRequest)
                {
                    _scratch.ResetWrittenCount();
                    new UserControlMessage(UserControlEventType.PingResponse, control.Value).Write(_scratch);
                    _chunks.Write(output, ControlChunkStream, RtmpMessageType.UserControl, 0, 0, _scratch.WrittenSpan);
                }
                break;
            case RtmpMessageType.CommandAmf0:
            case RtmpMessageType.CommandAmf3:
                if (!RtmpCommand.TryRead(payload, message.TypeId == RtmpMessageType.CommandAmf3, out var command, out _, out var amfError))
                    Fail($"malformed AMF in a command from the server: {amfError}");
                else HandleCommand(command!, output);
                break;
            default:
                // Set Chunk Size and Abort are applied by the chunk reader; bandwidth, acknowledgements and data are not ours to act on.
                break;
        }
        return Phase;
    }

    /// <summary>@setDataFrame("onMetaData", {…}) on the publish stream (what ffmpeg and OBS send first).</summary>
    public void WriteMetadata(IBufferWriter<byte> output, AmfObject metadata)
    {
        _scratch.ResetWrittenCount();
        new RtmpDataMessage(RtmpDataMessage.SetDataFrame, [RtmpDataMessage.OnMetaData, new AmfEcmaArray(metadata)]).Write(_scratch);
        _chunks.Write(output, StreamChunkStream, RtmpMessageType.DataAmf0, 0, StreamId, _scratch.WrittenSpan);
    }

    /// <summary>A data message (type 18) on the stream, e.g. an onCuePoint ad marker, stamped among the frames at
    /// <paramref name="timestampMs"/>.</summary>
    public void WriteData(IBufferWriter<byte> output, uint timestampMs, RtmpDataMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _scratch.ResetWrittenCount();
        message.Write(_scratch);
        _chunks.Write(output, StreamChunkStream, RtmpMessageType.DataAmf0, timestampMs, StreamId, _scratch.WrittenSpan);
    }

    /// <summary>An audio message (type 8) whose payload is an FLV audio tag body.</summary>
    public void WriteAudio(IBufferWriter<byte> output, uint timestampMs, ReadOnlySpan<byte> body) =>
        _chunks.Write(output, AudioChunkStream, RtmpMessageType.Audio, timestampMs, StreamId, body);

    /// <summary>A video message (type 9) whose payload is an FLV video tag body.</summary>
    public void WriteVideo(IBufferWriter<byte> output, uint timestampMs, ReadOnlySpan<byte> body) =>
        _chunks.Write(output, VideoChunkStream, RtmpMessageType.Video, timestampMs, StreamId, body);

    /// <summary>FCUnpublish and deleteStream: a clean end the server reports as NetStream.Unpublish.Success.</summary>
    public void WriteUnpublish(IBufferWriter<byte> output)
    {
        WriteCommand(output, CommandChunkStream, 0, new RtmpCommand(RtmpCommandNames.FCUnpublish, 0, null, [_target.StreamKey]));
        WriteCommand(output, CommandChunkStream, 0, new RtmpCommand(RtmpCommandNames.DeleteStream, 0, null, [(double)StreamId]));
    }

    private void HandleCommand(RtmpCommand command, IBufferWriter<byte> output)
    {
        if (Phase == RtmpPublishPhase.Failed) return;
        switch (command.Name)
        {
            case RtmpCommandNames.Result when command.TransactionId == ConnectTransaction && Phase == RtmpPublishPhase.Connecting:
                if (StatusOf(command) is { Level: "error" } refused)
                {
                    Fail(refused.Text);
                    return;
                }
                WriteCommand(output, CommandChunkStream, 0,
                    new RtmpCommand(RtmpCommandNames.ReleaseStream, ReleaseStreamTransaction, null, [_target.StreamKey]));
                WriteCommand(output, CommandChunkStream, 0,
                    new RtmpCommand(RtmpCommandNames.FCPublish, FCPublishTransaction, null, [_target.StreamKey]));
                WriteCommand(output, CommandChunkStream, 0, new RtmpCommand(RtmpCommandNames.CreateStream, CreateStreamTransaction, null, []));
                Phase = RtmpPublishPhase.CreatingStream;
                return;
            case RtmpCommandNames.Result when command.TransactionId == CreateStreamTransaction && Phase == RtmpPublishPhase.CreatingStream:
                if (command.Arguments.Count == 0 || command.Arguments[0] is not double id || id is < 0 or > uint.MaxValue)
                {
                    Fail("createStream returned no stream id");
                    return;
                }
                StreamId = (uint)id;
                WriteCommand(output, StreamChunkStream, StreamId,
                    new RtmpCommand(RtmpCommandNames.Publish, PublishTransaction, null, [_target.StreamKey, "live"]));
                Phase = RtmpPublishPhase.Publishing;
                return;
            case RtmpCommandNames.Error:
                // releaseStream / FCPublish errors are common and harmless (the name was not in use); the rest are fatal.
                if (command.TransactionId is ReleaseStreamTransaction or FCPublishTransaction) return;
                Fail(StatusOf(command)?.Text ?? $"_error for transaction {command.TransactionId}");
                return;
            case RtmpCommandNames.OnStatus:
                if (StatusOf(command) is not { } status) return;
                if (status.Level == "error") Fail(status.Text);
                else if (status.Code == RtmpStatusCodes.PublishStart && Phase == RtmpPublishPhase.Publishing) Phase = RtmpPublishPhase.Live;
                return;
            default:
                return; // onBWDone, onFCPublish, _result of releaseStream/FCPublish, _checkbw: nothing to do
        }
    }

    private readonly record struct Status(string? Level, string? Code, string? Description)
    {
        public string Text => (Code, Description) switch
        {
            ({ } c, { Length: > 0 } d) => $"{c}: {Truncate(d)}",
            ({ } c, _) => c,
            (_, { } d) => Truncate(d),
            _ => "refused without a reason",
        };
    }

    /// <summary>The information object of a _result/_error/onStatus (the first object argument).</summary>
    private static Status? StatusOf(RtmpCommand command)
    {
        foreach (var argument in command.Arguments)
        {
            if (argument is AmfObject info)
                return new Status(info.GetValueOrDefault("level") as string, info.GetValueOrDefault("code") as string,
                    info.GetValueOrDefault("description") as string);
        }
        return null;
    }

    private void Fail(string reason)
    {
        if (Phase == RtmpPublishPhase.Failed) return;
        Phase = RtmpPublishPhase.Failed;
        Error = reason;
    }

    private void WriteCommand(IBufferWriter<byte> output, int chunkStreamId, uint messageStreamId, RtmpCommand command)
    {
        _scratch.ResetWrittenCount();
        command.Write(_scratch);
        _chunks.Write(output, chunkStreamId, RtmpMessageType.CommandAmf0, 0, messageStreamId, _scratch.WrittenSpan);
    }

    /// <summary>Text from the wire goes into states and logs; keep it short.</summary>
    private static string Truncate(string value) => value.Length <= 200 ? value : value[..200];
}
