using System.Buffers;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// C0 / S0 (RTMP 1.0 §5.2.2): one byte, the RTMP version. Version 3 is plain RTMP; 6 would be RTMPE,
/// which we do not speak.
/// </summary>
public readonly record struct HandshakeC0(byte Version)
{
    public const int Length = 1;
    public const byte Rtmp = 3;

    public static bool TryRead(ReadOnlySpan<byte> source, out HandshakeC0 value, out int consumed)
    {
        if (source.Length < Length)
        {
            value = default;
            consumed = 0;
            return false;
        }
        value = new HandshakeC0(source[0]);
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        writer.GetSpan(1)[0] = Version;
        writer.Advance(1);
    }
}
