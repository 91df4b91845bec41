using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// A PES packet header (ISO/IEC 13818-1 2.4.3.6/2.4.3.7) with its PTS and DTS, the part of it a demuxer needs.
/// <code>
/// packet_start_code_prefix(24)=0x000001 stream_id(8) PES_packet_length(16)
/// '10' PES_scrambling_control(2) priority(1) data_alignment(1) copyright(1) original(1)
/// PTS_DTS_flags(2) ESCR(1) ES_rate(1) DSM_trick_mode(1) additional_copy_info(1) PES_CRC(1) extension(1)
/// PES_header_data_length(8)   ['0010'|'0011' PTS(33 in 3+15+15, marker after each)]   ['0001' DTS(33)]   stuffing…
/// </code>
/// A <see cref="PacketLength"/> of 0 means unbounded (allowed for video, 2.4.3.7): the packet ends where the next
/// PES starts. <see cref="Pts"/> and <see cref="Dts"/> are 33-bit 90 kHz values, -1 when absent.
/// </summary>
public readonly record struct PesHeader(byte StreamId, int PacketLength, long Pts, long Dts, int HeaderDataLength)
{
    private const long NoTimestamp = -1;

    /// <summary>Bytes from the start code to the first payload byte.</summary>
    public int Length => 9 + HeaderDataLength;

    /// <summary>Payload bytes announced by PES_packet_length, or -1 when unbounded.</summary>
    public int PayloadLength => PacketLength == 0 ? -1 : PacketLength - 3 - HeaderDataLength;

    public bool HasPts => Pts >= 0;

    /// <summary>DTS when given, else PTS (2.4.3.7: with no DTS the two are equal).</summary>
    public long DecodeTime => Dts >= 0 ? Dts : Pts;

    /// <summary>
    /// False when the start code is missing, the stream id is one without the optional header (padding, private 2,
    /// ECM, EMM, directory, DSMCC, H.222.1 type E: 2.4.3.6 — no audio or video uses them), the '10' marker is wrong,
    /// PTS_DTS_flags is the forbidden '01', or the header data does not fit what was announced.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out PesHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (data.Length < 9 || data[0] != 0 || data[1] != 0 || data[2] != 1) return false;
        byte streamId = data[3];
        if (streamId is 0xBC or 0xBE or 0xBF or 0xF0 or 0xF1 or 0xF2 or 0xF8 or 0xFF) return false;
        int packetLength = (data[4] << 8) | data[5];
        if ((data[6] & 0xC0) != 0x80) return false;
        int ptsDtsFlags = data[7] >> 6;
        if (ptsDtsFlags == 1) return false;
        int headerDataLength = data[8];
        int needed = ptsDtsFlags switch { 2 => 5, 3 => 10, _ => 0 };
        if (headerDataLength < needed || data.Length < 9 + headerDataLength) return false;
        if (packetLength != 0 && packetLength < 3 + headerDataLength) return false;
        long pts = ptsDtsFlags >= 2 ? ReadTimestamp(data[9..]) : NoTimestamp;
        long dts = ptsDtsFlags == 3 ? ReadTimestamp(data[14..]) : NoTimestamp;
        header = new PesHeader(streamId, packetLength, pts, dts, headerDataLength);
        consumed = 9 + headerDataLength;
        return true;
    }

    /// <summary>Writes the header with PTS (and DTS when it differs), padding the header data with 0xFF stuffing.</summary>
    public void Write(IBufferWriter<byte> writer)
    {
        writer.WriteByte(0);
        writer.WriteByte(0);
        writer.WriteByte(1);
        writer.WriteByte(StreamId);
        writer.WriteUInt16BigEndian((ushort)PacketLength);
        writer.WriteByte(0x80);
        int flags = Pts < 0 ? 0 : Dts < 0 ? 2 : 3;
        writer.WriteByte((byte)(flags << 6));
        writer.WriteByte((byte)HeaderDataLength);
        int written = 0;
        if (flags >= 2)
        {
            WriteTimestamp(writer, flags == 3 ? 0x3 : 0x2, Pts);
            written += 5;
        }
        if (flags == 3)
        {
            WriteTimestamp(writer, 0x1, Dts);
            written += 5;
        }
        for (; written < HeaderDataLength; written++) writer.WriteByte(0xFF);
    }

    /// <summary>2.4.3.7: 4-bit prefix, then bits 32..30, 29..15 and 14..0, each followed by a marker bit.</summary>
    private static long ReadTimestamp(ReadOnlySpan<byte> b) =>
        ((long)(b[0] >> 1 & 0x07) << 30) | ((long)b[1] << 22) | ((long)(b[2] >> 1) << 15) | ((long)b[3] << 7) | (long)(b[4] >> 1);

    private static void WriteTimestamp(IBufferWriter<byte> writer, int prefix, long value)
    {
        var b = writer.GetSpan(5);
        b[0] = (byte)((prefix << 4) | (int)((value >> 29) & 0x0E) | 1);
        b[1] = (byte)(value >> 22);
        b[2] = (byte)(((value >> 14) & 0xFE) | 1);
        b[3] = (byte)(value >> 7);
        b[4] = (byte)(((value << 1) & 0xFE) | 1);
        writer.Advance(5);
    }
}
