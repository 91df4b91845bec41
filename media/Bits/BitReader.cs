using System.Buffers.Binary;

namespace Broadcast.Media.Bits;

/// <summary>
/// MSB-first bit reader over a byte span, as used by every codec header we parse (H.264/HEVC RBSP, AV1 OBUs,
/// AAC AudioSpecificConfig). Reading past the end never throws: it returns zeros and sets <see cref="Overrun"/>,
/// so a parser reads a whole structure and checks once at the end (malformed input is an expected fault here).
/// </summary>
public ref struct BitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private long _position;

    public BitReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
        Overrun = false;
    }

    /// <summary>True once any read went past the end of the data; every later read returns 0.</summary>
    public bool Overrun { get; private set; }

    /// <summary>Bit position from the start of the data.</summary>
    public readonly long Position => _position;

    public readonly long RemainingBits => Overrun ? 0 : ((long)_data.Length * 8) - _position;

    public readonly bool IsByteAligned => (_position & 7) == 0;

    public bool ReadFlag() => ReadBit() != 0;

    public uint ReadBit()
    {
        if (_position >= (long)_data.Length * 8)
        {
            Overrun = true;
            return 0;
        }
        uint bit = (uint)(_data[(int)(_position >> 3)] >> (7 - (int)(_position & 7))) & 1;
        _position++;
        return bit;
    }

    /// <summary>Reads <paramref name="count"/> (0..32) bits as an unsigned big-endian number: the spec's u(n)/f(n).</summary>
    public uint ReadBits(int count)
    {
        if ((uint)count > 32) throw new ArgumentOutOfRangeException(nameof(count));
        if (count == 0) return 0;
        if (_position + count > (long)_data.Length * 8)
        {
            Overrun = true;
            _position = (long)_data.Length * 8;
            return 0;
        }
        // Fast path: load up to 8 bytes big-endian and shift the wanted bits out.
        int byteIndex = (int)(_position >> 3);
        int bitOffset = (int)(_position & 7);
        ulong window = 0;
        int available = Math.Min(8, _data.Length - byteIndex);
        if (available == 8) window = BinaryPrimitives.ReadUInt64BigEndian(_data.Slice(byteIndex, 8));
        else
        {
            for (int i = 0; i < available; i++) window |= (ulong)_data[byteIndex + i] << (56 - (8 * i));
        }
        _position += count;
        return (uint)((window << bitOffset) >> (64 - count));
    }

    public ulong ReadBits64(int count)
    {
        if ((uint)count > 64) throw new ArgumentOutOfRangeException(nameof(count));
        if (count <= 32) return ReadBits(count);
        ulong high = ReadBits(count - 32);
        return (high << 32) | ReadBits(32);
    }

    public void SkipBits(long count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        if (_position + count > (long)_data.Length * 8)
        {
            Overrun = true;
            _position = (long)_data.Length * 8;
            return;
        }
        _position += count;
    }

    /// <summary>Skips to the next byte boundary.</summary>
    public void AlignToByte() => _position = (_position + 7) & ~7L;

    /// <summary>
    /// ue(v), unsigned exp-Golomb (H.264 9.1): leadingZeroBits zeros, a one, then that many info bits.
    /// Values beyond 32 bits (more than 31 leading zeros) are malformed in every syntax element we read:
    /// they set <see cref="Overrun"/> and return 0.
    /// </summary>
    public uint ReadUe()
    {
        int leadingZeros = 0;
        while (ReadBit() == 0)
        {
            if (Overrun) return 0;
            if (++leadingZeros > 31)
            {
                Overrun = true;
                return 0;
            }
        }
        if (leadingZeros == 0) return 0;
        ulong value = (1UL << leadingZeros) - 1 + ReadBits(leadingZeros);
        if (Overrun) return 0;
        if (value > uint.MaxValue)
        {
            Overrun = true;
            return 0;
        }
        return (uint)value;
    }

    /// <summary>se(v), signed exp-Golomb (H.264 9.1.1): codeNum k maps to (-1)^(k+1) * Ceil(k / 2).</summary>
    public int ReadSe()
    {
        uint k = ReadUe();
        long magnitude = ((long)k + 1) >> 1;
        return (int)((k & 1) != 0 ? magnitude : -magnitude);
    }

    /// <summary>uvlc() from the AV1 spec (4.10.3): like ue(v) but up to 32 leading zeros means 2^32-1.</summary>
    public uint ReadUvlc()
    {
        int leadingZeros = 0;
        while (ReadBit() == 0)
        {
            if (Overrun) return 0;
            leadingZeros++;
        }
        if (leadingZeros >= 32) return uint.MaxValue;
        uint info = ReadBits(leadingZeros);
        return Overrun ? 0 : (uint)((1UL << leadingZeros) - 1 + info);
    }
}
