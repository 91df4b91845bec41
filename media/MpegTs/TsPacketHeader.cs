using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// The header of one 188-byte transport stream packet (ISO/IEC 13818-1 2.4.3.2) and the length of its adaptation
/// field (2.4.3.4), whose contents (PCR, splice countdown) the demuxer does not need.
/// <code>
/// sync_byte(8)=0x47
/// transport_error_indicator(1) payload_unit_start_indicator(1) transport_priority(1) PID(13)
/// transport_scrambling_control(2) adaptation_field_control(2) continuity_counter(4)
/// [adaptation_field_length(8) adaptation_field…]   when adaptation_field_control is 2 or 3
/// </code>
/// </summary>
public readonly record struct TsPacketHeader(
    bool TransportError,
    bool PayloadUnitStart,
    ushort Pid,
    byte Scrambling,
    bool HasAdaptationField,
    bool HasPayload,
    byte ContinuityCounter,
    byte AdaptationFieldLength)
{
    public const int PacketSize = 188;
    public const byte SyncByte = 0x47;
    public const ushort NullPid = 0x1FFF;

    /// <summary>
    /// Reads the header of the packet at the start of <paramref name="packet"/>. <paramref name="consumed"/> is where
    /// the payload starts (after the adaptation field). False when the sync byte is missing, the packet is short, or
    /// the adaptation field runs past the packet (2.4.3.5: at most 183 bytes with a payload, 183 without).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> packet, out TsPacketHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (packet.Length < PacketSize || packet[0] != SyncByte) return false;
        int control = (packet[3] >> 4) & 0x3;
        if (control == 0) return false; // 2.4.3.3: '00' is reserved; a decoder discards the packet
        bool adaptation = (control & 0x2) != 0;
        bool payload = (control & 0x1) != 0;
        byte adaptationLength = 0;
        int offset = 4;
        if (adaptation)
        {
            adaptationLength = packet[4];
            // With a payload the field leaves at least one payload byte (0..182); without, it fills the packet (183).
            if (payload ? adaptationLength > 182 : adaptationLength != 183) return false;
            offset = 5 + adaptationLength;
        }
        header = new TsPacketHeader(
            (packet[1] & 0x80) != 0,
            (packet[1] & 0x40) != 0,
            (ushort)(((packet[1] & 0x1F) << 8) | packet[2]),
            (byte)(packet[3] >> 6),
            adaptation,
            payload,
            (byte)(packet[3] & 0x0F),
            adaptationLength);
        consumed = offset;
        return true;
    }

    /// <summary>Writes the 4-byte header and, when present, the adaptation field as stuffing (flags 0, then 0xFF).</summary>
    public void Write(IBufferWriter<byte> writer)
    {
        writer.WriteByte(SyncByte);
        writer.WriteUInt16BigEndian((ushort)((TransportError ? 0x8000 : 0) | (PayloadUnitStart ? 0x4000 : 0) | (Pid & 0x1FFF)));
        writer.WriteByte((byte)((Scrambling << 6) | (HasAdaptationField ? 0x20 : 0) | (HasPayload ? 0x10 : 0) | (ContinuityCounter & 0x0F)));
        if (!HasAdaptationField) return;
        writer.WriteByte(AdaptationFieldLength);
        if (AdaptationFieldLength == 0) return;
        var field = writer.GetSpan(AdaptationFieldLength)[..AdaptationFieldLength];
        field[0] = 0x00; // no discontinuity, random access, PCR or other flags
        field[1..].Fill(0xFF);
        writer.Advance(AdaptationFieldLength);
    }
}
