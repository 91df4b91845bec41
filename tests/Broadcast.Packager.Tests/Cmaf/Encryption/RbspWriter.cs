namespace Broadcast.Packager.Tests.Cmaf.Encryption;

/// <summary>
/// Writes the bits of an RBSP (u(n), ue(v), se(v): ITU-T H.265 §7.2, §9.2) and wraps it as a NAL unit with its two-byte
/// header and emulation prevention bytes (§7.4.2), for test streams x265 cannot make.
/// </summary>
internal sealed class RbspWriter
{
    private readonly List<byte> _bytes = [];
    private int _current, _bits;

    public int BitCount => _bytes.Count * 8 + _bits;

    public RbspWriter U(long value, int count)
    {
        for (int i = count - 1; i >= 0; i--)
        {
            _current = (_current << 1) | (int)((value >> i) & 1);
            if (++_bits == 8)
            {
                _bytes.Add((byte)_current);
                _current = _bits = 0;
            }
        }
        return this;
    }

    public RbspWriter Flag(bool value) => U(value ? 1 : 0, 1);

    public RbspWriter Flags(string bits)
    {
        foreach (char c in bits) Flag(c == '1');
        return this;
    }

    public RbspWriter Ue(long value)
    {
        long code = value + 1;
        int length = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)code);
        return U(0, length - 1).U(code, length);
    }

    public RbspWriter Se(int value) => Ue(value > 0 ? 2L * value - 1 : -2L * value);

    /// <summary>A one, then zeros to the byte's end: byte_alignment() and rbsp_trailing_bits() alike (§7.3.2.11, §7.3.2.12).</summary>
    public RbspWriter AlignWithOne()
    {
        Flag(true);
        while (_bits != 0) Flag(false);
        return this;
    }

    /// <summary>Fills the byte with <paramref name="bit"/>s (for damaged headers that do not end with byte_alignment()).</summary>
    public RbspWriter PadWith(bool bit)
    {
        while (_bits != 0) Flag(bit);
        return this;
    }

    public RbspWriter Bytes(params byte[] bytes)
    {
        foreach (byte b in bytes) U(b, 8);
        return this;
    }

    /// <summary>The whole bytes written so far.</summary>
    public int ByteCount => _bytes.Count;

    /// <summary>A NAL unit of <paramref name="type"/> (layer 0, temporal id 0) holding what was written, escaped.</summary>
    public byte[] Nal(int type, int layer = 0)
    {
        if (_bits != 0) throw new InvalidOperationException("the RBSP does not end on a byte");
        var nal = new List<byte> { (byte)(type << 1 | layer >> 5), (byte)((layer & 31) << 3 | 1) };
        Broadcast.TestSupport.NalEscaping.Append(nal, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_bytes));
        return [.. nal];
    }
}
