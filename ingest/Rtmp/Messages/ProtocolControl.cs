using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Ingest.Rtmp;

/// <summary>Set Chunk Size, type 1 (RTMP 1.0 §5.4.1): 31-bit size, top bit zero, 1..0x7FFFFFFF.</summary>
public readonly record struct SetChunkSize(uint Size)
{
    public const int Length = 4;

    public static bool TryRead(ReadOnlySpan<byte> source, out SetChunkSize value, out int consumed)
    {
        value = default;
        consumed = 0;
        if (source.Length < Length) return false;
        uint size = BinaryPrimitives.ReadUInt32BigEndian(source);
        if (size == 0 || size > 0x7FFFFFFF) return false;
        value = new SetChunkSize(size);
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer) => ProtocolControl.WriteUInt32(writer, Size);
}

/// <summary>Abort Message, type 2 (§5.4.2): the chunk stream whose partial message to discard.</summary>
public readonly record struct AbortMessage(uint ChunkStreamId)
{
    public static bool TryRead(ReadOnlySpan<byte> source, out AbortMessage value, out int consumed)
    {
        bool ok = ProtocolControl.TryReadUInt32(source, out uint v, out consumed);
        value = new AbortMessage(v);
        return ok;
    }

    public void Write(IBufferWriter<byte> writer) => ProtocolControl.WriteUInt32(writer, ChunkStreamId);
}

/// <summary>Acknowledgement, type 3 (§5.4.3): bytes received so far (wrapping at 2^32).</summary>
public readonly record struct Acknowledgement(uint SequenceNumber)
{
    public static bool TryRead(ReadOnlySpan<byte> source, out Acknowledgement value, out int consumed)
    {
        bool ok = ProtocolControl.TryReadUInt32(source, out uint v, out consumed);
        value = new Acknowledgement(v);
        return ok;
    }

    public void Write(IBufferWriter<byte> writer) => ProtocolControl.WriteUInt32(writer, SequenceNumber);
}

/// <summary>Window Acknowledgement Size, type 5 (§5.4.4): send an Acknowledgement after this many bytes.</summary>
public readonly record struct WindowAcknowledgementSize(uint Size)
{
    public static bool TryRead(ReadOnlySpan<byte> source, out WindowAcknowledgementSize value, out int consumed)
    {
        bool ok = ProtocolControl.TryReadUInt32(source, out uint v, out consumed);
        value = new WindowAcknowledgementSize(v);
        return ok;
    }

    public void Write(IBufferWriter<byte> writer) => ProtocolControl.WriteUInt32(writer, Size);
}

public enum PeerBandwidthLimit : byte
{
    Hard = 0,
    Soft = 1,
    Dynamic = 2,
}

/// <summary>Set Peer Bandwidth, type 6 (§5.4.5): window size and limit type.</summary>
public readonly record struct SetPeerBandwidth(uint Size, PeerBandwidthLimit Limit)
{
    public const int Length = 5;

    public static bool TryRead(ReadOnlySpan<byte> source, out SetPeerBandwidth value, out int consumed)
    {
        value = default;
        consumed = 0;
        if (source.Length < Length || source[4] > 2) return false;
        value = new SetPeerBandwidth(BinaryPrimitives.ReadUInt32BigEndian(source), (PeerBandwidthLimit)source[4]);
        consumed = Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(Length);
        BinaryPrimitives.WriteUInt32BigEndian(span, Size);
        span[4] = (byte)Limit;
        writer.Advance(Length);
    }
}

public enum UserControlEventType : ushort
{
    StreamBegin = 0,
    StreamEof = 1,
    StreamDry = 2,
    SetBufferLength = 3,
    StreamIsRecorded = 4,
    PingRequest = 6,
    PingResponse = 7,
}

/// <summary>
/// User Control Message, type 4 (§6.2, §7.1.7): a 2-byte event type and its data — one 4-byte value (stream id or
/// timestamp), plus a buffer length in milliseconds for Set Buffer Length.
/// </summary>
public readonly record struct UserControlMessage(UserControlEventType EventType, uint Value, uint BufferLengthMs = 0)
{
    public static bool TryRead(ReadOnlySpan<byte> source, out UserControlMessage value, out int consumed)
    {
        value = default;
        consumed = 0;
        if (source.Length < 6) return false;
        var type = (UserControlEventType)BinaryPrimitives.ReadUInt16BigEndian(source);
        uint v = BinaryPrimitives.ReadUInt32BigEndian(source[2..]);
        if (type == UserControlEventType.SetBufferLength)
        {
            if (source.Length < 10) return false;
            value = new UserControlMessage(type, v, BinaryPrimitives.ReadUInt32BigEndian(source[6..]));
            consumed = 10;
            return true;
        }
        value = new UserControlMessage(type, v);
        consumed = 6;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        int length = EventType == UserControlEventType.SetBufferLength ? 10 : 6;
        var span = writer.GetSpan(length);
        BinaryPrimitives.WriteUInt16BigEndian(span, (ushort)EventType);
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], Value);
        if (length == 10) BinaryPrimitives.WriteUInt32BigEndian(span[6..], BufferLengthMs);
        writer.Advance(length);
    }
}

internal static class ProtocolControl
{
    public static bool TryReadUInt32(ReadOnlySpan<byte> source, out uint value, out int consumed)
    {
        if (source.Length < 4)
        {
            value = 0;
            consumed = 0;
            return false;
        }
        value = BinaryPrimitives.ReadUInt32BigEndian(source);
        consumed = 4;
        return true;
    }

    public static void WriteUInt32(IBufferWriter<byte> writer, uint value)
    {
        BinaryPrimitives.WriteUInt32BigEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }
}
