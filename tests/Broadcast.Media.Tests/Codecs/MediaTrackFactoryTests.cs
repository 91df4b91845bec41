using Broadcast.Media.Codecs;

namespace Broadcast.Media.Tests.Codecs;

public class MediaTrackFactoryTests
{
    private static byte[] HvcC(ushort avgFrameRate, byte constantFrameRate)
    {
        var bytes = Convert.FromHexString("0101600000009000000000003cf000fcfdf8f800000f01" + "a10001002a")
            .Concat(HevcTests.Sps).ToArray();
        bytes[19] = (byte)(avgFrameRate >> 8);
        bytes[20] = (byte)avgFrameRate;
        bytes[21] = (byte)((constantFrameRate << 6) | 0x0F);
        return bytes;
    }

    [Fact]
    public void Hevc_frame_rate_comes_from_hvcC_when_constant_else_from_the_fallback()
    {
        Assert.True(MediaTrackFactory.TryCreateVideo(Codec.H265, HvcC(25 * 256, 1), new FrameRate(50, 1), out var constant, out _));
        Assert.Equal(new FrameRate(25, 1), constant.FrameRate);
        Assert.True(MediaTrackFactory.TryCreateVideo(Codec.H265, HvcC(0, 0), new FrameRate(50, 1), out var unknown, out _));
        Assert.Equal(new FrameRate(50, 1), unknown.FrameRate);
        Assert.Equal(("Main", "2", 4), (unknown.Profile, unknown.Level, unknown.NalLengthSize));
    }

    [Fact]
    public void Builds_either_kind_through_one_entry_point()
    {
        Assert.True(MediaTrackFactory.TryCreate(Codec.Aac, [0x11, 0x90], null, out var audio, out _));
        var a = Assert.IsType<AudioTrack>(audio);
        Assert.Equal((48000, 2, 1024, 48000), (a.SampleRate, a.Channels, a.SamplesPerFrame, a.Timescale));
        Assert.True(MediaTrackFactory.TryCreate(Codec.Av1, Av1Tests.LibaomAv1C, null, out var video, out _));
        var v = Assert.IsType<VideoTrack>(video);
        Assert.Equal(("av01.0.00M.08", 320, 240, Timescales.Video), (v.CodecString, v.Width, v.Height, v.Timescale));
    }

    [Theory]
    [InlineData(Codec.Mp3, "", "unsupported audio codec Mp3")]
    [InlineData(Codec.Opus, "", "unsupported audio codec Opus")]
    [InlineData(Codec.H264, "0142c00dffe000", "no SPS")]
    [InlineData(Codec.H264, "0142c00dffe10002674201000168", "malformed H.264 SPS")]
    [InlineData(Codec.H265, "0101600000009000000000003cf000fcfdf8f800000f00", "no SPS")]
    [InlineData(Codec.Av1, "81000c00", "no valid sequence header")]
    [InlineData(Codec.Aac, "f94640", "unsupported audio object type 42")]
    public void Explains_what_it_cannot_describe(Codec codec, string hex, string expected)
    {
        bool ok = codec == Codec.Mp3
            ? MediaTrackFactory.TryCreateAudio(codec, Convert.FromHexString(hex), out _, out var error)
            : MediaTrackFactory.TryCreate(codec, Convert.FromHexString(hex), null, out _, out error);
        Assert.False(ok);
        Assert.Contains(expected, error);
    }
}
