using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Media.Flv;

public enum FlvTagType : byte
{
    Audio = 8,
    Video = 9,
    Script = 18,
}

/// <summary>
/// One FLV tag (E.4.1) with its trailing PreviousTagSize:
/// <code>
/// TagType u8 | DataSize u24 | Timestamp u24 | TimestampExtended u8 (bits 31..24) | StreamID u24 = 0 | Data | PreviousTagSize u32 = 11 + DataSize
/// </code>
/// <see cref="Data"/> points into the buffer it was read from (no copy).
/// </summary>
public readonly ref struct FlvTag
{
    public const int HeaderSize = 11;
    public const int MaxDataSize = 0xFFFFFF;

    public FlvTag(FlvTagType type, uint timestampMs, ReadOnlySpan<byte> data)
    {
        Type = type;
        TimestampMs = timestampMs;
        Data = data;
    }

    public FlvTagType Type { get; }

    /// <summary>32-bit millisecond timestamp (the low 24 bits plus the extension byte).</summary>
    public uint TimestampMs { get; }

    public ReadOnlySpan<byte> Data { get; }

    /// <summary>Reads a tag and its PreviousTagSize. False when more bytes are needed; <paramref name="error"/> is set when the bytes can never be a
    /// tag.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FlvTag tag, out int consumed, out string? error)
    {
        tag = default;
        consumed = 0;
        error = null;
        if (source.Length < HeaderSize) return false;
        byte type = (byte)(source[0] & 0x1F); // the top bits are reserved / the filter flag
        if ((source[0] & 0x20) != 0)
        {
            error = "encrypted (filtered) FLV tags are not supported";
            return false;
        }
        int size = (source[1] << 16) | (source[2] << 8) | source[3];
        uint ts = (uint)((source[7] << 24) | (source[4] << 16) | (source[5] << 8) | source[6]);
        int total = HeaderSize + size + 4;
        if (source.Length < total) return false;
        uint previous = BinaryPrimitives.ReadUInt32BigEndian(source[(HeaderSize + size)..]);
        if (previous != (uint)(HeaderSize + size))
        {
            error = $"PreviousTagSize {previous} does not match tag size {HeaderSize + size}";
            return false;
        }
        tag = new FlvTag((FlvTagType)type, ts, source.Slice(HeaderSize, size));
        consumed = total;
        return true;
    }

    /// <summary>Writes the tag header; the caller writes <paramref name="dataSize"/> bytes of data,
    /// then <see cref="WritePreviousTagSize"/>.</summary>
    public static void WriteHeader(IBufferWriter<byte> writer, FlvTagType type, uint timestampMs, int dataSize)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if ((uint)dataSize > MaxDataSize) throw new ArgumentOutOfRangeException(nameof(dataSize), "An FLV tag holds at most 16 MiB - 1.");
        var span = writer.GetSpan(HeaderSize);
        span[0] = (byte)type;
        span[1] = (byte)(dataSize >> 16);
        span[2] = (byte)(dataSize >> 8);
        span[3] = (byte)dataSize;
        span[4] = (byte)(timestampMs >> 16);
        span[5] = (byte)(timestampMs >> 8);
        span[6] = (byte)timestampMs;
        span[7] = (byte)(timestampMs >> 24);
        span[8] = 0;
        span[9] = 0;
        span[10] = 0;
        writer.Advance(HeaderSize);
    }

    public static void WritePreviousTagSize(IBufferWriter<byte> writer, int dataSize)
    {
        ArgumentNullException.ThrowIfNull(writer);
        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), (uint)(HeaderSize + dataSize));
        writer.Advance(4);
    }

    public void Write(IBufferWriter<byte> writer)
    {
        WriteHeader(writer, Type, TimestampMs, Data.Length);
        writer.Write(Data);
        WritePreviousTagSize(writer, Data.Length);
    }
}
