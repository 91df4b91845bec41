using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// C1 / S1 and C2 / S2 (RTMP 1.0 §5.2.3, §5.2.4): 1536 bytes. C1/S1 are time(4) zero(4) random(1528);
/// the "zero" field is non-zero when a Flash Player 9+ client embeds an HMAC digest (see
/// <see cref="HandshakeDigest"/>). C2/S2 are time(4) time2(4) echo(1528). All three share this shape,
/// so one type carries the 1536 raw bytes and names the fields.
/// </summary>
public sealed class HandshakePacket
{
    public const int Length = 1536;

    public HandshakePacket(byte[] bytes)
    {
        if (bytes.Length != Length) throw new ArgumentException($"A handshake packet is {Length} bytes.", nameof(bytes));
        Bytes = bytes;
    }

    /// <summary>The raw 1536 bytes; the digest code works on them in place.</summary>
    public byte[] Bytes { get; }

    /// <summary>Epoch of the sender in milliseconds (bytes 0..3, big-endian).</summary>
    public uint Time
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Bytes);
        set => BinaryPrimitives.WriteUInt32BigEndian(Bytes, value);
    }

    /// <summary>Bytes 4..7: zero in the plain handshake of C1/S1, a version number in the digest handshake, time2 in C2/S2.</summary>
    public uint Version
    {
        get => BinaryPrimitives.ReadUInt32BigEndian(Bytes.AsSpan(4));
        set => BinaryPrimitives.WriteUInt32BigEndian(Bytes.AsSpan(4), value);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out HandshakePacket? value, out int consumed)
    {
        if (source.Length < Length)
        {
            value = null;
            consumed = 0;
            return false;
        }
        value = new HandshakePacket(source[..Length].ToArray());
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer) => writer.Write(Bytes);
}
