namespace Broadcast.Media.Bits;

/// <summary>
/// MSB-first bit writer into a caller-provided span (the mirror of <see cref="BitReader"/>), for the
/// bit-packed headers we also write: AudioSpecificConfig, av1C, hvcC. Bits past the end set <see cref="Overflow"/>.
/// </summary>
public ref struct BitWriter
{
    private readonly Span<byte> _data;
    private int _position;

    public BitWriter(Span<byte> data)
    {
        _data = data;
        _data.Clear();
        _position = 0;
        Overflow = false;
    }

    public bool Overflow { get; private set; }

    public readonly int BitPosition => _position;

    /// <summary>Bytes touched so far (a partial last byte counts, zero-padded).</summary>
    public readonly int BytesWritten => (_position + 7) >> 3;

    public void WriteBits(ulong value, int count)
    {
        if ((uint)count > 64) throw new ArgumentOutOfRangeException(nameof(count));
        for (int i = count - 1; i >= 0; i--)
        {
            if (_position >= _data.Length * 8)
            {
                Overflow = true;
                return;
            }
            if (((value >> i) & 1) != 0) _data[_position >> 3] |= (byte)(0x80 >> (_position & 7));
            _position++;
        }
    }

    public void WriteFlag(bool value) => WriteBits(value ? 1UL : 0UL, 1);

    public void WriteUe(uint value)
    {
        ulong codeNum = (ulong)value + 1;
        int bits = 64 - System.Numerics.BitOperations.LeadingZeroCount(codeNum);
        WriteBits(0, bits - 1);
        WriteBits(codeNum, bits);
    }

    public void WriteSe(int value) =>
        WriteUe(value > 0 ? (uint)((2L * value) - 1) : (uint)(-2L * value));
}
