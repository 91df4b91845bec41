using Broadcast.Media.Codecs.H264;

namespace Broadcast.Media.Tests.Codecs;

public class AvcTests
{
    // Parameter sets from libx264 (ffmpeg 5.1): baseline 320x240 and high 1280x720 at 25 fps.
    internal static readonly byte[] BaselineSps = Convert.FromHexString("6742c00dd90141fb0110000003001000000303c0f142a480");
    internal static readonly byte[] BaselinePps = Convert.FromHexString("68cb83cb20");
    internal static readonly byte[] HighSps = Convert.FromHexString("6764001facd9405005bb011000000300100000030320f1831960");
    internal static readonly byte[] HighPps = Convert.FromHexString("68ebe3cb22c0");

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    // (name, decoded, bytes) for AVCDecoderConfigurationRecord (14496-15 5.3.3.1).
    public static TheoryData<string, AvcDecoderConfigurationRecord, byte[]> Cases => new()
    {
        {
            "constrained baseline, no extension",
            new AvcDecoderConfigurationRecord
            {
                ProfileIndication = 0x42, ProfileCompatibility = 0xC0, LevelIndication = 0x0D, NalLengthSize = 4,
                SequenceParameterSets = [BaselineSps], PictureParameterSets = [BaselinePps],
            },
            Concat([0x01, 0x42, 0xC0, 0x0D, 0xFF, 0xE1, 0x00, 0x18], BaselineSps, [0x01, 0x00, 0x05], BaselinePps)
        },
        {
            "high with the high-profile extension",
            new AvcDecoderConfigurationRecord
            {
                ProfileIndication = 0x64, ProfileCompatibility = 0x00, LevelIndication = 0x1F, NalLengthSize = 4,
                SequenceParameterSets = [HighSps], PictureParameterSets = [HighPps],
                Extension = new AvcHighProfileExtension(1, 8, 8, []),
            },
            Concat([0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0x00, 0x1A], HighSps, [0x01, 0x00, 0x06], HighPps, [0xFD, 0xF8, 0xF8, 0x00])
        },
        {
            "high without the extension (older muxers), 2-byte NAL lengths",
            new AvcDecoderConfigurationRecord
            {
                ProfileIndication = 0x64, ProfileCompatibility = 0x00, LevelIndication = 0x1F, NalLengthSize = 2,
                SequenceParameterSets = [HighSps], PictureParameterSets = [HighPps],
            },
            Concat([0x01, 0x64, 0x00, 0x1F, 0xFD, 0xE1, 0x00, 0x1A], HighSps, [0x01, 0x00, 0x06], HighPps)
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_avcC(string name, AvcDecoderConfigurationRecord decoded, byte[] bytes)
    {
        Assert.True(AvcDecoderConfigurationRecord.TryRead(bytes, out var record, out int consumed), name);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(decoded.ProfileIndication, record.ProfileIndication);
        Assert.Equal(decoded.ProfileCompatibility, record.ProfileCompatibility);
        Assert.Equal(decoded.LevelIndication, record.LevelIndication);
        Assert.Equal(decoded.NalLengthSize, record.NalLengthSize);
        Assert.Equal(decoded.SequenceParameterSets, record.SequenceParameterSets);
        Assert.Equal(decoded.PictureParameterSets, record.PictureParameterSets);
        Assert.Equal(decoded.Extension is null, record.Extension is null);
        if (decoded.Extension is { } e)
        {
            Assert.Equal((e.ChromaFormat, e.BitDepthLuma, e.BitDepthChroma), (record.Extension!.ChromaFormat, record.Extension.BitDepthLuma, record.Extension.BitDepthChroma));
            Assert.Equal(e.SequenceParameterSetExts, record.Extension.SequenceParameterSetExts);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_avcC(string name, AvcDecoderConfigurationRecord decoded, byte[] bytes)
    {
        Assert.Equal(bytes, decoded.ToArray());
        Assert.NotNull(name);
    }

    [Fact]
    public void Builds_avcC_from_parameter_sets_as_an_encoder_would()
    {
        Assert.True(AvcDecoderConfigurationRecord.TryCreate([HighSps], [HighPps], out var record));
        Assert.Equal(Cases.ToArray().Select(c => (byte[])c[2]).ElementAt(1), record.ToArray());
        Assert.Equal("avc1.64001f", record.CodecString);
        Assert.False(AvcDecoderConfigurationRecord.TryCreate([], [HighPps], out _));
        Assert.False(AvcDecoderConfigurationRecord.TryCreate([HighPps], [HighPps], out _)); // a PPS is not an SPS
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("wrong version", "0242c00dffe100")]
    [InlineData("header only", "0142c00dffe1")]
    [InlineData("SPS length past the end", "0142c00dffe1ffff6742")]
    [InlineData("zero-length SPS", "0142c00dffe10000")]
    [InlineData("no PPS count", "0142c00dffe100026742")]
    [InlineData("PPS count with no PPS", "0142c00dffe10002674203")]
    [InlineData("3-byte NAL lengths are not allowed", "0142c00dfee100026742010001ff")]
    [InlineData("extension SPS-ext length past the end", "0164001fffe100026764010001fffdf8f801ffff")]
    public void Rejects_malformed_avcC(string name, string hex)
    {
        Assert.False(AvcDecoderConfigurationRecord.TryRead(Convert.FromHexString(hex), out _, out _), name);
    }

    [Fact]
    public void Parses_baseline_sps()
    {
        Assert.True(H264Sps.TryParse(BaselineSps, out var sps));
        Assert.Equal(66, sps.ProfileIdc);
        Assert.Equal(0xC0, sps.ConstraintFlags);
        Assert.Equal(13, sps.LevelIdc);
        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.Equal("avc1.42c00d", sps.CodecString);
        Assert.Equal("Constrained Baseline", sps.ProfileName);
        Assert.Equal("1.3", sps.LevelName);
        Assert.Equal(new FrameRate(30, 1), sps.FrameRate);
    }

    [Fact]
    public void Parses_high_sps_with_timing_info()
    {
        Assert.True(H264Sps.TryParse(HighSps, out var sps));
        Assert.Equal(100, sps.ProfileIdc);
        Assert.Equal(1, sps.ChromaFormatIdc);
        Assert.Equal(8, sps.BitDepthLuma);
        Assert.Equal((1280, 720), (sps.Width, sps.Height));
        Assert.Equal("avc1.64001f", sps.CodecString);
        Assert.Equal("3.1", sps.LevelName);
        Assert.Equal(new FrameRate(25, 1), sps.FrameRate);
    }

    [Fact]
    public void Every_truncation_of_a_real_sps_is_rejected_or_parsed_without_throwing()
    {
        for (int n = 0; n < HighSps.Length; n++)
        {
            // Cutting inside the VUI can still leave a valid prefix; what matters is no exception and no nonsense size.
            if (H264Sps.TryParse(HighSps.AsSpan(0, n), out var sps)) Assert.Equal((1280, 720), (sps.Width, sps.Height));
        }
        Assert.False(H264Sps.TryParse(HighSps.AsSpan(0, 6), out _));
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("not an SPS NAL (PPS)", "68ebe3cb22c0")]
    [InlineData("forbidden zero bit set", "e764001facd9405005bb")]
    [InlineData("all zeros", "6700000000000000000000000000000000")]
    [InlineData("huge width (ue with 31 leading zeros)", "6742c00d8800000001ffffffff80")]
    [InlineData("chroma_format_idc 7", "6764001f8828")]
    public void Rejects_malformed_sps(string name, string hex)
    {
        Assert.False(H264Sps.TryParse(Convert.FromHexString(hex), out _), name);
    }

    [Theory]
    [InlineData(66, 0xC0, 30, "avc1.42c01e")]
    [InlineData(77, 0x40, 31, "avc1.4d401f")]
    [InlineData(100, 0x00, 40, "avc1.640028")]
    [InlineData(244, 0x00, 51, "avc1.f40033")]
    public void Formats_rfc6381_codec_strings(byte profile, byte flags, byte level, string expected)
    {
        Assert.Equal(expected, H264Sps.FormatCodecString(profile, flags, level));
    }
}
