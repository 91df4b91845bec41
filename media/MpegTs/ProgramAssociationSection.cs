using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>One program of the PAT: its number and the PID of its program map (program 0 names the network PID).</summary>
public readonly record struct PatProgram(ushort ProgramNumber, ushort Pid);

/// <summary>
/// program_association_section (ISO/IEC 13818-1 2.4.4.3), carried on PID 0.
/// <code>
/// table_id(8)=0x00 section_syntax_indicator(1)=1 '0' reserved(2) section_length(12)
/// transport_stream_id(16) reserved(2) version_number(5) current_next_indicator(1) section_number(8) last_section_number(8)
/// { program_number(16) reserved(3) PID(13) }…   CRC_32(32)
/// </code>
/// </summary>
public sealed record ProgramAssociationSection(ushort TransportStreamId, byte Version, IReadOnlyList<PatProgram> Programs)
{
    public const byte TableId = 0x00;

    /// <summary>The first program's map PID (program_number 0 is the network information, not a program).</summary>
    public ushort? FirstProgramMapPid
    {
        get
        {
            foreach (var program in Programs)
                if (program.ProgramNumber != 0) return program.Pid;
            return null;
        }
    }

    public static bool TryRead(ReadOnlySpan<byte> section, out ProgramAssociationSection pat, out int consumed)
    {
        pat = null!;
        if (!PsiSection.TryFrame(section, TableId, out var body, out consumed)) return false;
        // body: after the 8-byte long header, before the CRC
        if (body.Length % 4 != 0) return false;
        var programs = new PatProgram[body.Length / 4];
        for (int i = 0; i < programs.Length; i++)
        {
            var entry = body.Slice(i * 4, 4);
            programs[i] = new PatProgram(BinaryPrimitives.ReadUInt16BigEndian(entry),
                (ushort)(BinaryPrimitives.ReadUInt16BigEndian(entry[2..]) & 0x1FFF));
        }
        pat = new ProgramAssociationSection(BinaryPrimitives.ReadUInt16BigEndian(section[3..]), (byte)((section[5] >> 1) & 0x1F), programs);
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var body = new ArrayBufferWriter<byte>(Programs.Count * 4);
        foreach (var program in Programs)
        {
            body.WriteUInt16BigEndian(program.ProgramNumber);
            body.WriteUInt16BigEndian((ushort)(0xE000 | program.Pid));
        }
        PsiSection.Write(writer, TableId, TransportStreamId, Version, body.WrittenSpan);
    }
}

/// <summary>The long-form PSI section frame shared by the PAT and PMT (2.4.4.3, 2.4.4.8): header, body, CRC_32.</summary>
internal static class PsiSection
{
    /// <summary>Longest section_length of a PAT or PMT (2.4.4.3: the first two bits of the 12 are '00').</summary>
    public const int MaxSectionLength = 1021;

    /// <summary>
    /// Checks table id, syntax indicator, length, current_next_indicator, section numbers (single-section tables)
    /// and the CRC; <paramref name="body"/> is what lies between the 8-byte header and the CRC.
    /// </summary>
    public static bool TryFrame(ReadOnlySpan<byte> section, byte tableId, out ReadOnlySpan<byte> body, out int consumed)
    {
        body = default;
        consumed = 0;
        if (section.Length < 3 || section[0] != tableId || (section[1] & 0x80) == 0) return false;
        int length = ((section[1] & 0x0F) << 8) | section[2];
        if (length < 9 || length > MaxSectionLength || section.Length < 3 + length) return false;
        var whole = section[..(3 + length)];
        if ((whole[5] & 0x01) == 0) return false; // current_next_indicator 0: a table not yet applicable
        if (whole[6] != 0 || whole[7] != 0) return false; // PAT/PMT of a live encoder fit one section
        if (Crc32Mpeg2.Compute(whole) != 0) return false;
        body = whole[8..^4];
        consumed = whole.Length;
        return true;
    }

    public static void Write(IBufferWriter<byte> writer, byte tableId, ushort extension, byte version, ReadOnlySpan<byte> body)
    {
        int length = 5 + body.Length + 4;
        var section = new byte[3 + length];
        section[0] = tableId;
        section[1] = (byte)(0xB0 | (length >> 8));
        section[2] = (byte)length;
        BinaryPrimitives.WriteUInt16BigEndian(section.AsSpan(3), extension);
        section[5] = (byte)(0xC1 | ((version & 0x1F) << 1));
        section[6] = 0;
        section[7] = 0;
        body.CopyTo(section.AsSpan(8));
        BinaryPrimitives.WriteUInt32BigEndian(section.AsSpan(section.Length - 4), Crc32Mpeg2.Compute(section.AsSpan(0, section.Length - 4)));
        writer.Write(section);
    }
}
