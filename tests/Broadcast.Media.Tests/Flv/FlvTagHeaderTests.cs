using System.Buffers;
using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

public class FlvTagHeaderTests
{
    private const uint Hvc1 = FlvVideoTagHeader.FourCcHvc1;
    private const uint Av01 = FlvVideoTagHeader.FourCcAv01;
    private const uint Avc1 = FlvVideoTagHeader.FourCcAvc1;

    // (name, decoded, bytes): FLV spec E.4.3.1 and Enhanced RTMP (v1/v2) video tag headers.
    public static TheoryData<string, FlvVideoTagHeader, byte[]> VideoCases => new()
    {
        { "legacy AVC sequence header", new(FlvVideoFrameType.Keyframe, false, 7, 0, FlvVideoPacketType.SequenceStart, 0), [0x17, 0x00, 0x00, 0x00, 0x00] },
        { "legacy AVC keyframe, cts 66 ms", new(FlvVideoFrameType.Keyframe, false, 7, 0, FlvVideoPacketType.CodedFrames, 66), [0x17, 0x01, 0x00, 0x00, 0x42] },
        { "legacy AVC inter frame, negative cts", new(FlvVideoFrameType.InterFrame, false, 7, 0, FlvVideoPacketType.CodedFrames, -33), [0x27, 0x01, 0xFF, 0xFF, 0xDF] },
        { "legacy AVC end of sequence", new(FlvVideoFrameType.Keyframe, false, 7, 0, FlvVideoPacketType.SequenceEnd, 0), [0x17, 0x02, 0x00, 0x00, 0x00] },
        { "legacy Sorenson H.263 (codec 2): one byte", new(FlvVideoFrameType.InterFrame, false, 2, 0, FlvVideoPacketType.CodedFrames, 0), [0x22] },
        { "enhanced hvc1 SequenceStart", new(FlvVideoFrameType.Keyframe, true, 0, Hvc1, FlvVideoPacketType.SequenceStart, 0), [0x90, 0x68, 0x76, 0x63, 0x31] },
        { "enhanced hvc1 CodedFrames with SI24 cts", new(FlvVideoFrameType.InterFrame, true, 0, Hvc1, FlvVideoPacketType.CodedFrames, 40), [0xA1, 0x68, 0x76, 0x63, 0x31, 0x00, 0x00, 0x28] },
        { "enhanced hvc1 CodedFramesX: no cts", new(FlvVideoFrameType.Keyframe, true, 0, Hvc1, FlvVideoPacketType.CodedFramesX, 0), [0x93, 0x68, 0x76, 0x63, 0x31] },
        { "enhanced avc1 CodedFrames negative cts", new(FlvVideoFrameType.InterFrame, true, 0, Avc1, FlvVideoPacketType.CodedFrames, -1), [0xA1, 0x61, 0x76, 0x63, 0x31, 0xFF, 0xFF, 0xFF] },
        { "enhanced av01 CodedFrames: no cts for AV1", new(FlvVideoFrameType.Keyframe, true, 0, Av01, FlvVideoPacketType.CodedFrames, 0), [0x91, 0x61, 0x76, 0x30, 0x31] },
        { "enhanced av01 SequenceEnd", new(FlvVideoFrameType.Keyframe, true, 0, Av01, FlvVideoPacketType.SequenceEnd, 0), [0x92, 0x61, 0x76, 0x30, 0x31] },
        { "enhanced hvc1 Metadata", new(FlvVideoFrameType.Command, true, 0, Hvc1, FlvVideoPacketType.Metadata, 0), [0xD4, 0x68, 0x76, 0x63, 0x31] },
    };

    [Theory]
    [MemberData(nameof(VideoCases))]
    public void Reads_video_headers(string name, FlvVideoTagHeader decoded, byte[] bytes)
    {
        Assert.True(FlvVideoTagHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(VideoCases))]
    public void Writes_video_headers(string name, FlvVideoTagHeader decoded, byte[] bytes) => AssertWrites(name, decoded, bytes);

    [Theory]
    [InlineData("empty", new byte[0])]
    [InlineData("legacy AVC without packet type", new byte[] { 0x17 })]
    [InlineData("legacy AVC cut inside the cts", new byte[] { 0x17, 0x01, 0x00 })]
    [InlineData("legacy AVC packet type 3", new byte[] { 0x17, 0x03, 0x00, 0x00, 0x00 })]
    [InlineData("enhanced cut inside the FourCC", new byte[] { 0x90, 0x68, 0x76 })]
    [InlineData("enhanced hvc1 CodedFrames cut inside the cts", new byte[] { 0x91, 0x68, 0x76, 0x63, 0x31, 0x00 })]
    public void Rejects_truncated_video_headers(string name, byte[] bytes)
    {
        Assert.False(FlvVideoTagHeader.TryRead(bytes, out _, out _), name);
    }

