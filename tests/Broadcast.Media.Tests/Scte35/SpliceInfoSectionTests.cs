using System.Buffers;
using Broadcast.Media.Scte35;

namespace Broadcast.Media.Tests.Scte35;

public class SpliceInfoSectionTests
{
    // (name, decoded, bytes) per SCTE 35 §9.6 (splice_info_section), §9.7.3 (splice_insert), §9.8 (splice_time, break_duration).
    // The first and the splice_null are published samples whose CRC-32 checks out; the others were laid out bit by bit
    // from the syntax tables, their CRCs from an independent bitwise CRC-32/MPEG-2.
    public static TheoryData<string, SpliceInfoSection, byte[]> Cases => new()
    {
        {
            "SCTE 35 sample: splice_insert out, 60.293 s break with auto return, avail_descriptor 'CUEI'",
            new SpliceInfoSection
            {
                CwIndex = 0xFF, CommandType = SpliceCommandType.SpliceInsert,
                Insert = new SpliceInsert
                {
                    EventId = 0x4800008F, OutOfNetwork = true, PtsTime = 0x07369C02E, BreakDuration = 0x0052CCF5, AutoReturn = true,
                },
                Descriptors = Convert.FromHexString("00084355454900000135"),
            },
            Convert.FromHexString("FC302F000000000000FFFFF014054800008F7FEFFE7369C02EFE0052CCF500000000000A0008435545490000013562DBA30A")
        },
        {
            "splice_null heartbeat",
            new SpliceInfoSection { CommandType = SpliceCommandType.SpliceNull },
            Convert.FromHexString("FC301100000000000000FFF0000000007A4FBFFF")
        },
        {
            "splice_insert cancel of event 1",
            new SpliceInfoSection { CommandType = SpliceCommandType.SpliceInsert, Insert = new SpliceInsert { EventId = 1, Cancel = true } },
            Convert.FromHexString("FC301600000000000000FFF0050500000001FF0000B5E88396")
        },
        {
            "splice_insert out, immediate, 30 s break (what the breaks API writes), unique_program_id 1",
            new SpliceInfoSection
            {
                CommandType = SpliceCommandType.SpliceInsert,
                Insert = new SpliceInsert { EventId = 42, OutOfNetwork = true, Immediate = true, BreakDuration = 2_700_000, AutoReturn = true, UniqueProgramId = 1 },
            },
            Convert.FromHexString("FC302000000000000000FFF00F050000002A7FFFFE002932E00001000000006DBAE0B9")
        },
        {
            "splice_insert in at a 33-bit pts, pts_adjustment with its top bit set",
            new SpliceInfoSection
            {
                PtsAdjustment = 0x1_0000_0010, CommandType = SpliceCommandType.SpliceInsert,
                Insert = new SpliceInsert { EventId = 42, PtsTime = 0x1_0000_0005, UniqueProgramId = 1 },
            },
            Convert.FromHexString("FC302000010000001000FFF00F050000002A7F4FFF000000050001000000005FCA8181")
        },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Reads(string name, SpliceInfoSection decoded, byte[] bytes)
    {
        Assert.True(SpliceInfoSection.TryRead(bytes, out var section, out int consumed, out var error), $"{name}: {error}");
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(decoded, section);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Writes(string name, SpliceInfoSection decoded, byte[] bytes)
    {
        var buffer = new ArrayBufferWriter<byte>();
        decoded.Write(buffer);
        Assert.True(bytes.AsSpan().SequenceEqual(buffer.WrittenSpan), $"{name}: {Convert.ToHexString(buffer.WrittenSpan)}");
        Assert.Equal(bytes.Length, decoded.Length);
    }

    [Fact]
    public void Crc_of_a_whole_section_is_zero_and_of_the_check_string_is_the_catalogue_value()
    {
        // CRC-32/MPEG-2 catalogue check value for "123456789".
        Assert.Equal(0x0376E6E7u, Crc32Mpeg2.Compute("123456789"u8));
        foreach (var row in Cases) Assert.Equal(0u, Crc32Mpeg2.Compute((byte[])row[2]!));
    }

    public static TheoryData<string, byte[], SpliceInfoError> Malformed => new()
    {
        { "empty", [], SpliceInfoError.Truncated },
        { "PAT table id", Convert.FromHexString("00B00D0001C100000001F0002AB104B2"), SpliceInfoError.NotSpliceInfo },
        { "section_syntax_indicator set", Convert.FromHexString("FCB01100000000000000FFF0000000007A4FBFFF"), SpliceInfoError.SectionSyntax },
        { "section shorter than its length", Convert.FromHexString("FC301100000000000000FFF0000000007A4FBF"), SpliceInfoError.Truncated },
        { "section_length below the fixed fields", Convert.FromHexString("FC3005000000000000"), SpliceInfoError.LengthMismatch },
        { "a flipped bit (CRC mismatch)", Convert.FromHexString("FC301100000000000000FFF0000000007A4FBFFE"), SpliceInfoError.CrcMismatch },
        // RFC 8216 §4.4.5.1.4's SCTE35-OUT example is one byte short of its section_length (and its CRC_32 field is zero).
        {
            "RFC 8216 example: shorter than its section_length",
            Convert.FromHexString("FC002F0000000000FF000014056FFFFFF000E011622DCAFF000052636200000000000A0008029896F50000008700000000"),
            SpliceInfoError.Truncated
        },
        { "protocol_version 1", Sealed("FC3011 01 0000000000 00 FFF000 00 0000"), SpliceInfoError.UnsupportedProtocolVersion },
        { "encrypted_packet", Sealed("FC3011 00 8000000000 00 FFF000 00 0000"), SpliceInfoError.Encrypted },
        { "splice_command_length disagrees with splice_insert", Sealed("FC3016 00 0000000000 00 FFF006 05 00000001FF 0000"), SpliceInfoError.CommandLengthMismatch },
        { "splice_insert cut short", Sealed("FC3014 00 0000000000 00 FFF003 05 000000 0000"), SpliceInfoError.Truncated },
        { "component splice", Sealed("FC301C 00 0000000000 00 FFF00B 05 0000000A 7F 8F 0000000000 0000"), SpliceInfoError.ComponentSplice },
        { "descriptor loop longer than the section", Sealed("FC3011 00 0000000000 00 FFF000 00 0005"), SpliceInfoError.LengthMismatch },
        { "descriptor length past its loop", Sealed("FC3017 00 0000000000 00 FFF000 00 0006 0010 43554549"), SpliceInfoError.MalformedDescriptors },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Refuses(string name, byte[] bytes, SpliceInfoError expected)
    {
        Assert.False(SpliceInfoSection.TryRead(bytes, out var section, out _, out var error), name);
        Assert.Null(section);
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Reads_one_section_and_leaves_what_follows()
    {
        byte[] bytes = [.. (byte[])Cases.First()[2]!, 0xFF, 0xFF];
        Assert.True(SpliceInfoSection.TryRead(bytes, out _, out int consumed, out _));
        Assert.Equal(bytes.Length - 2, consumed);
    }

    /// <summary>A section body in hex (section_length matching the bytes given plus the CRC) with its CRC-32 appended.</summary>
    private static byte[] Sealed(string hexWithoutCrc)
    {
        var body = Convert.FromHexString(hexWithoutCrc.Replace(" ", "", StringComparison.Ordinal));
        int length = body.Length - 3 + 4;
        body[1] = (byte)((body[1] & 0xF0) | (length >> 8));
        body[2] = (byte)length;
        uint crc = Crc32Mpeg2.Compute(body);
        return [.. body, (byte)(crc >> 24), (byte)(crc >> 16), (byte)(crc >> 8), (byte)crc];
    }
}
