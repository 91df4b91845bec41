using System.Buffers;
using Broadcast.Media.MpegTs;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>Case tables (name, decoded, bytes) for the MPEG-TS wire types: each drives the read and the write test and seeds the fuzzer.</summary>
public class MpegTsWireTests
{
    // ISO/IEC 13818-1 2.4.3.2: the 4-byte header, then the adaptation field when adaptation_field_control says so.
    public static TheoryData<string, TsPacketHeader, string> PacketHeaders => new()
    {
        { "PAT, payload start, no adaptation field", new(false, true, 0, 0, false, true, 0, 0), "47 4000 10" },
        { "video PID 256, continuation, counter 7", new(false, false, 0x100, 0, false, true, 7, 0), "47 0100 17" },
        { "adaptation field of 7 then payload", new(false, true, 0x100, 0, true, true, 0, 7), "47 4100 30 07 00FFFFFFFFFFFF" },
        { "empty adaptation field (length 0)", new(false, false, 0x101, 0, true, true, 15, 0), "47 0101 3F 00" },
        { "transport error indicator", new(true, false, 0x100, 0, false, true, 3, 0), "47 8100 13" },
        { "null packet", new(false, false, TsPacketHeader.NullPid, 0, false, true, 0, 0), "47 1FFF 10" },
    };

    [Theory]
    [MemberData(nameof(PacketHeaders))]
    public void Reads_packet_headers(string name, TsPacketHeader decoded, string hex)
    {
        var bytes = Packet(hex);
        Assert.True(TsPacketHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(Convert.FromHexString(hex.Replace(" ", "")).Length, consumed);
    }

    [Theory]
    [MemberData(nameof(PacketHeaders))]
    public void Writes_packet_headers(string name, TsPacketHeader decoded, string hex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.Equal(hex.Replace(" ", ""), Convert.ToHexString(buffer.WrittenSpan), ignoreCase: true);
        Assert.NotNull(name);
    }

    [Theory]
    [InlineData("no sync byte", "48 4000 10")]
    [InlineData("reserved adaptation_field_control 00", "47 4000 00")]
    [InlineData("adaptation field of 183 with a payload", "47 4100 30 B7")]
    [InlineData("adaptation-only packet whose field does not fill it", "47 4100 20 10")]
    public void Refuses_malformed_packet_headers(string name, string hex)
    {
        Assert.False(TsPacketHeader.TryRead(Packet(hex), out _, out _), name);
    }

    [Fact]
    public void Refuses_a_short_packet() => Assert.False(TsPacketHeader.TryRead(Convert.FromHexString("47400010"), out _, out _));

    // 2.4.3.6/2.4.3.7: start code, stream id, length, flags, header data length, PTS/DTS in 5 bytes with markers.
    public static TheoryData<string, PesHeader, string> PesHeaders => new()
    {
        { "video, unbounded, PTS and DTS", new(0xE0, 0, 0x1_0000_0000 + 126_000, 120_000, 10), "000001 E0 0000 80 C0 0A 39 0007 D8 61 11 0007 A9 81" },
        { "audio, bounded, PTS only", new(0xC0, 0x2D0, 1, -1, 5), "000001 C0 02D0 80 80 05 21 0001 0003" },
        { "no timestamps", new(0xE0, 0, -1, -1, 0), "000001 E0 0000 80 00 00" },
        { "PTS with stuffing after it", new(0xC0, 0x10, 90_000, -1, 7), "000001 C0 0010 80 80 07 21 0005 BF 21 FFFF" },
        { "largest 33-bit PTS", new(0xE0, 0, (1L << 33) - 1, -1, 5), "000001 E0 0000 80 80 05 2F FFFF FFFF" },
    };

    [Theory]
    [MemberData(nameof(PesHeaders))]
    public void Reads_pes_headers(string name, PesHeader decoded, string hex)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", ""));
        Assert.True(PesHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(PesHeaders))]
    public void Writes_pes_headers(string name, PesHeader decoded, string hex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.Equal(hex.Replace(" ", ""), Convert.ToHexString(buffer.WrittenSpan), ignoreCase: true);
        Assert.NotNull(name);
    }

