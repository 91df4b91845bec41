using System.Buffers;
using Broadcast.Media.Codecs;
using Broadcast.TestSupport;
using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

/// <summary>The FLV stream writer (what ffmpeg reads on stdin) byte for byte, and its tags read back; ffprobe reads it in <see cref="FlvMuxerFfprobeTests"/>.</summary>
public class FlvMuxerTests
{
    // The muxer copies configuration bytes verbatim; these tracks need no parsing.
    private static readonly byte[] Avcc = [0x01, 0x64, 0x00, 0x1E, 0xFF, 0xE1, 0x00, 0x00, 0x01, 0x00, 0x00];
    private static readonly byte[] Asc = [0x11, 0x90];

    private static VideoTrack Video() => new(Codec.H264, Avcc, "avc1.64001e", 320, 240);

    private static AudioTrack Audio() => new(Codec.Aac, Asc, "mp4a.40.2", 48000, 2);

    private static byte[] Bytes(Action<ArrayBufferWriter<byte>> write)
    {
        var w = new ArrayBufferWriter<byte>();
        write(w);
        return w.WrittenSpan.ToArray();
    }

    // (name, bytes written, expected hex)
    public static TheoryData<string, string, string> Cases => new()
    {
        { "file header, video only", Hex(Bytes(w => new FlvFileHeader(false, true).Write(w))), "464C5601010000000900000000" },
        { "file header, audio+video", Hex(Bytes(w => new FlvFileHeader(true, true).Write(w))), "464C5601050000000900000000" },
        { "AVC keyframe NALU, cto 66 ms, ts 0x01020304",
            Hex(Bytes(w => FlvMuxer.WriteVideoTag(w, Codec.H264, 0x01020304, true, 1, 66, [0, 0, 0, 1, 0x65]))),
            "09" + "00000A" + "020304" + "01" + "000000" + "17" + "01" + "000042" + "0000000165" + "00000015" },
        { "AVC inter frame, negative cto", Hex(Bytes(w => FlvMuxer.WriteVideoTag(w, Codec.H264, 40, false, 1, -33, [0xAA]))),
            "09" + "000006" + "000028" + "00" + "000000" + "27" + "01" + "FFFFDF" + "AA" + "00000011" },
        { "HEVC sequence start (Enhanced RTMP)", Hex(Bytes(w => FlvMuxer.WriteVideoTag(w, Codec.H265, 0, true, 0, 0, [0x01]))),
            "09" + "000006" + "000000" + "00" + "000000" + "90" + "68766331" + "01" + "00000011" },
        { "HEVC coded frames with cto", Hex(Bytes(w => FlvMuxer.WriteVideoTag(w, Codec.H265, 33, false, 1, 33, [0x02]))),
            "09" + "000009" + "000021" + "00" + "000000" + "A1" + "68766331" + "000021" + "02" + "00000014" },
        { "AAC sequence header", Hex(Bytes(w => FlvMuxer.WriteAudioTag(w, 0, 0, [0x11, 0x90]))),
            "08" + "000004" + "000000" + "00" + "000000" + "AF00" + "1190" + "0000000F" },
        { "AAC raw frame", Hex(Bytes(w => FlvMuxer.WriteAudioTag(w, 21, 1, [0x21, 0x10]))),
            "08" + "000004" + "000015" + "00" + "000000" + "AF01" + "2110" + "0000000F" },
    };

    private static string Hex(byte[] b) => Convert.ToHexString(b);

    [Theory]
    [MemberData(nameof(Cases))]
    public void WritesBytes(string name, string written, string expected) => Assert.True(expected == written, $"{name}: {written}");

    [Theory]
    [MemberData(nameof(Cases))]
    public void TagsReadBack(string name, string written, string expected)
    {
        _ = expected;
        var bytes = Convert.FromHexString(written);
        if (name.StartsWith("file header", StringComparison.Ordinal))
        {
            Assert.True(FlvFileHeader.TryRead(bytes, out var h, out int c));
            Assert.Equal(13, c);
            Assert.True(h.HasVideo);
            return;
        }
        Assert.True(FlvTag.TryRead(bytes, out var tag, out int consumed, out string? error), error);
        Assert.Equal(bytes.Length, consumed);
        var again = new ArrayBufferWriter<byte>();
        tag.Write(again);
        Assert.Equal(Hex(bytes), Hex(again.WrittenSpan.ToArray()));
    }

