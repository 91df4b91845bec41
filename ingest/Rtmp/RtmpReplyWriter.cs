using System.Buffers;
using System.IO.Pipelines;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What an RTMP server session sends: protocol control messages on chunk stream 2 (RTMP 1.0 §5.4) and AMF0 commands,
/// chunked onto the connection's output. A flush is charged to the connection's memory budget while it is pending, so a
/// peer that stops reading cannot make the server hold its replies without bound.
/// </summary>
internal sealed class RtmpReplyWriter(PipeWriter output, RtmpConnectionMemory memory)
{
    private const int ControlChunkStream = 2;

    /// <summary>The chunk stream of commands about the connection (connect, createStream results).</summary>
    public const int CommandChunkStream = 3;

    /// <summary>The chunk stream of commands about a message stream (onStatus of publish and unpublish).</summary>
    public const int StreamCommandChunkStream = 5;

    private readonly ChunkStreamWriter _writer = new();
    private readonly ArrayBufferWriter<byte> _scratch = new(256);

    /// <summary>The chunk size of what follows (set after Set Chunk Size went out).</summary>
    public int ChunkSize
    {
        set => _writer.ChunkSize = value;
    }

    public long UnflushedBytes => output.UnflushedBytes;

    public void SendControl<T>(byte typeId, T message) where T : struct
    {
        _scratch.ResetWrittenCount();
        switch (message)
        {
            case WindowAcknowledgementSize w: w.Write(_scratch); break;
            case SetPeerBandwidth b: b.Write(_scratch); break;
            case SetChunkSize c: c.Write(_scratch); break;
            case Acknowledgement a: a.Write(_scratch); break;
            case UserControlMessage u: u.Write(_scratch); break;
            default: throw new ArgumentException("Not a protocol control message.", nameof(message));
        }
        _writer.Write(output, ControlChunkStream, typeId, 0, 0, _scratch.WrittenSpan);
    }

    public void SendCommand(uint messageStreamId, int chunkStreamId, RtmpCommand command)
    {
        _scratch.ResetWrittenCount();
        command.Write(_scratch);
        _writer.Write(output, chunkStreamId, RtmpMessageType.CommandAmf0, 0, messageStreamId, _scratch.WrittenSpan);
    }

    public async ValueTask FlushAsync(CancellationToken token)
    {
        if (!memory.TrySetOutput(output.UnflushedBytes)) throw new RtmpCloseException(memory.Refusal!, memoryBudget: true);
        var flush = await output.FlushAsync(token).ConfigureAwait(false);
        memory.TrySetOutput(0);
        if (flush.IsCompleted) throw new IOException("peer closed");
    }
}
