using Broadcast.Media.Codecs.Av1;

namespace Broadcast.Media.Tests.Codecs;

public class Av1Tests
{
    // libaom (ffmpeg 5.1) 320x240 profile 0: av1C with its sequence header OBU (type 1, with size field).
    internal static readonly byte[] LibaomSequenceHeaderObu = Convert.FromHexString("0a0b00000004" + "3cffbcdaf90040");
    internal static readonly byte[] LibaomAv1C = Convert.FromHexString("81000c00").Concat(LibaomSequenceHeaderObu).ToArray();

    // (name, decoded, bytes) for AV1CodecConfigurationRecord.
    public static TheoryData<string, Av1CodecConfigurationRecord, byte[]> Cases => new()
    {
        {
            "libaom profile 0 level 2.0 4:2:0 8-bit",
            new Av1CodecConfigurationRecord { SeqProfile = 0, SeqLevelIdx0 = 0, ConfigObus = LibaomSequenceHeaderObu },
            LibaomAv1C
        },
        {
            "profile 2 high tier 12-bit monochrome, presentation delay 3, no OBUs",
            new Av1CodecConfigurationRecord
            {
                SeqProfile = 2, SeqLevelIdx0 = 13, SeqTier0 = true, HighBitDepth = true, TwelveBit = true, Monochrome = true,
                ChromaSubsamplingX = true, ChromaSubsamplingY = true, ChromaSamplePosition = 1, InitialPresentationDelay = 3,
            },
            [0x81, 0x4D, 0xFD, 0x12]
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads_av1C(string name, Av1CodecConfigurationRecord decoded, byte[] bytes)
    {
        Assert.True(Av1CodecConfigurationRecord.TryRead(bytes, out var r, out int consumed), name);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(
            (decoded.SeqProfile, decoded.SeqLevelIdx0, decoded.SeqTier0, decoded.HighBitDepth, decoded.TwelveBit, decoded.Monochrome,
                decoded.ChromaSubsamplingX, decoded.ChromaSubsamplingY, decoded.ChromaSamplePosition, decoded.InitialPresentationDelay),
            (r.SeqProfile, r.SeqLevelIdx0, r.SeqTier0, r.HighBitDepth, r.TwelveBit, r.Monochrome,
                r.ChromaSubsamplingX, r.ChromaSubsamplingY, r.ChromaSamplePosition, r.InitialPresentationDelay));
        Assert.Equal(decoded.ConfigObus, r.ConfigObus);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes_av1C(string name, Av1CodecConfigurationRecord decoded, byte[] bytes)
    {
        Assert.Equal(bytes, decoded.ToArray());
        Assert.NotNull(name);
    }

    [Fact]
    public void Parses_the_sequence_header_obu()
    {
        Assert.True(Av1CodecConfigurationRecord.TryRead(LibaomAv1C, out var av1C, out _));
        Assert.True(Av1SequenceHeader.TryFind(av1C.ConfigObus, out var seq));
        Assert.Equal((320, 240), (seq.MaxFrameWidth, seq.MaxFrameHeight));
        Assert.Equal(0, seq.SeqProfile);
        Assert.Equal(0, seq.SeqLevelIdx0);
        Assert.Equal("av01.0.00M.08", av1C.CodecString);
        Assert.Equal("2.0", Av1SequenceHeader.LevelName(seq.SeqLevelIdx0));
    }

    [Theory]
    [InlineData(0, 4, false, 8, "av01.0.04M.08")]
    [InlineData(0, 8, false, 10, "av01.0.08M.10")]
    [InlineData(1, 13, true, 10, "av01.1.13H.10")]
    [InlineData(2, 31, false, 12, "av01.2.31M.12")]
    public void Formats_codec_strings(int profile, int level, bool tier, int depth, string expected)
    {
        Assert.Equal(expected, Av1CodecConfigurationRecord.FormatCodecString(profile, level, tier, depth));
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("marker bit clear", "01000c00")]
    [InlineData("version 2", "82000c00")]
    [InlineData("short", "81000c")]
    [InlineData("reserved bits set", "81000ce0")]
    public void Rejects_malformed_av1C(string name, string hex)
    {
        Assert.False(Av1CodecConfigurationRecord.TryRead(Convert.FromHexString(hex), out _, out _), name);
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("forbidden bit", "8a0b000000043cffbcdaf90040")]
    [InlineData("size past the end", "0a7f0000")]
    [InlineData("unterminated leb128", "0affffffffffffffffff")]
    [InlineData("no sequence header, only a temporal delimiter", "1200")]
    [InlineData("sequence header cut short", "0a0300000004")]
    [InlineData("profile 7", "0a01e0")]
    public void Rejects_malformed_obus(string name, string hex)
    {
        Assert.False(Av1SequenceHeader.TryFind(Convert.FromHexString(hex), out _), name);
    }
}
