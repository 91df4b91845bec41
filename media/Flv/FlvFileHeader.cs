using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Media.Flv;

/// <summary>
/// The FLV file header (Adobe FLV spec v10.1, E.2) followed by PreviousTagSize0 = 0:
/// <code>
/// 'F' 'L' 'V' | version 1 | flags (0x04 audio, 0x01 video) | DataOffset u32 = 9 | PreviousTagSize0 u32 = 0
/// </code>
/// </summary>
public readonly record struct FlvFileHeader(bool HasAudio, bool HasVideo)
{
    /// <summary>Header (9 bytes) plus PreviousTagSize0 (4 bytes).</summary>
    public const int Size = 13;

    /// <summary>Largest DataOffset taken: writers use 9; a huge one would make a stream reader wait for gigabytes of padding.</summary>
    public const int MaxDataOffset = 1024;

    public static bool TryRead(ReadOnlySpan<byte> source, out FlvFileHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (source.Length < Size || source[0] != (byte)'F' || source[1] != (byte)'L' || source[2] != (byte)'V' || source[3] != 1) return false;
        uint offset = BinaryPrimitives.ReadUInt32BigEndian(source[5..]);
        if (offset < 9 || offset > MaxDataOffset || source.Length < offset + 4) return false;
        header = new FlvFileHeader((source[4] & 0x04) != 0, (source[4] & 0x01) != 0);
        consumed = (int)offset + 4;
        return true;
    }

    /// <summary>
    /// Whether the bytes read so far (<paramref name="source"/>, perhaps fewer than <see cref="Size"/>) can never begin an
    /// FLV stream: the signature or version differs, or the DataOffset is out of range. A short prefix that still fits is not.
    /// </summary>
    public static bool CanNeverStart(ReadOnlySpan<byte> source, out string reason)
    {
        reason = "";
        ReadOnlySpan<byte> signature = [(byte)'F', (byte)'L', (byte)'V', 1];
        int known = Math.Min(source.Length, signature.Length);
        if (!source[..known].SequenceEqual(signature[..known]))
        {
            reason = "not an FLV stream: it does not begin with the signature 'FLV' and version 1";
            return true;
        }

        if (source.Length >= 9)
        {
            uint offset = BinaryPrimitives.ReadUInt32BigEndian(source[5..]);
            if (offset < 9 || offset > MaxDataOffset)
            {
                reason = $"the FLV header's DataOffset {offset} is outside 9..{MaxDataOffset}";
                return true;
            }
        }

        return false;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var span = writer.GetSpan(Size);
        span[0] = (byte)'F';
        span[1] = (byte)'L';
        span[2] = (byte)'V';
        span[3] = 1;
        span[4] = (byte)((HasAudio ? 0x04 : 0) | (HasVideo ? 0x01 : 0));
        BinaryPrimitives.WriteUInt32BigEndian(span[5..], 9);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], 0);
        writer.Advance(Size);
    }
}
