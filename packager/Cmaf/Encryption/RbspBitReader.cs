namespace Broadcast.Packager.Cmaf.Encryption;

/// <summary>
/// Reads the bits of a NAL unit's RBSP straight from its bytes as stored (ISO/IEC 14496-10 §7.3.1, §7.4.1; ITU-T H.265
/// §7.3.1.1, §7.4.2 have the same rule): an emulation_prevention_three_byte after two zero bytes is skipped, and
/// <see cref="BytesConsumed"/> counts stored bytes, so a header's length read in bits is its length in the sample. Damaged
/// input is an <see cref="InvalidDataException"/>.
/// </summary>
internal ref struct RbspBitReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;
    private int _bit;
    private int _zeros;

    public RbspBitReader(ReadOnlySpan<byte> data, int start)
    {
        _data = data;
        _position = start;
        SkipEmulationPrevention();
    }

    /// <summary>Stored bytes from the start of the data up to and including the one holding the last bit read.</summary>
    public readonly int BytesConsumed => _bit == 0 ? _position : _position + 1;

    /// <summary>Whether the next bit read starts a byte.</summary>
    public readonly bool IsByteAligned => _bit == 0;

    public bool ReadFlag() => ReadBit() == 1;

    /// <summary>Reads and drops <paramref name="count"/> bits.</summary>
    public void Skip(int count)
    {
        for (int i = 0; i < count; i++) ReadBit();
    }

    public int ReadBit()
    {
        if (_position >= _data.Length) throw new InvalidDataException("a NAL unit ends inside its header");
        int bit = (_data[_position] >> (7 - _bit)) & 1;
        if (++_bit == 8)
        {
            _bit = 0;
            _zeros = _data[_position] == 0 ? _zeros + 1 : 0;
            _position++;
            SkipEmulationPrevention();
        }
        return bit;
    }

    public uint ReadBits(int count)
    {
        uint value = 0;
        for (int i = 0; i < count; i++) value = (value << 1) | (uint)ReadBit();
        return value;
    }

    /// <summary>ue(v), Exp-Golomb (§9.1); values past 2^31 - 2 are refused (no field of ours is near them).</summary>
    public int ReadUe()
    {
        int zeros = 0;
        while (ReadBit() == 0)
            if (++zeros > 30) throw new InvalidDataException("an Exp-Golomb code is longer than 31 bits");
        return (int)((1u << zeros) - 1 + ReadBits(zeros));
    }

    /// <summary>se(v) (§9.1.1).</summary>
    public int ReadSe()
    {
        int k = ReadUe();
        return (k & 1) == 1 ? (k + 1) / 2 : -(k / 2);
    }

    /// <summary>ue(v) that must be at most <paramref name="max"/>.</summary>
    public int ReadUe(int max, string field)
    {
        int value = ReadUe();
        return value <= max ? value : throw new InvalidDataException($"{field} is {value}, more than {max}");
    }

    private void SkipEmulationPrevention()
    {
        if (_zeros >= 2 && _position < _data.Length && _data[_position] == 3)
        {
            _position++;
            _zeros = 0;
        }
    }
}