    [Fact]
    public void MuxerWritesSequenceHeadersOncePerConfiguration()
    {
        var video = Video();
        var audio = Audio();
        var w = new ArrayBufferWriter<byte>();
        var muxer = new FlvMuxer();
        var frames = new[]
        {
            MediaFrame.Rent(video, 90_000, 6000, true, [0, 0, 0, 1, 0x65]),
            MediaFrame.Rent(audio, 48_000, 0, true, [0x21]),
            MediaFrame.Rent(video, 93_000, 0, false, [0, 0, 0, 1, 0x41]),
            MediaFrame.Rent(video.WithFrameRate(new FrameRate(30, 1)), 96_000, 0, false, [0, 0, 0, 1, 0x41]), // same config, new instance
        };
        foreach (var f in frames) { Assert.True(muxer.Write(w, f)); f.Release(); }
        var tags = ReadTags(w.WrittenSpan);
        Assert.Equal(["9:1000:seq", "9:1000:key", "8:1000:seq", "8:1000:frame", "9:1033:inter", "9:1067:inter"], tags);
    }

    [Fact]
    public void RefusesCodecsFlvCannotCarryHere()
    {
        var av1 = new VideoTrack(Codec.Av1, new byte[] { 0x81 }, "av01", 320, 240);
        var f = MediaFrame.Rent(av1, 0, 0, true, [1]);
        Assert.False(new FlvMuxer().Write(new ArrayBufferWriter<byte>(), f));
        f.Release();
    }

    private static List<string> ReadTags(ReadOnlySpan<byte> span)
    {
        var list = new List<string>();
        while (FlvTag.TryRead(span, out var t, out int c, out _))
        {
            string kind = t.Type == FlvTagType.Video
                ? (t.Data[1] == 0 ? "seq" : (t.Data[0] >> 4) == 1 ? "key" : "inter")
                : (t.Data[1] == 0 ? "seq" : "frame");
            list.Add($"{(int)t.Type}:{t.TimestampMs}:{kind}");
            span = span[c..];
        }
        return list;
    }

    // Malformed input: (name, hex, expect error rather than "need more")
    public static TheoryData<string, string, bool> Malformed => new()
    {
        { "empty", "", false },
        { "truncated header", "0900000A", false },
        { "truncated data", "0900000A00000000000000" + "17", false },
        { "wrong PreviousTagSize", "08000002000000000000000AF01" + "00000099", true },
        { "encrypted tag", "28000002000000000000000AF01" + "0000000D", true },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void MalformedTags(string name, string hex, bool isError)
    {
        Assert.False(FlvTag.TryRead(Convert.FromHexString(hex.Length % 2 == 0 ? hex : hex + "0"), out _, out int consumed, out string? error), name);
        Assert.Equal(0, consumed);
        Assert.Equal(isError, error is not null);
    }

    [Theory]
    [InlineData("464C5601")]
    [InlineData("414C5601050000000900000000")]
    [InlineData("464C5602050000000900000000")]
    [InlineData("464C5601050000000500000000")]
    public void MalformedFileHeaders(string hex) => Assert.False(FlvFileHeader.TryRead(Convert.FromHexString(hex), out _, out _));

    [Theory]
    [InlineData(FlvFileHeader.MaxDataOffset, true)]
    [InlineData(FlvFileHeader.MaxDataOffset + 1, false)] // more padding than any writer uses: refused, not waited for
    public void DataOffsetIsBounded(int dataOffset, bool taken)
    {
        byte[] bytes = new byte[dataOffset + 4];
        Convert.FromHexString("464C560105").CopyTo(bytes, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(5), dataOffset);
        Assert.Equal(taken, FlvFileHeader.TryRead(bytes, out _, out int consumed));
        Assert.Equal(taken ? bytes.Length : 0, consumed);
    }

    [Fact]
    public void WholeTagsFromAPipeAreRefusedWithAReason()
    {
        var reader = new FlvDemuxer(new LiveStream("t"));
        Assert.False(reader.TryWrite(new FlvTag(FlvTagType.Video, 0, [0x27, 1, 0, 0, 0, 1]), out var e1));
        Assert.Contains("before its sequence header", e1);
        Assert.False(reader.TryWrite(new FlvTag(FlvTagType.Video, 0, [0x12, 0, 0, 0, 0]), out var e2));
        Assert.Contains("unsupported video codec", e2);
        Assert.False(reader.TryWrite(new FlvTag(FlvTagType.Audio, 0, [0x2F, 1, 0]), out var e3));
        Assert.Contains("unsupported audio codec", e3);
        Assert.False(reader.TryWrite(new FlvTag(FlvTagType.Video, 0, [0x17, 0, 0, 0, 0, 0xFF]), out _)); // bad avcC
        Assert.True(reader.TryWrite(new FlvTag(FlvTagType.Script, 0, [2, 0, 0]), out _));
    }

}
