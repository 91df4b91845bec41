using Broadcast.Media.Codecs.Captions;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Codecs;

public class CaptionSeiTests
{
    // (name, decoded, bytes) for the user_data_registered_itu_t_t35 payload (ATSC A/53 Part 4 6.2.3), country code on.
    public static TheoryData<string, A53CcData, string> T35Cases => new()
    {
        // What ffmpeg's libx264 wrapper writes for 30 fps: cc_count 20 (padding unless there are pairs), here two pairs.
        { "one 608 pair and one padding construct", new A53CcData(2, true, 1, 0, 0), "B5 0031 47413934 03 C2 FF FC 9420 FA 0000 FF" },
        { "field 2 and DTVCC start and data", new A53CcData(3, true, 0, 1, 2), "B5 0031 47413934 03 C3 FF FD 8080 FF 0341 FE 4243 FF" },
        { "padding only: a service with nothing to say yet", new A53CcData(1, true, 0, 0, 0), "B5 0031 47413934 03 C1 FF FA 0000 FF" },
        { "process_cc_data_flag clear", new A53CcData(1, false, 1, 0, 0), "B5 0031 47413934 03 81 FF FC 9420 FF" },
        { "no marker byte after the constructs", new A53CcData(1, true, 1, 0, 0), "B5 0031 47413934 03 C1 FF FC 9420" },
    };

    [Theory]
    [MemberData(nameof(T35Cases))]
    public void Parses_cc_data(string name, A53CcData decoded, string hex)
    {
        Assert.True(A53CcData.TryParse(Bytes(hex), out var data), name);
        Assert.Equal(decoded, data);
        Assert.Equal(decoded.ProcessCcData && decoded.CcCount > 0, data.CarriesCaptions);
    }

    public static TheoryData<string, string> NotCaptions => new()
    {
        { "empty", "" },
        { "header cut short", "B5 0031 474139" },
        { "constructs cut short", "B5 0031 47413934 03 C2 FF FC 9420" },
        { "another country", "B4 0031 47413934 03 C1 FF FC 9420 FF" },
        { "another provider (0x003C, HDR10+ is 0x003C)", "B5 003C 0001 0400 00 C1 FF FC 9420 FF" },
        { "AFD (DTG1)", "B5 0031 44544731 41 F8" },
        { "bar data, user_data_type_code 0x06", "B5 0031 47413934 06 C1 FF FC 9420 FF" },
    };

    [Theory]
    [MemberData(nameof(NotCaptions))]
    public void Refuses_what_is_not_cc_data(string name, string hex) =>
        Assert.False(A53CcData.TryParse(Bytes(hex), out _), name);

    [Fact]
    public void Finds_the_caption_sei_among_the_nal_units_of_an_h264_access_unit()
    {
        byte[] sei = CaptionClip.CaptionSeiNal((0x94, 0x20));
        // An access unit delimiter, x264's user_data_unregistered SEI (payloadType 5), the captions, an IDR slice.
        byte[] unregistered = Bytes("06 05 11 DC45E9BDE6D948B7962CD820D923EEEF 41 80");
        byte[] au = Avcc(4, [0x09, 0xF0], unregistered, sei, [0x65, 0x88, 0x84]);
        Assert.True(CaptionSei.TryFind(au, Codec.H264, 4, out var data));
        Assert.Equal(new A53CcData(1, true, 1, 0, 0), data);
    }

    [Fact]
    public void Reads_an_sei_whose_payload_needed_emulation_prevention()
    {
        // user_data_unregistered ending in 00 00, then a buffering period message (type 0): 00 00 00 is escaped to
        // 00 00 03 00, and every size after it is only right once the 03 is gone.
        byte[] captions = CaptionClip.CaptionSeiNal((0x94, 0x20));
        byte[] messages = [.. Bytes("05 10 DC45E9BDE6D948B7962CD820D9230000 00 01 80"), .. captions[1..^1]];
        byte[] nal = CaptionClip.SeiNal(messages);
        Assert.Contains(Windows(nal), w => w is [0, 0, 3]);
        Assert.True(CaptionSei.TryFind(Avcc(4, nal), Codec.H264, 4, out var data));
        Assert.Equal(new A53CcData(1, true, 1, 0, 0), data);
    }

    [Fact]
    public void Finds_captions_in_an_hevc_prefix_sei_with_two_byte_lengths()
    {
        byte[] h264 = CaptionClip.CaptionSeiNal((0x94, 0x2F));
        byte[] hevc = [0x4E, 0x01, .. h264[1..]]; // prefix SEI (39), layer 0, temporal id 1
        Assert.True(CaptionSei.TryFind(Avcc(2, hevc, [0x26, 0x01, 0xAF]), Codec.H265, 2, out var data));
        Assert.Equal(1, data.Field1Pairs);
        Assert.False(CaptionSei.TryFind(Avcc(2, hevc), Codec.H264, 2, out _)); // 0x4E & 0x1F = 14: not an H.264 SEI
    }

