using System.Buffers;
using Broadcast.Media.Codecs.Opus;
using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// Opus in MPEG-TS: the TOC byte's durations (RFC 6716 3.1, 3.2), the control header in front of each packet and the PMT
/// descriptors (case tables that also seed the fuzzer), packets written by <see cref="TsPacketizer"/> and read back by the
/// demuxer, and malformed Opus PES refused with a reason. A real ffmpeg stream is read in <see cref="OpusTsFromFfmpegTests"/>.
/// </summary>
public sealed class OpusTsTests
{
    // (name, packet, samples at 48 kHz or -1 for a packet RFC 6716 forbids)
    public static TheoryData<string, string, int> Packets => new()
    {
        { "CELT fullband 20 ms, one frame (code 0)", "F8 0102", 960 },
        { "CELT fullband 20 ms, two frames (code 1)", "F9 0102", 1_920 },
        { "CELT fullband 20 ms, three frames (code 3)", "FB 03 0102", 2_880 },
        { "SILK narrowband 60 ms", "18 00", 2_880 },
        { "SILK narrowband 60 ms, two frames: 120 ms, the most", "19 00", 5_760 },
        { "hybrid superwideband 10 ms", "60 00", 480 },
        { "CELT narrowband 2.5 ms, 48 frames (code 3): 120 ms", "83 30", 5_760 },
        { "empty packet (R1)", "", -1 },
        { "code 3 without its frame count byte", "FB", -1 },
        { "code 3 with no frames", "FB 00", -1 },
        { "CELT narrowband 2.5 ms, 49 frames: over 120 ms (R5)", "83 31", -1 },
        { "SILK 60 ms, three frames: 180 ms (R5)", "1B 03", -1 },
    };

    [Fact]
    public void A_packet_larger_than_opus_can_hold_is_refused()
    {
        Assert.True(OpusPacket.TryGetSamples([0xF8, .. new byte[OpusPacket.MaxBytes - 1]], out _));
        Assert.False(OpusPacket.TryGetSamples([0xF8, .. new byte[OpusPacket.MaxBytes]], out _));
    }

    [Theory]
    [MemberData(nameof(Packets))]
    public void Opus_packets_say_how_long_they_last(string name, string hex, int samples)
    {
        bool ok = OpusPacket.TryGetSamples(Bytes(hex), out int found);
        Assert.True(ok == samples >= 0, name);
        Assert.Equal(Math.Max(samples, 0), found);
    }

    // (name, decoded, bytes) of opus_control_header
    public static TheoryData<string, OpusControlHeader, string> ControlHeaders => new()
    {
        { "100 bytes", new(100), "7FE0 64" },
        { "255 bytes: 0xFF then 0x00", new(255), "7FE0 FF00" },
        { "300 bytes", new(300), "7FE0 FF2D" },
        { "600 bytes: two 0xFF", new(600), "7FE0 FFFF5A" },
        { "start trim 312 (an encoder's pre-skip)", new(10, StartTrim: 312), "7FF0 0A 0138" },
        { "start and end trims", new(5, 16, 32), "7FF8 05 0010 0020" },
        { "a control extension of two bytes", new(3, ExtensionLength: 2), "7FE4 03 02 0000" },
    };

