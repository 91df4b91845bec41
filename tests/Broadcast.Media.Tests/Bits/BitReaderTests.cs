using Broadcast.Media.Bits;

namespace Broadcast.Media.Tests.Bits;

public class BitReaderTests
{
    // (name, decoded, bytes): exp-Golomb codes from H.264 Table 9-2, padded with zero bits.
    public static TheoryData<string, uint, byte[]> UeCases => new()
    {
        { "0 is a single 1", 0, [0b1000_0000] },
        { "1 is 010", 1, [0b0100_0000] },
        { "2 is 011", 2, [0b0110_0000] },
        { "3 is 00100", 3, [0b0010_0000] },
        { "7 is 0001000", 7, [0b0001_0000] },
        { "255 is 8 zeros then 100000000", 255, [0b0000_0000, 0b1000_0000, 0b0000_0000] },
        { "2^32-2 is 31 zeros then 32 bits", uint.MaxValue - 1, [0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE] },
    };

    public static TheoryData<string, int, byte[]> SeCases => new()
    {
        { "0", 0, [0b1000_0000] },
        { "+1 is codeNum 1", 1, [0b0100_0000] },
        { "-1 is codeNum 2", -1, [0b0110_0000] },
        { "+2 is codeNum 3", 2, [0b0010_0000] },
        { "-2 is codeNum 4", -2, [0b0010_1000] },
    };

    [Theory]
    [MemberData(nameof(UeCases))]
    public void Reads_ue(string name, uint decoded, byte[] bytes)
    {
        var r = new BitReader(bytes);
        Assert.Equal(decoded, r.ReadUe());
        Assert.False(r.Overrun, name);
    }

    [Theory]
    [MemberData(nameof(UeCases))]
    public void Writes_ue(string name, uint decoded, byte[] bytes)
    {
        var buffer = new byte[bytes.Length];
        var w = new BitWriter(buffer);
        w.WriteUe(decoded);
        Assert.False(w.Overflow, name);
        Assert.Equal(bytes, buffer);
    }

    [Theory]
    [MemberData(nameof(SeCases))]
    public void Reads_and_writes_se(string name, int decoded, byte[] bytes)
    {
        var r = new BitReader(bytes);
        Assert.Equal(decoded, r.ReadSe());
        Assert.False(r.Overrun, name);
        var buffer = new byte[bytes.Length];
        var w = new BitWriter(buffer);
        w.WriteSe(decoded);
        Assert.Equal(bytes, buffer);
    }

    [Fact]
    public void Reads_fixed_width_fields_across_byte_boundaries()
    {
        var r = new BitReader([0b1011_0011, 0b1100_0101, 0xFF, 0x00, 0x12, 0x34, 0x56, 0x78, 0x9A]);
        Assert.Equal(0b101u, r.ReadBits(3));
        Assert.Equal(0b1_0011_1100u, r.ReadBits(9));
        Assert.Equal(0b0101u, r.ReadBits(4));
        Assert.Equal(0xFF00_1234u, r.ReadBits(32));
        Assert.Equal(0x56789Aul, r.ReadBits64(24));
        Assert.Equal(0, r.RemainingBits);
        Assert.False(r.Overrun);
    }

    [Fact]
    public void Reading_past_the_end_sets_overrun_and_returns_zero_instead_of_throwing()
    {
        var r = new BitReader([0xFF]);
        Assert.Equal(0u, r.ReadBits(9));
        Assert.True(r.Overrun);
        Assert.Equal(0u, r.ReadBit());
        Assert.Equal(0, r.RemainingBits);
    }

    [Theory]
    [InlineData("no terminating one", new byte[] { 0x00, 0x00 })]
    [InlineData("info bits cut off", new byte[] { 0b0000_0001 })]
    [InlineData("33 leading zeros", new byte[] { 0, 0, 0, 0, 0x40, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF })]
    [InlineData("empty", new byte[0])]
    public void Malformed_ue_sets_overrun(string name, byte[] bytes)
    {
        var r = new BitReader(bytes);
        Assert.Equal(0u, r.ReadUe());
        Assert.True(r.Overrun, name);
    }

    // (name, escaped NAL, RBSP): 00 00 03 is 00 00 with an emulation-prevention byte.
    public static TheoryData<string, byte[], byte[]> UnescapeCases => new()
    {
        { "nothing to remove", [0x67, 0x42, 0x00, 0x1F], [0x67, 0x42, 0x00, 0x1F] },
        { "one 03 removed", [0x00, 0x00, 0x03, 0x01], [0x00, 0x00, 0x01] },
        { "two in a row", [0x00, 0x00, 0x03, 0x00, 0x00, 0x03], [0x00, 0x00, 0x00, 0x00] },
        { "03 after a single zero stays", [0x10, 0x00, 0x03, 0x00], [0x10, 0x00, 0x03, 0x00] },
        { "trailing 00 00 03 (cabac_zero_words)", [0xAA, 0x00, 0x00, 0x03], [0xAA, 0x00, 0x00] },
        { "real x264 SPS", Convert.FromHexString("6742c00dd90141fb0110000003001000000303c0f142a480"),
            Convert.FromHexString("6742c00dd90141fb011000000010000003c0f142a480") },
    };

    [Theory]
    [MemberData(nameof(UnescapeCases))]
    public void Removes_emulation_prevention_bytes(string name, byte[] nal, byte[] rbsp)
    {
        Span<byte> buffer = stackalloc byte[nal.Length];
        int n = NalUnescaper.Unescape(nal, buffer);
        Assert.True(n >= 0, name);
        Assert.Equal(rbsp, buffer[..n].ToArray());
    }

    [Fact]
    public void Unescape_reports_a_too_small_destination()
    {
        Span<byte> buffer = stackalloc byte[2];
        Assert.Equal(-1, NalUnescaper.Unescape([1, 2, 3], buffer));
    }
}