    [Theory]
    [InlineData("no start code", "000002 E0 0000 80 80 05 21 0001 0003")]
    [InlineData("padding stream has no optional header", "000001 BE 0000 80 80 05 21 0001 0003")]
    [InlineData("marker bits are not '10'", "000001 E0 0000 40 80 05 21 0001 0003")]
    [InlineData("forbidden PTS_DTS_flags 01", "000001 E0 0000 80 40 05 21 0001 0003")]
    [InlineData("header data too short for PTS and DTS", "000001 E0 0000 80 C0 05 21 0001 0003")]
    [InlineData("header data runs past the buffer", "000001 E0 0000 80 80 09 21 0001 0003")]
    [InlineData("PES_packet_length shorter than its header", "000001 C0 0004 80 80 05 21 0001 0003")]
    [InlineData("cut inside the fixed part", "000001 E0 0000 80")]
    public void Refuses_malformed_pes_headers(string name, string hex)
    {
        Assert.False(PesHeader.TryRead(Convert.FromHexString(hex.Replace(" ", "")), out _, out _), name);
    }

    // ISO/IEC 14496-3 1.A.2.2: 7 bytes without CRC, 9 with.
    public static TheoryData<string, AdtsHeader, string> AdtsHeaders => new()
    {
        { "AAC LC 48 kHz stereo, 371 bytes", new(false, true, 1, 3, 2, 371, 0x7FF, 0), "FFF1 4C 80 2E 7F FC" },
        { "AAC LC 44.1 kHz mono, MPEG-2 ID, with CRC", new(true, false, 1, 4, 1, 200, 0x7FF, 0), "FFF8 50 40 19 1F FC 0000" },
        { "HE-AAC signalled as LC 24 kHz stereo", new(false, true, 1, 6, 2, 9, 0, 0), "FFF1 58 80 01 20 00" },
    };

