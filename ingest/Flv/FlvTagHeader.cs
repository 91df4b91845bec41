using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Ingest.Flv;

/// <summary>FLV file header (FLV spec E.2): 'FLV' version(8) flags(8: audio 0x04, video 0x01) DataOffset(32).</summary>
public readonly record struct FlvFileHeader(byte Version, bool HasAudio, bool HasVideo, int DataOffset)
{
    public const int Length = 9;

    public static bool TryRead(ReadOnlySpan<byte> data, out FlvFileHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (data.Length < Length || data[0] != (byte)'F' || data[1] != (byte)'L' || data[2] != (byte)'V') return false;
        uint offset = BinaryPrimitives.ReadUInt32BigEndian(data[5..]);
        if (offset < Length || offset > 1024) return false;
        header = new FlvFileHeader(data[3], (data[4] & 0x04) != 0, (data[4] & 0x01) != 0, (int)offset);
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(Length);
        span[0] = (byte)'F';
        span[1] = (byte)'L';
        span[2] = (byte)'V';
        span[3] = Version;
        span[4] = (byte)((HasAudio ? 0x04 : 0) | (HasVideo ? 0x01 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], (uint)DataOffset);
        writer.Advance(Length);
    }
}

/// <summary>
/// FLV tag header (E.4.1): Reserved(2) Filter(1) TagType(5) DataSize(24) Timestamp(24) TimestampExtended(8) StreamID(24).
/// The same fields an RTMP message header carries; a file reader uses it to replay recordings and test clips.
/// </summary>
public readonly record struct FlvTagHeader(byte TagType, int DataSize, uint Timestamp)
{
    public const int Length = 11;
    public const byte Audio = 8;
    public const byte Video = 9;
    public const byte ScriptData = 18;

    public static bool TryRead(ReadOnlySpan<byte> data, out FlvTagHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (data.Length < Length) return false;
        byte type = (byte)(data[0] & 0x1F);
        if ((data[0] & 0x20) != 0) return false; // Filter: encrypted content is not supported
        int size = (data[1] << 16) | (data[2] << 8) | data[3];
        uint timestamp = (uint)((data[7] << 24) | (data[4] << 16) | (data[5] << 8) | data[6]);
        header = new FlvTagHeader(type, size, timestamp);
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(Length);
        span[0] = TagType;
        span[1] = (byte)(DataSize >> 16);
        span[2] = (byte)(DataSize >> 8);
        span[3] = (byte)DataSize;
        span[4] = (byte)(Timestamp >> 16);
        span[5] = (byte)(Timestamp >> 8);
        span[6] = (byte)Timestamp;
        span[7] = (byte)(Timestamp >> 24);
        span[8] = span[9] = span[10] = 0;
        writer.Advance(Length);
    }
}
