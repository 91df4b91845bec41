using System.Buffers.Binary;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// Big-endian writer over a caller-provided span (ISO BMFF is big-endian throughout, ISO/IEC 14496-12 §4.2).
/// Container boxes are written header-first with a size placeholder that <see cref="EndBox"/> patches once the
/// children are down, so no container needs to know its children's sizes up front. The caller sizes the span;
/// writing past it throws (a bug in a size computation, never a data-dependent fault).
/// </summary>
public ref struct BoxSpanWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public BoxSpanWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    /// <summary>Bytes written so far.</summary>
    public readonly int Position => _position;

    public void WriteUInt8(byte value) => _buffer[_position++] = value;

    public void WriteUInt16(ushort value)
    {
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.Slice(_position, 2), value);
        _position += 2;
    }

    public void WriteInt16(short value)
    {
        BinaryPrimitives.WriteInt16BigEndian(_buffer.Slice(_position, 2), value);
        _position += 2;
    }

    public void WriteUInt24(uint value)
    {
        var span = _buffer.Slice(_position, 3);
        span[0] = (byte)(value >> 16);
        span[1] = (byte)(value >> 8);
        span[2] = (byte)value;
        _position += 3;
    }

    public void WriteUInt32(uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(_position, 4), value);
        _position += 4;
    }

    public void WriteInt32(int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.Slice(_position, 4), value);
        _position += 4;
    }

    public void WriteUInt64(ulong value)
    {
        BinaryPrimitives.WriteUInt64BigEndian(_buffer.Slice(_position, 8), value);
        _position += 8;
    }

    public void WriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer.Slice(_position, bytes.Length));
        _position += bytes.Length;
    }

    public void WriteZeros(int count)
    {
        _buffer.Slice(_position, count).Clear();
        _position += count;
    }

    /// <summary>Box header (§4.2) with a known 32-bit size.</summary>
    public void WriteBoxHeader(int size, uint type)
    {
        WriteUInt32((uint)size);
        WriteUInt32(type);
    }

    /// <summary>FullBox header (§4.2): box header plus version (8 bits) and flags (24 bits).</summary>
    public void WriteFullBoxHeader(int size, uint type, byte version, uint flags)
    {
        WriteBoxHeader(size, type);
        WriteUInt8(version);
        WriteUInt24(flags);
    }

    /// <summary>Opens a container box; returns the offset to hand to <see cref="EndBox"/>.</summary>
    public int StartBox(uint type)
    {
        int start = _position;
        WriteBoxHeader(0, type);
        return start;
    }

    /// <summary>Opens a container FullBox (e.g. stsd, dref); returns the offset to hand to <see cref="EndBox"/>.</summary>
    public int StartFullBox(uint type, byte version, uint flags)
    {
        int start = _position;
        WriteFullBoxHeader(0, type, version, flags);
        return start;
    }

    /// <summary>Patches the size of the box opened at <paramref name="start"/> now that its children are written.</summary>
    public readonly void EndBox(int start) =>
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(start, 4), (uint)(_position - start));
}
