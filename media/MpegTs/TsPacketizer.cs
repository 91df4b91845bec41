using System.Buffers;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// Writes PSI sections and PES packets as 188-byte transport packets (ISO/IEC 13818-1 2.4.3), keeping each PID's
/// continuity counter: a section starts after a pointer_field of 0 and its last packet is filled with 0xFF (2.4.4.2);
/// a PES's last packet is filled by adaptation-field stuffing (2.4.3.5), never by payload padding. For feeding a child
/// process an elementary stream in the one container both sides read; not a general-purpose muxer (no PCR).
/// </summary>
public sealed class TsPacketizer
{
    private const int PayloadCapacity = TsPacketHeader.PacketSize - 4;

    private readonly Dictionary<ushort, byte> _continuity = [];
    private readonly ArrayBufferWriter<byte> _pes = new(4096);

    /// <summary>Writes one PSI section (table_id through CRC_32) on <paramref name="pid"/>.</summary>
    public void WriteSection(IBufferWriter<byte> writer, ushort pid, ReadOnlySpan<byte> section)
    {
        ArgumentNullException.ThrowIfNull(writer);
        bool first = true;
        while (first || !section.IsEmpty)
        {
            new TsPacketHeader(false, first, pid, 0, false, true, NextContinuity(pid), 0).Write(writer);
            var payload = writer.GetSpan(PayloadCapacity)[..PayloadCapacity];
            int at = 0;
            if (first) payload[at++] = 0; // pointer_field: the section starts right after it
            int take = Math.Min(section.Length, PayloadCapacity - at);
            section[..take].CopyTo(payload[at..]);
            payload[(at + take)..].Fill(0xFF);
            writer.Advance(PayloadCapacity);
            section = section[take..];
            first = false;
        }
    }

    /// <summary>Writes one PES packet with a PTS (90 kHz, 33 bits) around <paramref name="payload"/> on <paramref name="pid"/>.</summary>
    public void WritePes(IBufferWriter<byte> writer, ushort pid, byte streamId, long pts, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(writer);
        const int headerData = 5;
        int packetLength = 3 + headerData + payload.Length;
        _pes.ResetWrittenCount();
        // PES_packet_length 0 ("unbounded") is allowed only for video (2.4.3.7); audio access units are far below 64 KiB.
        new PesHeader(streamId, packetLength <= ushort.MaxValue ? packetLength : 0, pts & ((1L << 33) - 1), -1, headerData).Write(_pes);
        _pes.Write(payload);
        var pes = _pes.WrittenSpan;
        bool first = true;
        while (!pes.IsEmpty)
        {
            int take = Math.Min(pes.Length, PayloadCapacity);
            int stuffing = PayloadCapacity - take;
            new TsPacketHeader(false, first, pid, 0, stuffing > 0, true, NextContinuity(pid), stuffing > 0 ? (byte)(stuffing - 1) : (byte)0)
                .Write(writer);
            writer.Write(pes[..take]);
            pes = pes[take..];
            first = false;
        }
    }

    private byte NextContinuity(ushort pid)
    {
        byte next = _continuity.TryGetValue(pid, out byte last) ? (byte)((last + 1) & 0x0F) : (byte)0;
        _continuity[pid] = next;
        return next;
    }
}
