using System.Buffers;
using Broadcast.Media.MpegTs;
using Broadcast.Media.Scte35;

namespace Broadcast.TestSupport;

/// <summary>
/// Puts SCTE-35 into a real (ffmpeg-written) MPEG-TS the way a broadcast encoder carries it (SCTE 35 §8.1): the PMT lists
/// a stream_type 0x86 PID, and each splice_info_section goes on that PID as PSI — pointer_field in the first packet,
/// continued in the next ones. ffmpeg's mpegts muxer cannot write SCTE-35, hence this.
/// </summary>
public sealed class Scte35TsWriter(int pid = Scte35TsWriter.DefaultPid)
{
    public const int DefaultPid = 0x1F0;

    private const int PacketSize = TsPacketHeader.PacketSize;

    private int _continuity;

    public int Pid { get; } = pid;

    /// <summary>
    /// The section's packets. <paramref name="firstChunk"/> bytes of it go in the first packet (the rest of that packet
    /// is adaptation-field stuffing) and the remainder in the following ones: a section split across packets.
    /// </summary>
    public byte[] Packets(ReadOnlySpan<byte> section, int? firstChunk = null)
    {
        var output = new List<byte>();
        bool first = true;
        while (first || !section.IsEmpty)
        {
            int room = PacketSize - 4 - (first ? 1 : 0);
            int take = Math.Min(section.Length, first && firstChunk is int chunk ? chunk : room);
            var packet = new byte[PacketSize];
            packet[0] = TsPacketHeader.SyncByte;
            packet[1] = (byte)((first ? 0x40 : 0) | (Pid >> 8));
            packet[2] = (byte)Pid;
            int at = 4;
            int stuffing = room - take;
            if (first && firstChunk is not null && stuffing > 0)
            {
                // adaptation_field_control 3: an adaptation field of stuffing bytes shortens the payload (2.4.3.5).
                packet[3] = (byte)(0x30 | _continuity);
                packet[4] = (byte)(stuffing - 1);
                if (stuffing > 1) packet[5] = 0x00;
                Array.Fill(packet, (byte)0xFF, 6, Math.Max(0, stuffing - 2));
                at = 4 + stuffing;
            }
            else
            {
                packet[3] = (byte)(0x10 | _continuity);
                Array.Fill(packet, (byte)0xFF, 4, PacketSize - 4);
            }
            if (first) packet[at++] = 0; // pointer_field: the section starts right away
            section[..take].CopyTo(packet.AsSpan(at));
            section = section[take..];
            _continuity = (_continuity + 1) & 0x0F;
            output.AddRange(packet);
            first = false;
        }
        return [.. output];
    }

    public byte[] Packets(SpliceInfoSection section, int? firstChunk = null) => Packets(section.ToArray(), firstChunk);

    /// <summary>A copy of <paramref name="ts"/> whose every PMT lists this PID as SCTE-35 (stream_type 0x86).</summary>
    public byte[] WithSplicePid(byte[] ts)
    {
        var copy = (byte[])ts.Clone();
        int pmtPid = -1;
        for (int at = 0; at + PacketSize <= copy.Length; at += PacketSize)
        {
            var packet = copy.AsSpan(at, PacketSize);
            int pid = ((packet[1] & 0x1F) << 8) | packet[2];
            if ((packet[1] & 0x40) == 0 || (pid != 0 && pid != pmtPid)) continue;
            int payload = (packet[3] & 0x20) != 0 ? 5 + packet[4] : 4;
            var section = packet[(payload + 1 + packet[payload])..];
            if (pid == 0)
            {
                if (ProgramAssociationSection.TryRead(section, out var pat, out _) && pat.FirstProgramMapPid is ushort p) pmtPid = p;
                continue;
            }
            if (!ProgramMapSection.TryRead(section, out var pmt, out _)) throw new InvalidOperationException($"unreadable PMT in packet {at / PacketSize}");
            var rewritten = new ArrayBufferWriter<byte>();
            (pmt with { Streams = [.. pmt.Streams, new PmtStream(TsStreamType.Scte35, (ushort)Pid, [])] }).Write(rewritten);
            var rest = packet[payload..];
            rest.Fill(0xFF);
            rest[0] = 0;
            rewritten.WrittenSpan.CopyTo(rest[1..]);
        }
        if (pmtPid < 0) throw new InvalidOperationException("no PAT naming a PMT in the stream");
        return copy;
    }

    /// <summary><paramref name="ts"/> with <paramref name="packets"/> put in after its first <paramref name="afterPackets"/> packets.</summary>
    public static byte[] Insert(byte[] ts, int afterPackets, byte[] packets) =>
        [.. ts.AsSpan(0, afterPackets * PacketSize), .. packets, .. ts.AsSpan(afterPackets * PacketSize)];
}