    [Fact]
    public void Walks_past_other_sei_messages_in_the_same_nal_unit()
    {
        // A recovery point SEI (type 6, size 1) first, then the captions, in one NAL unit.
        byte[] captions = CaptionClip.CaptionSeiNal((0x94, 0x20));
        byte[] nal = [0x06, 0x06, 0x01, 0x84, .. captions[1..]];
        Assert.True(CaptionSei.TryFind(Avcc(4, nal), Codec.H264, 4, out _));
    }

    public static TheoryData<string, byte[]> Malformed => new()
    {
        { "length past the end", [0, 0, 0, 40, 0x06, 0x04] },
        { "length prefix cut short", [0, 0] },
        { "sei size past the end", [0, 0, 0, 4, 0x06, 0x04, 0x40, 0xB5] },
        { "payloadType run of 0xFF to the end", [0, 0, 0, 5, 0x06, 0xFF, 0xFF, 0xFF, 0xFF] },
        { "sei NAL unit with no payload", [0, 0, 0, 1, 0x06] },
        { "slice only", [0, 0, 0, 3, 0x65, 0x88, 0x84] },
        { "empty", [] },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_access_units_have_no_captions_and_do_not_throw(string name, byte[] au) =>
        Assert.False(CaptionSei.TryFind(au, Codec.H264, 4, out _), name);

    [Fact]
    public void Other_codecs_and_framings_are_not_searched()
    {
        byte[] au = Avcc(4, CaptionClip.CaptionSeiNal((0x94, 0x20)));
        Assert.False(CaptionSei.TryFind(au, Codec.Av1, 4, out _));
        Assert.False(CaptionSei.TryFind(au, Codec.H264, 3, out _));
    }

    [Fact]
    public void Searching_a_frame_allocates_nothing()
    {
        byte[] au = Avcc(4, [0x09, 0xF0], CaptionClip.CaptionSeiNal(null), [0x65, 0x88, 0x84]);
        byte[] none = Avcc(4, [0x09, 0xF0], [0x41, 0x9A, 0x02]);
        CaptionSei.TryFind(au, Codec.H264, 4, out _);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(CaptionSei.TryFind(au, Codec.H264, 4, out _));
            Assert.False(CaptionSei.TryFind(none, Codec.H264, 4, out _));
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void The_hub_notes_captions_from_the_first_frame_that_carries_them()
    {
        var stream = new LiveStream("cc");
        var track = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1F, 0xFF, 0xE0, 0 }, "avc1.64001f", 640, 360);
        stream.SetTrack(track);
        stream.Write(MediaFrame.Rent(track, 0, 0, true, Avcc(4, [0x65, 0x88, 0x84])));
        Assert.False(stream.HasCaptions);
        stream.Write(MediaFrame.Rent(track, 3000, 0, false, Avcc(4, CaptionClip.CaptionSeiNal(null), [0x41, 0x9A])));
        Assert.True(stream.HasCaptions);
        stream.Write(MediaFrame.Rent(track, 6000, 0, false, Avcc(4, [0x41, 0x9A])));
        Assert.True(stream.HasCaptions);
    }

    [Fact]
    public void Finds_the_captions_the_test_clip_injector_writes_into_every_picture()
    {
        // The injector's own round trip through our parser; that ffmpeg reads the same bytes is CaptionClipTests' job.
        foreach (var pair in CaptionClip.PopOn("HELLO 0"))
        {
            Assert.True(CaptionSei.TryFind(Avcc(4, CaptionClip.CaptionSeiNal(pair)), Codec.H264, 4, out var data));
            Assert.Equal(1, data.Field1Pairs);
        }
    }

    /// <summary>Seeds for the fuzzer: access units with captions (one of them behind other SEI) and without.</summary>
    internal static IEnumerable<byte[]> AccessUnits() =>
    [
        Avcc(4, [0x09, 0xF0], CaptionClip.CaptionSeiNal((0x94, 0x20)), [0x65, 0x88, 0x84]),
        Avcc(4, CaptionClip.CaptionSeiNal(null), [0x41, 0x9A, 0x02]),
        Avcc(4, [0x06, 0x06, 0x01, 0x84, .. CaptionClip.CaptionSeiNal((0x45, 0x4C))[1..]]),
        Avcc(4, [0x41, 0x9A, 0x02, 0x03]),
    ];

    private static byte[] Avcc(int lengthSize, params byte[][] nals) => CaptionClip.Avcc(lengthSize, nals);

    internal static byte[] Bytes(string hex) => Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal));

    private static IEnumerable<byte[]> Windows(byte[] b) => Enumerable.Range(0, Math.Max(0, b.Length - 2)).Select(i => b[i..(i + 3)]);
}