    [Theory]
    [MemberData(nameof(AdtsHeaders))]
    public void Reads_adts_headers(string name, AdtsHeader decoded, string hex)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", ""));
        Assert.True(AdtsHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(AdtsHeaders))]
    public void Writes_adts_headers(string name, AdtsHeader decoded, string hex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.Equal(hex.Replace(" ", ""), Convert.ToHexString(buffer.WrittenSpan), ignoreCase: true);
        Assert.NotNull(name);
    }

    [Fact]
    public void Adts_header_implies_the_audio_specific_config()
    {
        Assert.True(AdtsHeader.TryRead(Convert.FromHexString("FFF14C802E7FFC"), out var header, out _));
        Span<byte> asc = stackalloc byte[2];
        header.WriteAudioSpecificConfig(asc);
        Assert.Equal("1190", Convert.ToHexString(asc)); // AAC LC (2), 48 kHz (index 3), 2 channels
    }

    [Theory]
    [InlineData("no syncword", "FFE1 4C 80 2E 7F FC")]
    [InlineData("layer not 00", "FFF3 4C 80 2E 7F FC")]
    [InlineData("reserved sampling frequency index 13", "FFF1 74 80 2E 7F FC")]
    [InlineData("frame shorter than its header", "FFF1 4C 80 00 DF FC")]
    [InlineData("cut inside the header", "FFF1 4C 80")]
    public void Refuses_malformed_adts_headers(string name, string hex)
    {
        Assert.False(AdtsHeader.TryRead(Convert.FromHexString(hex.Replace(" ", "")), out _, out _), name);
    }

    // 2.4.4.3 / 2.4.4.8 with CRC_32 (Annex A). The PAT and PMT are ffmpeg's for H.264 + AAC, byte for byte.
    public static TheoryData<string, ProgramAssociationSection, string> Pats => new()
    {
        { "ffmpeg: program 1 on PID 0x1000", new(1, 0, [new PatProgram(1, 0x1000)]), "00 B00D 0001 C1 00 00 0001 F000 2AB104B2" },
    };

    [Theory]
    [MemberData(nameof(Pats))]
    public void Reads_and_writes_pats(string name, ProgramAssociationSection decoded, string hex)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", ""));
        Assert.True(ProgramAssociationSection.TryRead(bytes, out var pat, out int consumed), name);
        Assert.Equal((decoded.TransportStreamId, decoded.Version), (pat.TransportStreamId, pat.Version));
        Assert.Equal(decoded.Programs, pat.Programs);
        Assert.Equal(bytes.Length, consumed);
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.Equal(bytes, buffer.WrittenSpan.ToArray());
    }

    public static TheoryData<string, ProgramMapSection, string> Pmts => new()
    {
        {
            "ffmpeg: H.264 on 0x100, AAC on 0x101, PCR on video",
            new(1, 0, 0x100, [new PmtStream(TsStreamType.H264, 0x100, []), new PmtStream(TsStreamType.AacAdts, 0x101, [])]),
            "02 B017 0001 C1 00 00 E100 F000 1B E100 F000 0F E101 F000 2F44B99B"
        },
    };

    [Theory]
    [MemberData(nameof(Pmts))]
    public void Reads_and_writes_pmts(string name, ProgramMapSection decoded, string hex)
    {
        var bytes = Convert.FromHexString(hex.Replace(" ", ""));
        Assert.True(ProgramMapSection.TryRead(bytes, out var pmt, out int consumed), name);
        Assert.Equal((decoded.ProgramNumber, decoded.PcrPid), (pmt.ProgramNumber, pmt.PcrPid));
        Assert.Equal(decoded.Streams.Select(s => (s.StreamType, s.Pid)), pmt.Streams.Select(s => (s.StreamType, s.Pid)));
        Assert.Equal(bytes.Length, consumed);
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.Equal(bytes, buffer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("CRC broken", "00 B00D 0001 C1 00 00 0001 F000 2AB104B3")]
    [InlineData("not a PAT", "02 B00D 0001 C1 00 00 0001 F000 2AB104B2")]
    [InlineData("section_syntax_indicator 0", "00 300D 0001 C1 00 00 0001 F000 2AB104B2")]
    [InlineData("section runs past the buffer", "00 B01D 0001 C1 00 00 0001 F000 2AB104B2")]
    [InlineData("current_next_indicator 0", "00 B00D 0001 C0 00 00 0001 F000 2AB104B2")]
    [InlineData("second section of several", "00 B00D 0001 C1 01 01 0001 F000 2AB104B2")]
    public void Refuses_malformed_pats(string name, string hex)
    {
        Assert.False(ProgramAssociationSection.TryRead(Convert.FromHexString(hex.Replace(" ", "")), out _, out _), name);
    }

    [Fact]
    public void Refuses_a_pmt_whose_stream_loop_runs_past_its_body()
    {
        // ES_info_length 0x0FF in the second entry; the CRC is made right so only the loop is at fault.
        var body = Convert.FromHexString("02B0170001C10000E100F0001BE100F0000FE101F0FF");
        var section = new byte[body.Length + 4];
        body.CopyTo(section, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(section.AsSpan(body.Length), Crc32Mpeg2.Compute(body));
        Assert.False(ProgramMapSection.TryRead(section, out _, out _));
    }

    /// <summary>A 188-byte packet: the given header bytes, the rest 0xFF.</summary>
    internal static byte[] Packet(string hex)
    {
        var packet = new byte[TsPacketHeader.PacketSize];
        Array.Fill(packet, (byte)0xFF);
        Convert.FromHexString(hex.Replace(" ", "")).CopyTo(packet, 0);
        return packet;
    }
}
