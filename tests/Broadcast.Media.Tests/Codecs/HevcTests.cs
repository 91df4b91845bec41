using Broadcast.Media.Codecs.Hevc;

namespace Broadcast.Media.Tests.Codecs;

public class HevcTests
{
    // libx265 (ffmpeg 5.1) 320x240 Main: VPS, SPS, PPS.
    internal static readonly byte[] Vps = Convert.FromHexString("40010c01ffff01600000030090000003000003003c959409");
    internal static readonly byte[] Sps = Convert.FromHexString("42010101600000030090000003000003003ca00a080f16595952930bc05a020000030002000003003c10");
    internal static readonly byte[] Pps = Convert.FromHexString("4401c073c189");

    private static readonly HevcProfileTierLevel MainL60 = new(0, false, 1, 0x6000_0000, 0x9000_0000_0000, 60);

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    // (name, decoded, bytes) for HEVCDecoderConfigurationRecord (14496-15 8.3.3.1).
    public static TheoryData<string, HevcDecoderConfigurationRecord, byte[]> Cases => new()
    {
        {
            "x265 Main 320x240 with VPS, SPS, PPS",
            new HevcDecoderConfigurationRecord
            {
                ProfileTierLevel = MainL60, ChromaFormat = 1, BitDepthLuma = 8, BitDepthChroma = 8, NumTemporalLayers = 1,
                TemporalIdNested = true, NalLengthSize = 4,
                Arrays = [new(true, 32, [Vps]), new(true, 33, [Sps]), new(true, 34, [Pps])],
            },
            Concat(Convert.FromHexString("0101600000009000000000003cf000fcfdf8f800000f03"),
                [0xA0, 0x00, 0x01, 0x00, 0x18], Vps, [0xA1, 0x00, 0x01, 0x00, 0x2A], Sps, [0xA2, 0x00, 0x01, 0x00, 0x06], Pps)
        },
        {
            "Main 10 high tier, 2-byte lengths, no arrays",
            new HevcDecoderConfigurationRecord
            {
                ProfileTierLevel = new HevcProfileTierLevel(0, true, 2, 0x2000_0000, 0xB000_0000_0000, 153),
                ChromaFormat = 1, BitDepthLuma = 10, BitDepthChroma = 10, AvgFrameRate = 7680, ConstantFrameRate = 1,
                NumTemporalLayers = 1, NalLengthSize = 2,
            },
            Convert.FromHexString("012220000000b0000000000099f000fcfdfafa1e004900")
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_hvcC(string name, HevcDecoderConfigurationRecord decoded, byte[] bytes)
    {
        Assert.True(HevcDecoderConfigurationRecord.TryRead(bytes, out var r, out int consumed), name);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(decoded.ProfileTierLevel, r.ProfileTierLevel);
        Assert.Equal((decoded.ChromaFormat, decoded.BitDepthLuma, decoded.BitDepthChroma), (r.ChromaFormat, r.BitDepthLuma, r.BitDepthChroma));
        Assert.Equal((decoded.AvgFrameRate, decoded.ConstantFrameRate, decoded.NumTemporalLayers, decoded.TemporalIdNested, decoded.NalLengthSize),
            (r.AvgFrameRate, r.ConstantFrameRate, r.NumTemporalLayers, r.TemporalIdNested, r.NalLengthSize));
        Assert.Equal(decoded.Arrays.Count, r.Arrays.Count);
        for (int i = 0; i < r.Arrays.Count; i++)
        {
            Assert.Equal((decoded.Arrays[i].Completeness, decoded.Arrays[i].NalUnitType), (r.Arrays[i].Completeness, r.Arrays[i].NalUnitType));
            Assert.Equal(decoded.Arrays[i].NalUnits, r.Arrays[i].NalUnits);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_hvcC(string name, HevcDecoderConfigurationRecord decoded, byte[] bytes)
    {
        Assert.Equal(Convert.ToHexString(bytes), Convert.ToHexString(decoded.ToArray()));
        Assert.NotNull(name);
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("short header", "0101600000009000000000003cf000fcfdf8f8")]
    [InlineData("wrong version", "0201600000009000000000003cf000fcfdf8f800000f00")]
    [InlineData("3-byte NAL lengths", "0101600000009000000000003cf000fcfdf8f800000e00")]
    [InlineData("array count past the end", "0101600000009000000000003cf000fcfdf8f800000f01")]
    [InlineData("huge NAL count", "0101600000009000000000003cf000fcfdf8f800000f01a0ffff")]
    [InlineData("NAL length past the end", "0101600000009000000000003cf000fcfdf8f800000f01a00001ffff40")]
    public void Rejects_malformed_hvcC(string name, string hex)
    {
        Assert.False(HevcDecoderConfigurationRecord.TryRead(Convert.FromHexString(hex), out _, out _), name);
    }

    [Fact]
    public void Parses_sps()
    {
        Assert.True(HevcSps.TryParse(Sps, out var sps));
        Assert.Equal(MainL60, sps.ProfileTierLevel);
        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.Equal(1, sps.ChromaFormatIdc);
        Assert.Equal(8, sps.BitDepthLuma);
        Assert.Equal("hvc1.1.6.L60.90", sps.ProfileTierLevel.CodecString());
        Assert.Equal("2", sps.ProfileTierLevel.LevelName);
    }

    [Fact]
    public void Sps_truncations_never_throw()
    {
        for (int n = 0; n < Sps.Length; n++)
        {
            if (HevcSps.TryParse(Sps.AsSpan(0, n), out var sps)) Assert.Equal((320, 240), (sps.Width, sps.Height));
        }
        Assert.False(HevcSps.TryParse(Sps.AsSpan(0, 20), out _));
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("a VPS is not an SPS", "40010c01ffff01600000030090000003000003003c959409")]
    [InlineData("all zeros", "42010000000000000000000000000000000000000000")]
    [InlineData("all ones after the header", "4201ffffffffffffffffffffffffffffffffffffffffffffff")]
    public void Rejects_malformed_sps(string name, string hex)
    {
        Assert.False(HevcSps.TryParse(Convert.FromHexString(hex), out _), name);
    }

    // Examples from ISO/IEC 14496-15 Annex E.3 and what encoders produce.
    [Theory]
    [InlineData(0, false, 1, 0x6000_0000u, 0x9000_0000_0000ul, 93, "hvc1.1.6.L93.90")]
    [InlineData(0, false, 1, 0x6000_0000u, 0xB000_0000_0000ul, 93, "hvc1.1.6.L93.B0")]
    [InlineData(0, true, 2, 0x2000_0000u, 0xB000_0000_0000ul, 120, "hvc1.2.4.H120.B0")]
    [InlineData(1, true, 4, 0x0800_0000u, 0xB023_0000_0000ul, 120, "hvc1.A4.10.H120.B0.23")]
    [InlineData(0, false, 1, 0x6000_0000u, 0ul, 123, "hvc1.1.6.L123")]
    public void Formats_codec_strings(int space, bool tier, int profile, uint compat, ulong constraints, int level, string expected)
    {
        Assert.Equal(expected, new HevcProfileTierLevel(space, tier, profile, compat, constraints, level).CodecString());
    }
}
