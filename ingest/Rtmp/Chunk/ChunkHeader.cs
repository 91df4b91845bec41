using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Ingest.Rtmp;

/// <summary>Chunk message header formats (RTMP 1.0 §5.3.1.2): how much of the previous header a chunk repeats.</summary>
public enum ChunkFormat : byte
{
    /// <summary>Type 0, 11 bytes: absolute timestamp, length, type id, stream id. Starts a chunk stream.</summary>
    Full = 0,

    /// <summary>Type 1, 7 bytes: timestamp delta, length, type id; same stream id.</summary>
    SameStream = 1,

    /// <summary>Type 2, 3 bytes: timestamp delta only.</summary>
    TimestampOnly = 2,

    /// <summary>Type 3, no header: continuation, or a new message repeating everything.</summary>
    Continuation = 3,
}

/// <summary>
/// One chunk's header: basic header (§5.3.1.1, 1-3 bytes, csid 2..65599), message header (§5.3.1.2, 0/3/7/11 bytes)
/// and the extended timestamp (§5.3.1.3, 4 bytes when the 24-bit field is 0xFFFFFF). For type 3 chunks the extended
/// field's presence depends on the chunk stream's previous header, which the caller passes in.
/// </summary>
public readonly record struct ChunkHeader(
    ChunkFormat Format,
    int ChunkStreamId,
    uint Timestamp,
    int MessageLength,
    byte MessageTypeId,
    uint MessageStreamId,
    bool HasExtendedTimestamp)
{
    public const int MinChunkStreamId = 2;
    public const int MaxChunkStreamId = 65599;
    public const uint ExtendedTimestampMarker = 0xFFFFFF;

    /// <summary>The longest header: 3-byte basic + 11-byte message header + 4-byte extended timestamp.</summary>
    public const int MaxLength = 18;

    /// <summary>Reads the basic header only: format and chunk stream id.</summary>
    public static bool TryReadBasic(ReadOnlySpan<byte> source, out ChunkFormat format, out int chunkStreamId, out int consumed)
    {
        format = default;
        chunkStreamId = 0;
        consumed = 0;
        if (source.IsEmpty) return false;
        format = (ChunkFormat)(source[0] >> 6);
        int id = source[0] & 0x3F;
        switch (id)
        {
            case 0:
                if (source.Length < 2) return false;
                chunkStreamId = source[1] + 64;
                consumed = 2;
                return true;
            case 1:
                if (source.Length < 3) return false;
                chunkStreamId = source[2] * 256 + source[1] + 64;
                consumed = 3;
                return true;
            default:
                chunkStreamId = id;
                consumed = 1;
                return true;
        }
    }

    /// <summary>
    /// Reads a whole chunk header. <paramref name="type3Extended"/> says whether a type-3 chunk on this chunk stream
    /// carries an extended timestamp (the previous type 0/1/2 header had one). Fields a format does not carry are zero.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, bool type3Extended, out ChunkHeader header, out int consumed)
    {
        header = default;
        if (!TryReadBasic(source, out var format, out int csid, out consumed)) return false;
        var rest = source[consumed..];
        uint timestamp = 0;
        int length = 0;
        byte typeId = 0;
        uint streamId = 0;
        int size = format switch { ChunkFormat.Full => 11, ChunkFormat.SameStream => 7, ChunkFormat.TimestampOnly => 3, _ => 0 };
        if (rest.Length < size) return false;
        if (format != ChunkFormat.Continuation) timestamp = ReadUInt24(rest);
        if (format <= ChunkFormat.SameStream)
        {
            length = (int)ReadUInt24(rest[3..]);
            typeId = rest[6];
        }
        if (format == ChunkFormat.Full) streamId = BinaryPrimitives.ReadUInt32LittleEndian(rest[7..]);
        rest = rest[size..];
        bool extended = format == ChunkFormat.Continuation ? type3Extended : timestamp == ExtendedTimestampMarker;
        if (extended)
        {
            if (rest.Length < 4) return false;
            timestamp = BinaryPrimitives.ReadUInt32BigEndian(rest);
            size += 4;
        }
        consumed += size;
        header = new ChunkHeader(format, csid, timestamp, length, typeId, streamId, extended);
        return true;
    }

    public int Write(Span<byte> destination)
    {
        int pos = WriteBasic(destination, Format, ChunkStreamId);
        bool extended = Format == ChunkFormat.Continuation ? HasExtendedTimestamp : Timestamp >= ExtendedTimestampMarker;
        if (Format != ChunkFormat.Continuation)
        {
            WriteUInt24(destination[pos..], extended ? ExtendedTimestampMarker : Timestamp);
            pos += 3;
        }
        if (Format <= ChunkFormat.SameStream)
        {
            WriteUInt24(destination[pos..], (uint)MessageLength);
            destination[pos + 3] = MessageTypeId;
            pos += 4;
        }
        if (Format == ChunkFormat.Full)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(destination[pos..], MessageStreamId);
            pos += 4;
        }
        if (extended)
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination[pos..], Timestamp);
            pos += 4;
        }
        return pos;
    }

    public void Write(IBufferWriter<byte> writer) => writer.Advance(Write(writer.GetSpan(MaxLength)));

    internal static int WriteBasic(Span<byte> destination, ChunkFormat format, int csid)
    {
        if (csid is < MinChunkStreamId or > MaxChunkStreamId) throw new ArgumentOutOfRangeException(nameof(csid));
        byte fmt = (byte)((int)format << 6);
        if (csid < 64)
        {
            destination[0] = (byte)(fmt | csid);
            return 1;
        }
        if (csid < 64 + 256)
        {
            destination[0] = fmt;
            destination[1] = (byte)(csid - 64);
            return 2;
        }
        destination[0] = (byte)(fmt | 1);
        destination[1] = (byte)((csid - 64) & 0xFF);
        destination[2] = (byte)((csid - 64) >> 8);
        return 3;
    }

    internal static uint ReadUInt24(ReadOnlySpan<byte> s) => (uint)(s[0] << 16 | s[1] << 8 | s[2]);

    internal static void WriteUInt24(Span<byte> d, uint v)
    {
        d[0] = (byte)(v >> 16);
        d[1] = (byte)(v >> 8);
        d[2] = (byte)v;
    }
}
