using Broadcast.TestSupport;
using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>Structure of whole CMAF headers and fragments, and the clear errors for input the writer cannot honour.</summary>
public class CmafWriterTests
{
    // The avcC x264 wrote for the 320x240 test clip: version 1, High profile, level 1.3, 4-byte lengths, one SPS, one PPS.
    private static readonly byte[] AvcC = Convert.FromHexString(
        "0164000DFFE100196764000DACD94141FB0110000003001000000303C0F142996001000668EBE3CB22C0FDF8F800");

    private static readonly VideoTrack Video = new(Codec.H264, AvcC, "avc1.64000d", 320, 240);
    private static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    private static readonly CmafSample[] VideoSamples =
    [
        new(new byte[] { 0, 0, 0, 2, 0x65, 0x88 }, 3000, 6000, true),
        new(new byte[] { 0, 0, 0, 2, 0x41, 0x9A, 0x01 }, 3000, 0, false),
        new(new byte[] { 0, 0, 0, 1, 0x01 }, 3000, -3000, false),
    ];

    [Fact]
    public void Init_segment_has_the_cmaf_header_tree()
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, Video, trackId: 1);
        var boxes = Mp4BoxReader.Read(output.WrittenMemory);

        Assert.Equal(["ftyp", "moov"], boxes.Select(b => b.Type));
        var moov = boxes[1];
        Assert.Equal(["mvhd", "trak", "mvex"], moov.Children.Select(b => b.Type));
        Assert.Equal(["tkhd", "mdia"], moov.Find("trak").Children.Select(b => b.Type));
        Assert.Equal(["mdhd", "hdlr", "minf"], moov.Find("trak/mdia").Children.Select(b => b.Type));
        Assert.Equal(["vmhd", "dinf", "stbl"], moov.Find("trak/mdia/minf").Children.Select(b => b.Type));
        Assert.Equal(["stsd", "stts", "stsc", "stsz", "stco"], moov.Find("trak/mdia/minf/stbl").Children.Select(b => b.Type));
        Assert.Equal(["avcC", "pasp"], moov.Find("trak/mdia/minf/stbl/stsd/avc1").Children.Select(b => b.Type));
        Assert.Equal(AvcC, moov.Find("trak/mdia/minf/stbl/stsd/avc1/avcC").Payload.ToArray());
        Assert.Equal(1u, moov.Find("trak/mdia/minf/stbl/stsd").ReadUInt32(4)); // entry_count
        Assert.Equal(90000u, moov.Find("trak/mdia/mdhd").ReadUInt32(12));
        Assert.Equal(1000u, moov.Find("mvhd").ReadUInt32(12));
        Assert.Equal(1u, moov.Find("mvex/trex").ReadUInt32(4));
    }

    [Fact]
    public void Audio_init_segment_uses_smhd_soun_and_the_sample_rate_timescale()
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, Audio, trackId: 2);
        var moov = Mp4BoxReader.Read(output.WrittenMemory)[1];
        Assert.Equal(["smhd", "dinf", "stbl"], moov.Find("trak/mdia/minf").Children.Select(b => b.Type));
        Assert.Equal(FourCC.Soun, moov.Find("trak/mdia/hdlr").ReadUInt32(8));
        Assert.Equal(48000u, moov.Find("trak/mdia/mdhd").ReadUInt32(12));
        Assert.Equal(2u, moov.Find("trak/tkhd").ReadUInt32(12));
        Assert.Equal(["esds"], moov.Find("trak/mdia/minf/stbl/stsd/mp4a").Children.Select(b => b.Type));
    }

    [Theory]
    [InlineData(Codec.H265, "hvc1", "hvcC")]
    [InlineData(Codec.Av1, "av01", "av1C")]
    public void Other_video_codecs_get_their_sample_entry(Codec codec, string entry, string config)
    {
        byte[] record = codec == Codec.H265 ? HvcCFixture() : [0x81, 0x00, 0x0C, 0x00];
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, new VideoTrack(codec, record, "x", 640, 360));
        var stsd = Mp4BoxReader.Read(output.WrittenMemory)[1].Find("trak/mdia/minf/stbl/stsd");
        Assert.Equal(record, stsd.Find($"{entry}/{config}").Payload.ToArray());
    }

    [Fact]
    public void Fragment_data_offset_points_at_the_first_sample_in_mdat()
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteMediaSegment(output, 5, 1, 123_456_789_012, VideoSamples, MediaKind.Video);
        var boxes = Mp4BoxReader.Read(output.WrittenMemory);
        Assert.Equal(["styp", "moof", "mdat"], boxes.Select(b => b.Type));
        var moof = boxes[1];
        Assert.Equal(["mfhd", "traf"], moof.Children.Select(b => b.Type));
        Assert.Equal(["tfhd", "tfdt", "trun"], moof.Find("traf").Children.Select(b => b.Type));
        Assert.Equal(5u, moof.Find("mfhd").ReadUInt32(4));
        Assert.Equal(0x020000u, moof.Find("traf/tfhd").Flags);
        Assert.Equal(123_456_789_012ul, moof.Find("traf/tfdt").ReadUInt64(4));

        var trun = Mp4BoxReader.ReadTrun(moof.Find("traf/trun"));
        int firstSample = moof.Offset + trun.DataOffset!.Value;
        Assert.Equal(boxes[2].Offset + boxes[2].HeaderSize, firstSample);
        Assert.Equal(
            VideoSamples.Select(s => new TrunEntry(s.Duration, (uint)s.Data.Length, SampleFlags.For(s.IsSync), s.CompositionOffset)),
            trun.Entries);
        Assert.Equal(VideoSamples.SelectMany(s => s.Data.ToArray()).ToArray(), boxes[2].Payload.ToArray());
    }

    [Fact]
    public void Audio_fragment_declares_sync_once_in_tfhd_and_ignores_per_sample_flags()
    {
        CmafSample[] samples = [new(new byte[] { 1, 2 }, 1024, 0, IsSync: false), new(new byte[] { 3 }, 1024, 0, IsSync: true)];
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteFragment(output, 1, 2, 48000, samples, MediaKind.Audio);
        var moof = Mp4BoxReader.Read(output.WrittenMemory)[0];
        var tfhd = moof.Find("traf/tfhd");
        Assert.Equal(0x020020u, tfhd.Flags);
        Assert.Equal(SampleFlags.Sync, tfhd.ReadUInt32(8));
        var trun = Mp4BoxReader.ReadTrun(moof.Find("traf/trun"));
        Assert.Equal([new TrunEntry(1024, 2, null, null), new TrunEntry(1024, 1, null, null)], trun.Entries);
    }

    [Fact]
    public void Writing_a_fragment_allocates_nothing()
    {
        var output = new ArrayBufferWriter<byte>(64 * 1024);
        CmafWriter.WriteMediaSegment(output, 1, 1, 0, VideoSamples, MediaKind.Video); // warm up (JIT, statics)
        output.ResetWrittenCount();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++)
        {
            CmafWriter.WriteMediaSegment(output, (uint)i, 1, i * 9000L, VideoSamples, MediaKind.Video);
            output.ResetWrittenCount();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    public static TheoryData<string, Action<IBufferWriter<byte>>, string> MalformedInit => new()
    {
        { "empty avcC", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.H264, ReadOnlyMemory<byte>.Empty, "avc1", 320, 240)), "empty DecoderConfig" },
        { "avcC with wrong version", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.H264, new byte[] { 0, 0x64, 0, 0x1E, 0xFF, 0xE1, 0 }, "avc1", 320, 240)), "not an AVCDecoderConfigurationRecord" },
        { "Annex B bytes instead of avcC", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.H264, new byte[] { 0, 0, 0, 1, 0x67, 0x64, 0, 0x1E }, "avc1", 320, 240)), "not an AVCDecoderConfigurationRecord" },
        { "short hvcC", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.H265, new byte[] { 1, 2, 3 }, "hvc1", 320, 240)), "not an HEVCDecoderConfigurationRecord" },
        { "empty AudioSpecificConfig", w => CmafWriter.WriteInitSegment(w, new AudioTrack(Codec.Aac, ReadOnlyMemory<byte>.Empty, "mp4a.40.2", 48000, 2)), "AudioSpecificConfig" },
        { "unsupported video codec", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.Unknown, AvcC, "x", 320, 240)), "cannot be written" },
        { "unsupported audio codec", w => CmafWriter.WriteInitSegment(w, new AudioTrack(Codec.Opus, new byte[] { 1, 2 }, "opus", 48000, 2)), "cannot be written" },
        { "zero width", w => CmafWriter.WriteInitSegment(w, new VideoTrack(Codec.H264, AvcC, "avc1", 0, 240)), "out of range" },
        { "96 kHz audio", w => CmafWriter.WriteInitSegment(w, new AudioTrack(Codec.Aac, new byte[] { 0x10, 0x10 }, "mp4a.40.2", 96000, 2)), "65535" },
        { "track id 0", w => CmafWriter.WriteInitSegment(w, Video, trackId: 0), "reserved" },
        { "no samples", w => CmafWriter.WriteFragment(w, 1, 1, 0, ReadOnlySpan<CmafSample>.Empty, MediaKind.Video), "at least one sample" },
        { "empty sample", w => CmafWriter.WriteFragment(w, 1, 1, 0, [VideoSamples[0], new(ReadOnlyMemory<byte>.Empty, 3000, 0, false)], MediaKind.Video), "Sample 1 has no data" },
        { "negative decode time", w => CmafWriter.WriteFragment(w, 1, 1, -1, VideoSamples, MediaKind.Video), "cannot be negative" },
        { "fragment track id 0", w => CmafWriter.WriteFragment(w, 1, 0, 0, VideoSamples, MediaKind.Video), "reserved" },
        { "unknown media kind", w => CmafWriter.WriteFragment(w, 1, 1, 0, VideoSamples, (MediaKind)9), "Video or Audio" },
        { "media segment without samples", w => CmafWriter.WriteMediaSegment(w, 1, 1, 0, ReadOnlySpan<CmafSample>.Empty, MediaKind.Audio), "at least one sample" },
    };

    [Theory]
    [MemberData(nameof(MalformedInit))]
    public void Malformed_input_is_a_clear_argument_error_and_writes_nothing(string name, Action<IBufferWriter<byte>> write, string messagePart)
    {
        var output = new ArrayBufferWriter<byte>();
        var error = Assert.ThrowsAny<ArgumentException>(() => write(output));
        Assert.True(error.Message.Contains(messagePart, StringComparison.Ordinal), $"{name}: {error.Message}");
        Assert.Equal(0, output.WrittenCount);
    }

    [Fact]
    public void Null_arguments_are_rejected()
    {
        Assert.Throws<ArgumentNullException>(() => CmafWriter.WriteInitSegment(null!, Video));
        Assert.Throws<ArgumentNullException>(() => CmafWriter.WriteInitSegment(new ArrayBufferWriter<byte>(), null!));
        Assert.Throws<ArgumentNullException>(() => CmafWriter.WriteSegmentType(null!));
    }

    [Fact]
    public void Box_reader_rejects_a_size_that_overruns_its_parent()
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteFragment(output, 1, 1, 0, VideoSamples, MediaKind.Video);
        var bytes = output.WrittenSpan.ToArray();
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(8), 0xFFFF); // mfhd claims more than the moof holds
        Assert.Throws<InvalidDataException>(() => Mp4BoxReader.Read(bytes));
        Assert.Throws<InvalidDataException>(() => Mp4BoxReader.Read(bytes.AsMemory(0, 5)));
    }

    /// <summary>A minimal well-formed-looking hvcC: version 1 and the 23-byte fixed part with zero arrays.</summary>
    private static byte[] HvcCFixture()
    {
        var record = new byte[23];
        record[0] = 1;
        record[1] = 0x01; // general_profile_idc Main
        record[21] = 0x0F; // lengthSizeMinusOne = 3
        return record;
    }
}