    [Fact]
    public void Names_codecs()
    {
        Assert.True(FlvVideoTagHeader.TryRead([0x90, 0x76, 0x70, 0x30, 0x39], out var vp9, out _));
        Assert.Equal(Broadcast.Media.Codec.Unknown, vp9.Codec);
        Assert.Equal("vp09", FlvVideoTagHeader.FourCcToString(vp9.FourCc));
        Assert.True(FlvVideoTagHeader.TryRead([0x90, 0x68, 0x76, 0x63, 0x31], out var hevc, out _));
        Assert.Equal(Broadcast.Media.Codec.H265, hevc.Codec);
        Assert.True(hevc.IsKeyframe);
    }

    /// <summary>The header writes the case's bytes, and says beforehand how many (the muxer sizes its tags by it).</summary>
    private static void AssertWrites<THeader>(string name, THeader decoded, byte[] bytes)
        where THeader : struct, IFlvTagBodyHeader
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.True(bytes.AsSpan().SequenceEqual(buffer.WrittenSpan), name);
        Assert.Equal(bytes.Length, decoded.Length);
    }

    // (name, decoded, bytes): FLV spec E.4.2.1 audio tag headers.
    public static TheoryData<string, FlvAudioTagHeader, byte[]> AudioCases => new()
    {
        { "AAC sequence header", new(FlvSoundFormat.Aac, 3, true, true, 0), [0xAF, 0x00] },
        { "AAC raw frame", new(FlvSoundFormat.Aac, 3, true, true, 1), [0xAF, 0x01] },
        { "MP3 44 kHz 16-bit stereo", new(FlvSoundFormat.Mp3, 3, true, true, 0), [0x2F] },
        { "Speex 5.5 kHz 16-bit mono", new(FlvSoundFormat.Speex, 0, true, false, 0), [0xB2] },
        { "G.711 mu-law 8-bit mono", new(FlvSoundFormat.G711MuLaw, 0, false, false, 0), [0x80] },
    };

    [Theory]
    [MemberData(nameof(AudioCases))]
    public void Reads_audio_headers(string name, FlvAudioTagHeader decoded, byte[] bytes)
    {
        Assert.True(FlvAudioTagHeader.TryRead(bytes, out var header, out int consumed), name);
        Assert.Equal(decoded, header);
        Assert.Equal(bytes.Length, consumed);
    }

    [Theory]
    [MemberData(nameof(AudioCases))]
    public void Writes_audio_headers(string name, FlvAudioTagHeader decoded, byte[] bytes) => AssertWrites(name, decoded, bytes);

    [Theory]
    [InlineData("empty", new byte[0])]
    [InlineData("AAC without packet type", new byte[] { 0xAF })]
    public void Rejects_truncated_audio_headers(string name, byte[] bytes)
    {
        Assert.False(FlvAudioTagHeader.TryRead(bytes, out _, out _), name);
    }

    // name, tag type, timestamp, data, the whole tag (header, data, PreviousTagSize = 11 + data size)
    public static TheoryData<string, FlvTagType, uint, byte[], byte[]> TagCases => new()
    {
        { "video tag, 3 bytes at 0 ms", FlvTagType.Video, 0, [0x17, 0x01, 0x00],
            [0x09, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x0E] },
        { "audio tag with extended timestamp", FlvTagType.Audio, 0x1234_5678, [0xAF, 0x01],
            [0x08, 0x00, 0x00, 0x02, 0x34, 0x56, 0x78, 0x12, 0x00, 0x00, 0x00, 0xAF, 0x01, 0x00, 0x00, 0x00, 0x0D] },
    };

    [Theory]
    [MemberData(nameof(TagCases))]
    public void Reads_and_writes_file_tags(string name, FlvTagType type, uint timestampMs, byte[] data, byte[] bytes)
    {
        Assert.True(FlvTag.TryRead(bytes, out var tag, out int consumed, out string? error), name);
        Assert.Null(error);
        Assert.Equal((type, timestampMs), (tag.Type, tag.TimestampMs));
        Assert.Equal(data, tag.Data.ToArray());
        Assert.Equal(bytes.Length, consumed);
        var buffer = new ArrayBufferWriter<byte>();
        new FlvTag(type, timestampMs, data).Write(buffer);
        Assert.Equal(bytes, buffer.WrittenSpan.ToArray());
    }

    [Theory]
    [InlineData("short", "464c5601050000")]
    [InlineData("not FLV", "464c5801050000000900000000")]
    [InlineData("data offset too small", "464c5601050000000300000000")]
    public void Rejects_bad_file_headers(string name, string hex)
    {
        Assert.False(FlvFileHeader.TryRead(Convert.FromHexString(hex), out _, out _), name);
    }
}
