using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Packager.Cmaf;
using Broadcast.Packager.Cmaf.Boxes;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// One case table for the boxes: (name, what to write, the bytes ISO/IEC 14496-12 / 14496-14 say it must be).
/// Expected bytes are written out by hand from the spec's syntax, not captured from the writer.
/// </summary>
public class BoxCaseTests
{
    private const string IdentityMatrix = "00010000 00000000 00000000 00000000 00010000 00000000 00000000 00000000 40000000";

    private static readonly CmafSample[] VideoRun =
    [
        new(new byte[] { 1, 2, 3 }, 3000, 6000, IsSync: true),
        new(new byte[] { 4, 5 }, 3000, -3000, IsSync: false),
    ];

    private static readonly CmafSample[] AudioRun = [new(new byte[] { 9, 9, 9, 9 }, 1024, 0, IsSync: true)];

    public static TheoryData<string, Action<IBufferWriter<byte>>, string> Cases => new()
    {
        { "ftyp cmfc: iso6 cmfc", w => FileTypeBox.CmafHeader.Write(w), "00000018 66747970 636D6663 00000000 69736F36 636D6663" },
        { "styp cmfs: cmfs msdh", w => FileTypeBox.CmafSegment.Write(w), "00000018 73747970 636D6673 00000000 636D6673 6D736468" },
        {
            "mvhd timescale 1000 next track 2", w => new MovieHeaderBox(1000, 2).Write(w),
            "0000006C 6D766864 00000000 00000000 00000000 000003E8 00000000 00010000 0100 0000 0000000000000000 " +
            IdentityMatrix + " 000000000000000000000000000000000000000000000000 00000002"
        },
        {
            "tkhd video 320x240", w => new TrackHeaderBox(1, IsAudio: false, 320, 240).Write(w),
            "0000005C 746B6864 00000007 00000000 00000000 00000001 00000000 00000000 0000000000000000 0000 0000 0000 0000 " +
            IdentityMatrix + " 01400000 00F00000"
        },
        {
            "tkhd audio volume 1.0", w => new TrackHeaderBox(2, IsAudio: true, 0, 0).Write(w),
            "0000005C 746B6864 00000007 00000000 00000000 00000002 00000000 00000000 0000000000000000 0000 0000 0100 0000 " +
            IdentityMatrix + " 00000000 00000000"
        },
        { "mdhd 90 kHz und", w => new MediaHeaderBox(90000).Write(w), "00000020 6D646864 00000000 00000000 00000000 00015F90 00000000 55C40000" },
        { "mdhd 48 kHz und", w => new MediaHeaderBox(48000).Write(w), "00000020 6D646864 00000000 00000000 00000000 0000BB80 00000000 55C40000" },
        {
            "hdlr vide", w => HandlerBox.Video.Write(w),
            "0000002D 68646C72 00000000 00000000 76696465 000000000000000000000000 566964656F48616E646C657200"
        },
        {
            "hdlr soun", w => HandlerBox.Sound.Write(w),
            "0000002D 68646C72 00000000 00000000 736F756E 000000000000000000000000 536F756E6448616E646C657200"
        },
        { "vmhd flags 1", w => new VideoMediaHeaderBox().Write(w), "00000014 766D6864 00000001 0000 000000000000" },
        { "smhd", w => new SoundMediaHeaderBox().Write(w), "00000010 736D6864 00000000 0000 0000" },
        { "dinf/dref/url self-contained", w => new DataInformationBox().Write(w), "00000024 64696E66 0000001C 64726566 00000000 00000001 0000000C 75726C20 00000001" },
        {
            "empty stts stsc stsz stco", w => new EmptySampleTablesBoxes().Write(w),
            "00000010 73747473 00000000 00000000 00000010 73747363 00000000 00000000 " +
            "00000014 7374737A 00000000 00000000 00000000 00000010 7374636F 00000000 00000000"
        },
        { "trex track 1", w => new TrackExtendsBox(1).Write(w), "00000020 74726578 00000000 00000001 00000001 00000000 00000000 00000000" },
        {
            "esds AAC-LC 48 kHz stereo", w => new EsdsBox(new byte[] { 0x11, 0x90 }).Write(w),
            "00000027 65736473 00000000 03 19 0000 00 04 11 40 15 000000 00000000 00000000 05 02 1190 06 01 02"
        },
        {
            "esds with bitrates", w => new EsdsBox(new byte[] { 0x11, 0x90 }, bufferSizeDb: 0x001800, maxBitrate: 128000, avgBitrate: 128000).Write(w),
            "00000027 65736473 00000000 03 19 0000 00 04 11 40 15 001800 0001F400 0001F400 05 02 1190 06 01 02"
        },
        {
            "mp4a 2 ch 48 kHz", w => new AudioSampleEntry(2, 48000, new EsdsBox(new byte[] { 0x11, 0x90 })).Write(w),
            "0000004B 6D703461 000000000000 0001 0000000000000000 0002 0010 0000 0000 BB800000 " +
            "00000027 65736473 00000000 03 19 0000 00 04 11 40 15 000000 00000000 00000000 05 02 1190 06 01 02"
        },
        {
            "avc1 with avcC and pasp", w => new VisualSampleEntry(FourCC.Avc1, FourCC.AvcC, new byte[] { 1, 0x64, 0, 0x1F }, 320, 240).Write(w),
            "00000072 61766331 000000000000 0001 0000 0000 000000000000000000000000 0140 00F0 00480000 00480000 00000000 0001 " +
            "0000000000000000000000000000000000000000000000000000000000000000 0018 FFFF " +
            "0000000C 61766343 0164001F 00000010 70617370 00000001 00000001"
        },
        { "mfhd sequence 7", w => new MovieFragmentHeaderBox(7).Write(w), "00000010 6D666864 00000000 00000007" },
        { "tfhd default-base-is-moof", w => new TrackFragmentHeaderBox(1).Write(w), "00000010 74666864 00020000 00000001" },
        {
            "tfhd with default sync flags", w => new TrackFragmentHeaderBox(2, SampleFlags.Sync).Write(w),
            "00000014 74666864 00020020 00000002 02000000"
        },
        { "tfdt v1 64-bit", w => new TrackFragmentDecodeTimeBox(0x0000000123456789).Write(w), "00000014 74666474 01000000 0000000123456789" },
        {
            "trun video v1 signed offsets", w => new TrackRunBox(VideoRun, 100, perSampleFlagsAndOffsets: true).Write(w),
            "00000034 7472756E 01000F01 00000002 00000064 " +
            "00000BB8 00000003 02000000 00001770 " +
            "00000BB8 00000002 01010000 FFFFF448"
        },
        {
            "trun audio v0 durations and sizes", w => new TrackRunBox(AudioRun, 8, perSampleFlagsAndOffsets: false).Write(w),
            "0000001C 7472756E 00000301 00000001 00000008 00000400 00000004"
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_exact_bytes(string name, Action<IBufferWriter<byte>> write, string expectedHex)
    {
        var output = new ArrayBufferWriter<byte>();
        write(output);
        Assert.True(Convert.FromHexString(expectedHex.Replace(" ", "")).AsSpan().SequenceEqual(output.WrittenSpan),
            $"{name}: expected {expectedHex.Replace(" ", "")} got {Convert.ToHexString(output.WrittenSpan)}");
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Written_box_size_field_matches_its_length_and_reads_back(string name, Action<IBufferWriter<byte>> write, string expectedHex)
    {
        _ = expectedHex;
        var output = new ArrayBufferWriter<byte>();
        write(output);
        var boxes = Mp4BoxReader.Read(output.WrittenMemory);
        Assert.True(boxes.Sum(b => b.Size) == output.WrittenCount, name);
    }

    [Fact]
    public void Esds_descriptor_lengths_over_127_use_the_expandable_form()
    {
        var asc = new byte[130];
        asc[0] = 0x11;
        var output = new ArrayBufferWriter<byte>();
        new EsdsBox(asc).Write(output);
        var bytes = output.WrittenSpan;
        Assert.Equal(output.WrittenCount, (int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes));
        // DecoderSpecificInfo: tag 5, length 130 = 0x81 0x02 (7 bits a byte, high bit "more follows").
        int dsi = bytes.IndexOf(new byte[] { 0x05, 0x81, 0x02, 0x11 });
        Assert.True(dsi > 0, Convert.ToHexString(bytes));
        // DecoderConfigDescriptor payload 13 + 3 + 130 = 146 = 0x81 0x12.
        Assert.True(bytes.IndexOf(new byte[] { 0x04, 0x81, 0x12, 0x40, 0x15 }) > 0, Convert.ToHexString(bytes));
    }

    [Fact]
    public void Trun_reads_back_signed_composition_offsets()
    {
        var output = new ArrayBufferWriter<byte>();
        new TrackRunBox(VideoRun, 100, perSampleFlagsAndOffsets: true).Write(output);
        var trun = Mp4BoxReader.ReadTrun(Mp4BoxReader.Read(output.WrittenMemory)[0]);
        Assert.Equal(1, trun.Version);
        Assert.Equal(100, trun.DataOffset);
        Assert.Equal(
            [new TrunEntry(3000, 3, SampleFlags.Sync, 6000), new TrunEntry(3000, 2, SampleFlags.NonSync, -3000)],
            trun.Entries);
    }

    [Theory]
    [InlineData("moov", FourCC.Moov)]
    [InlineData("url ", FourCC.Url)]
    [InlineData("avcC", FourCC.AvcC)]
    [InlineData("av1C", FourCC.Av1C)]
    [InlineData("cmfc", FourCC.Cmfc)]
    public void FourCC_constants_spell_their_names(string name, uint code)
    {
        Assert.Equal(code, FourCC.From(name));
        Assert.Equal(name, FourCC.ToString(code));
    }

    [Fact]
    public void Sample_flags_follow_iso_bmff_8_8_3_1()
    {
        Assert.Equal(0x02000000u, SampleFlags.Sync); // sample_depends_on = 2
        Assert.Equal(0x01010000u, SampleFlags.NonSync); // sample_depends_on = 1, sample_is_non_sync_sample = 1
    }
}
