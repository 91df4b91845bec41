using System.Buffers;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// Splits outgoing messages into chunks of our chunk size (RTMP 1.0 §5.3.1): a type 0 header, then type 3 headers
/// (repeating the extended timestamp when the first carried one, as ffmpeg and librtmp expect).
/// We send only control messages and command replies, so the simplest valid compression suffices.
/// </summary>
public sealed class ChunkStreamWriter
{
    /// <summary>Our outgoing chunk size; announce it with <see cref="SetChunkSize"/> before raising it.</summary>
    public int ChunkSize { get; set; } = 128;

    public void Write(IBufferWriter<byte> writer, int chunkStreamId, byte typeId, uint timestamp, uint messageStreamId, ReadOnlySpan<byte> payload)
    {
        var header = new ChunkHeader(ChunkFormat.Full, chunkStreamId, timestamp, payload.Length, typeId, messageStreamId, false);
        header.Write(writer);
        bool extended = timestamp >= ChunkHeader.ExtendedTimestampMarker;
        var continuation = new ChunkHeader(ChunkFormat.Continuation, chunkStreamId, timestamp, 0, 0, 0, extended);
        int offset = 0;
        while (true)
        {
            int n = Math.Min(ChunkSize, payload.Length - offset);
            writer.Write(payload.Slice(offset, n));
            offset += n;
            if (offset >= payload.Length) break;
            continuation.Write(writer);
        }
    }
}
