using Broadcast.TestSupport;
using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

/// <summary>FLV tag bodies written for RTMP messages, byte for byte, and read back by the demuxer's header reader.</summary>
public class FlvTagBodyWriterTests
{
    internal static readonly VideoTrack Avc = new(Codec.H264, new byte[] { 0x01, 0x64, 0x00, 0x1F }, "avc1.64001f", 320, 240);
    internal static readonly VideoTrack Hevc = new(Codec.H265, new byte[] { 0x01, 0x01, 0x60 }, "hvc1.1.6.L93.B0", 320, 240);
    internal static readonly VideoTrack Av1 = new(Codec.Av1, new byte[] { 0x81, 0x08, 0x0C }, "av01.0.04M.08", 320, 240, nalLengthSize: 0);
    internal static readonly AudioTrack Aac = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    // name, track, keyframe, composition offset (track ticks; 6000 at 90 kHz = 67 ms), sequence header (true) or frame, expected body
    public static TheoryData<string, MediaTrack, bool, int, bool, string> Cases => new()
    {
        { "AVC sequence header", Avc, true, 0, true, "17 00 000000 0164001F" },
        { "AVC keyframe with composition time", Avc, true, 6000, false, "17 01 000043 AABB" },
        { "AVC inter frame, negative composition time", Avc, false, -3000, false, "27 01 FFFFDF AABB" },
        { "HEVC sequence start (enhanced)", Hevc, true, 0, true, "90 68766331 010160" },
        { "HEVC coded frames with composition time", Hevc, true, 6000, false, "91 68766331 000043 AABB" },
        { "HEVC inter frame", Hevc, false, 0, false, "A1 68766331 000000 AABB" },
        { "AV1 sequence start (enhanced)", Av1, true, 0, true, "90 61763031 81080C" },
        { "AV1 coded frames: no composition time", Av1, false, 0, false, "A1 61763031 AABB" },
        { "AAC sequence header", Aac, true, 0, true, "AF 00 1190" },
        { "AAC raw frame", Aac, true, 0, false, "AF 01 AABB" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, MediaTrack track, bool keyframe, int cto, bool sequenceHeader, string hex)
    {
        var frame = MediaFrame.Rent(track, 90_000, cto, keyframe, new byte[] { 0xAA, 0xBB });
        try
        {
            var bytes = Hex.Written(w =>
            {
                if (sequenceHeader) FlvTagBodyWriter.WriteSequenceHeader(w, track);
                else FlvTagBodyWriter.WriteFrame(w, frame);
            });
            Assert.True(Convert.ToHexString(Hex.Bytes(hex)) == Convert.ToHexString(bytes), $"{name}: {Convert.ToHexString(bytes)}");
        }
        finally
        {
            frame.Release();
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Video_bodies_read_back_as_what_was_written(string name, MediaTrack track, bool keyframe, int cto, bool sequenceHeader, string hex)
    {
        if (track.Kind != MediaKind.Video) return;
        Assert.True(FlvVideoTagHeader.TryRead(Hex.Bytes(hex), out var header, out _), name);
        Assert.Equal(track.Codec, header.Codec);
        Assert.Equal(keyframe, header.IsKeyframe);
        Assert.Equal(sequenceHeader ? FlvVideoPacketType.SequenceStart : FlvVideoPacketType.CodedFrames, header.PacketType);
        Assert.Equal(Timescales.Rescale(cto, track.Timescale, Timescales.Milliseconds), header.CompositionTimeMs);
    }

    [Fact]
    public void Only_codecs_rtmp_can_carry_are_carried()
    {
        Assert.True(FlvTagBodyWriter.CanCarry(Avc));
        Assert.True(FlvTagBodyWriter.CanCarry(Aac));
        Assert.False(FlvTagBodyWriter.CanCarry(new AudioTrack(Codec.Opus, new byte[] { 1 }, "opus", 48000, 2)));
    }
}
