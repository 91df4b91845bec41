using Broadcast.Media.MpegTs;

namespace Broadcast.Media.Tests.MpegTs;

/// <summary>
/// PSI section assembly (ISO/IEC 13818-1 2.4.4): packet payloads in, whole sections out. Each case: the payloads of one
/// PID's packets ("S:" marks payload_unit_start_indicator, so the payload starts with a pointer_field) and the sections
/// handed on, in order. The demuxer tests and the MPEG-TS fuzzer drive the same type through real packets.
/// </summary>
public class PsiSectionAssemblerTests
{
    public static TheoryData<string, string[], string[]> Cases => new()
    {
        { "one section in one packet", ["S:00 00B005AABBCCDDEE"], ["00B005AABBCCDDEE"] },
        { "a section across two packets", ["S:00 00B005AABB", "CCDDEE"], ["00B005AABBCCDDEE"] },
        { "pointer_field: the bytes before it end the previous section", ["S:00 00B005AABB", "S:03 CCDDEE 02B00111"], ["00B005AABBCCDDEE", "02B00111"] },
        { "pointer_field skipping a section's tail whose start was never seen", ["S:02 AABB 00B00122"], ["00B00122"] },
        { "the same section repeated is handed on once", ["S:00 00B00111", "S:00 00B00111"], ["00B00111"] },
        { "a changed section is handed on again", ["S:00 00B00111", "S:00 00B00122", "S:00 00B00111"], ["00B00111", "00B00122", "00B00111"] },
        { "stuffing (0xFF) where a section would start", ["S:00 FFFFFF"], [] },
        { "a continuation before any start is ignored", ["00B00111"], [] },
        { "an empty payload", ["S:"], [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Hands_on_whole_sections(string name, string[] payloads, string[] expected)
    {
        var sections = new List<string>();
        var assembler = new PsiSectionAssembler(Collect(sections));
        foreach (var payload in payloads)
        {
            var (header, bytes) = Packet(payload);
            Assert.True(assembler.TryRead(header, bytes, out var error), $"{name}: {error}");
        }
        Assert.Equal(expected, sections);
    }

    [Theory]
    [InlineData("pointer_field past the packet", "S:05 0000", "PSI pointer_field 5 runs past the packet on PID 256")]
    [InlineData("pointer_field of the whole payload", "S:01", "PSI pointer_field 1 runs past the packet on PID 256")]
    [InlineData("section_length above what the PID allows", "S:00 00B3FD00", "PSI section on PID 256 longer than 13 bytes")]
    public void Refuses_malformed_sections(string name, string payload, string reason)
    {
        var sections = new List<string>();
        var assembler = new PsiSectionAssembler(Collect(sections), capacity: 16);
        var (header, bytes) = Packet(payload);
        Assert.False(assembler.TryRead(header, bytes, out var error), name);
        Assert.Equal(reason, error);
        Assert.Empty(sections);
    }

    [Fact]
    public void The_handlers_refusal_is_the_error()
    {
        var assembler = new PsiSectionAssembler((ReadOnlySpan<byte> _, out string? error) =>
        {
            error = "malformed program association table (syntax or CRC_32)";
            return false;
        });
        var (header, bytes) = Packet("S:00 00B00111");
        Assert.False(assembler.TryRead(header, bytes, out var reason));
        Assert.Equal("malformed program association table (syntax or CRC_32)", reason);
    }

    [Fact]
    public void Forget_hands_the_same_section_on_again_and_drops_a_partial_one()
    {
        var sections = new List<string>();
        var assembler = new PsiSectionAssembler(Collect(sections));
        Read(assembler, "S:00 00B00111");
        Read(assembler, "S:00 00B005AABB");
        assembler.Forget();
        Read(assembler, "CCDDEE"); // the rest of the section being gathered: dropped with it
        Read(assembler, "S:00 00B00111");
        Assert.Equal(new[] { "00B00111", "00B00111" }, sections);
    }

    private static void Read(PsiSectionAssembler assembler, string payload)
    {
        var (header, bytes) = Packet(payload);
        Assert.True(assembler.TryRead(header, bytes, out var error), error);
    }

    private static PsiSectionHandler Collect(List<string> sections) => (ReadOnlySpan<byte> section, out string? error) =>
    {
        error = null;
        sections.Add(Convert.ToHexString(section));
        return true;
    };

    private static (TsPacketHeader Header, byte[] Payload) Packet(string payload)
    {
        bool start = payload.StartsWith("S:", StringComparison.Ordinal);
        var bytes = Convert.FromHexString((start ? payload[2..] : payload).Replace(" ", ""));
        return (new TsPacketHeader(false, start, 0x100, 0, false, true, 0, 0), bytes);
    }
}
