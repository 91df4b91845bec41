using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>stream_type values (ISO/IEC 13818-1 Table 2-34) of the elementary streams the demuxer takes.</summary>
public static class TsStreamType
{
    /// <summary>ISO/IEC 13818-7 AAC with ADTS framing.</summary>
    public const byte AacAdts = 0x0F;

    public const byte H264 = 0x1B;

    public const byte Hevc = 0x24;

    /// <summary>PES private data: Opus (with an 'Opus' registration descriptor), KLV, SMPTE 302M, DVB subtitles…</summary>
    public const byte PrivatePes = 0x06;

    /// <summary>ISO/IEC 11172-3 MPEG-1 audio (MP2).</summary>
    public const byte Mpeg1Audio = 0x03;

    /// <summary>SCTE 35 splice information (SCTE 35 §8.1).</summary>
    public const byte Scte35 = 0x86;
}

/// <summary>One elementary stream of a program: its type, PID and descriptor bytes.</summary>
public sealed record PmtStream(byte StreamType, ushort Pid, byte[] Descriptors)
{
    /// <summary>How logs name it: stream_type, PID, and its language when an ISO 639 descriptor gives one.</summary>
    public string Describe() => Iso639LanguageDescriptor.Find(this) is { } language
        ? $"0x{StreamType:X2} on PID {Pid} ({language})"
        : $"0x{StreamType:X2} on PID {Pid}";
}

/// <summary>
/// TS_program_map_section (ISO/IEC 13818-1 2.4.4.8).
/// <code>
/// table_id(8)=0x02 section_syntax_indicator(1)=1 '0' reserved(2) section_length(12)
/// program_number(16) reserved(2) version_number(5) current_next_indicator(1) section_number(8)=0 last_section_number(8)=0
/// reserved(3) PCR_PID(13) reserved(4) program_info_length(12) descriptor…
/// { stream_type(8) reserved(3) elementary_PID(13) reserved(4) ES_info_length(12) descriptor… }…   CRC_32(32)
/// </code>
/// </summary>
public sealed record ProgramMapSection(ushort ProgramNumber, byte Version, ushort PcrPid, IReadOnlyList<PmtStream> Streams)
{
    public const byte TableId = 0x02;

    public static bool TryRead(ReadOnlySpan<byte> section, out ProgramMapSection pmt, out int consumed)
    {
        pmt = null!;
        if (!PsiSection.TryFrame(section, TableId, out var body, out consumed)) return false;
        if (body.Length < 4) return false;
        ushort pcrPid = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(body) & 0x1FFF);
        int programInfoLength = BinaryPrimitives.ReadUInt16BigEndian(body[2..]) & 0x0FFF;
        if (body.Length < 4 + programInfoLength) return false;
        var rest = body[(4 + programInfoLength)..];
        var streams = new List<PmtStream>();
        while (rest.Length > 0)
        {
            if (rest.Length < 5) return false;
            int infoLength = BinaryPrimitives.ReadUInt16BigEndian(rest[3..]) & 0x0FFF;
            if (rest.Length < 5 + infoLength) return false;
            streams.Add(new PmtStream(rest[0], (ushort)(BinaryPrimitives.ReadUInt16BigEndian(rest[1..]) & 0x1FFF),
                rest.Slice(5, infoLength).ToArray()));
            rest = rest[(5 + infoLength)..];
        }
        pmt = new ProgramMapSection(BinaryPrimitives.ReadUInt16BigEndian(section[3..]), (byte)((section[5] >> 1) & 0x1F), pcrPid, streams);
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var body = new ArrayBufferWriter<byte>();
        body.WriteUInt16BigEndian((ushort)(0xE000 | PcrPid));
        body.WriteUInt16BigEndian(0xF000); // no program descriptors
        foreach (var stream in Streams)
        {
            body.WriteByte(stream.StreamType);
            body.WriteUInt16BigEndian((ushort)(0xE000 | stream.Pid));
            body.WriteUInt16BigEndian((ushort)(0xF000 | stream.Descriptors.Length));
            body.Write(stream.Descriptors);
        }
        PsiSection.Write(writer, TableId, ProgramNumber, Version, body.WrittenSpan);
    }
}