    [Theory]
    [MemberData(nameof(ControlHeaders))]
    public void Reads_control_headers(string name, OpusControlHeader decoded, string hex)
    {
        var bytes = Bytes(hex);
        Assert.True(OpusControlHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(ControlHeaders))]
    public void Writes_control_headers(string name, OpusControlHeader decoded, string hex)
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.True(Bytes(hex).AsSpan().SequenceEqual(buffer.WrittenSpan), name);
    }

    public static TheoryData<string, string> MalformedControlHeaders => new()
    {
        { "wrong prefix", "7FC0 64" },
        { "cut before au_size", "7FE0" },
        { "au_size still going at the end", "7FE0 FF" },
        { "start trim cut short", "7FF0 0A 01" },
        { "extension longer than what is there", "7FE4 03 05 00" },
    };

    [Theory]
    [MemberData(nameof(MalformedControlHeaders))]
    public void Refuses_malformed_control_headers(string name, string hex) =>
        Assert.False(OpusControlHeader.TryRead(Bytes(hex), out _, out _), name);

    [Fact]
    public void The_pmt_descriptors_name_opus_and_its_channels()
    {
        Assert.True(OpusTsDescriptors.IsOpus(new PmtStream(TsStreamType.PrivatePes, 0x100, OpusTsDescriptors.For(2))));
        Assert.Equal(2, OpusTsDescriptors.ChannelCount(new PmtStream(TsStreamType.PrivatePes, 0x100, OpusTsDescriptors.For(2))));
        Assert.Equal(6, OpusTsDescriptors.ChannelCount(new PmtStream(TsStreamType.PrivatePes, 0x100, OpusTsDescriptors.For(6))));
        // channel_config_code 0 is dual mono: two channels.
        Assert.Equal(2, OpusTsDescriptors.ChannelCount(new PmtStream(TsStreamType.PrivatePes, 0x100, Bytes("05044F707573 7F028000"))));
        // Explicit mappings (0x80) are not read; a KLV stream (registration "KLVA") is not Opus; nor is another stream type.
        Assert.Null(OpusTsDescriptors.ChannelCount(new PmtStream(TsStreamType.PrivatePes, 0x100, Bytes("05044F707573 7F028080"))));
        Assert.False(OpusTsDescriptors.IsOpus(new PmtStream(TsStreamType.PrivatePes, 0x100, Bytes("05044B4C5641"))));
        Assert.False(OpusTsDescriptors.IsOpus(new PmtStream(TsStreamType.AacAdts, 0x100, OpusTsDescriptors.For(2))));
        // A descriptor running past the loop ends it.
        Assert.False(OpusTsDescriptors.IsOpus(new PmtStream(TsStreamType.PrivatePes, 0x100, Bytes("05094F707573"))));
    }

    [Fact]
    public void Packets_written_by_the_packetizer_come_back_from_the_demuxer_with_their_times()
    {
        byte[] first = [0xF8, .. Enumerable.Range(0, 40).Select(i => (byte)i)], second = [0xF8, .. new byte[300]], third = [0xF9, 1, 2, 3];
        var ts = OpusProgram(2, (900_000, [first, second]), (900_000 + 3_600, [third]));
        var sink = new RecordingOpusSink();
        using var demuxer = new MpegTsDemuxer(new LiveStream("opus"), opus: sink);
        Assert.True(demuxer.TryWrite(ts, out var error), error);
        Assert.Equal([2], sink.Opened);
        Assert.Equal(
            [(480_000L, Convert.ToHexString(first), 960), (480_960L, Convert.ToHexString(second), 960), (481_920L, Convert.ToHexString(third), 1_920)],
            sink.Packets);
        Assert.Empty(demuxer.IgnoredStreams);
    }

    [Fact]
    public void Without_a_sink_opus_is_an_ignored_stream()
    {
        var ts = OpusProgram(2, (900_000, [[0xF8, 0]]));
        using var demuxer = new MpegTsDemuxer(new LiveStream("opus"));
        Assert.False(demuxer.TryWrite(ts, out var error));
        Assert.Contains("no H.264, HEVC, ADTS AAC or Opus stream (stream types 0x06)", error);
    }

    public static TheoryData<string, string, string> MalformedPes => new()
    {
        { "a broken control header", "7FC0 02 F800", "malformed Opus control header" },
        { "an access unit longer than its PES", "7FE0 09 F800", "runs past its PES" },
        { "an empty Opus packet", "7FE0 00", "empty Opus packet" },
        { "a code 3 packet with no frames", "7FE0 02 FB00", "invalid TOC or frame count (first byte 0xFB" },
    };

    [Theory]
    [MemberData(nameof(MalformedPes))]
    public void A_malformed_opus_pes_is_refused_with_a_reason(string name, string payload, string reason)
    {
        var ts = OpusProgramRaw(2, 900_000, Bytes(payload));
        using var demuxer = new MpegTsDemuxer(new LiveStream("opus"), opus: new RecordingOpusSink());
        Assert.False(demuxer.TryWrite(ts, out var error), name);
        Assert.Contains(reason, error);
    }

    [Fact]
    public void A_pmt_with_an_opus_stream_of_unknown_channels_is_refused()
    {
        var ts = new ArrayBufferWriter<byte>();
        WriteProgram(ts, new TsPacketizer(), [0x05, 4, (byte)'O', (byte)'p', (byte)'u', (byte)'s']);
        using var demuxer = new MpegTsDemuxer(new LiveStream("opus"), opus: new RecordingOpusSink());
        Assert.False(demuxer.TryWrite(ts.WrittenSpan, out var error));
        Assert.Contains("without a channel_config_code", error);
    }


    internal static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", ""));

    /// <summary>A PAT, a PMT naming one Opus stream on PID 0x100, and one PES per (PTS, packets) with a control header before each packet.</summary>
    internal static byte[] OpusProgram(int channels, params (long Pts, byte[][] Packets)[] pes)
    {
        var ts = new ArrayBufferWriter<byte>();
        var packetizer = new TsPacketizer();
        WriteProgram(ts, packetizer, OpusTsDescriptors.For(channels));
        var payload = new ArrayBufferWriter<byte>();
        foreach (var (pts, packets) in pes)
        {
            payload.ResetWrittenCount();
            foreach (var packet in packets)
            {
                new OpusControlHeader(packet.Length).Write(payload);
                payload.Write(packet);
            }
            packetizer.WritePes(ts, 0x100, 0xBD, pts, payload.WrittenSpan);
        }
        return ts.WrittenSpan.ToArray();
    }

    private static byte[] OpusProgramRaw(int channels, long pts, byte[] payload)
    {
        var ts = new ArrayBufferWriter<byte>();
        var packetizer = new TsPacketizer();
        WriteProgram(ts, packetizer, OpusTsDescriptors.For(channels));
        packetizer.WritePes(ts, 0x100, 0xBD, pts, payload);
        return ts.WrittenSpan.ToArray();
    }

    private static void WriteProgram(ArrayBufferWriter<byte> ts, TsPacketizer packetizer, byte[] descriptors)
    {
        var section = new ArrayBufferWriter<byte>();
        new ProgramAssociationSection(1, 0, [new PatProgram(1, 0x1000)]).Write(section);
        packetizer.WriteSection(ts, 0, section.WrittenSpan);
        section.ResetWrittenCount();
        new ProgramMapSection(1, 0, 0x100, [new PmtStream(TsStreamType.PrivatePes, 0x100, descriptors)]).Write(section);
        packetizer.WriteSection(ts, 0x1000, section.WrittenSpan);
    }

    internal sealed class RecordingOpusSink : IOpusAudioSink
    {
        public List<int> Opened { get; } = [];

        public List<(long Dts, string Packet, int Samples)> Packets { get; } = [];

        public void Open(int channels) => Opened.Add(channels);

        public void Write(long dts, ReadOnlySpan<byte> packet, int samples) => Packets.Add((dts, Convert.ToHexString(packet), samples));
    }
}
