using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Scte35;

/// <summary>splice_command_type values (SCTE 35 §9.6, table 7).</summary>
public enum SpliceCommandType : byte
{
    SpliceNull = 0x00,
    SpliceSchedule = 0x04,
    SpliceInsert = 0x05,
    TimeSignal = 0x06,
    BandwidthReservation = 0x07,
    PrivateCommand = 0xFF,
}

/// <summary>Why bytes are not a splice_info_section this reader accepts.</summary>
public enum SpliceInfoError
{
    None,
    Truncated,
    NotSpliceInfo,
    SectionSyntax,
    LengthMismatch,
    UnsupportedProtocolVersion,
    Encrypted,
    CrcMismatch,
    CommandLengthMismatch,
    ComponentSplice,
    MalformedDescriptors,
}

/// <summary>
/// splice_info_section() (SCTE 35 §9.6): the unit an encoder sends for an ad break, in MPEG-TS on the SCTE-35 PID, base64
/// in an RTMP onCuePoint, hex in an HLS EXT-X-DATERANGE SCTE35-OUT/IN attribute (RFC 8216 §4.4.5.1.4), base64 in a
/// DASH <c>scte35:Binary</c> element (SCTE 214-1).
/// <code>
/// table_id 0xFC | section_syntax_indicator 0 | private_indicator 0 | sap_type 2 | section_length 12
/// protocol_version 8 (0) | encrypted_packet 1 | encryption_algorithm 6 | pts_adjustment 33 | cw_index 8 | tier 12
/// splice_command_length 12 | splice_command_type 8 | splice_command() | descriptor_loop_length 16 | descriptors
/// CRC_32 (CRC-32/MPEG-2 over the whole section)
/// </code>
/// splice_null, splice_insert (program splices) and time_signal are decoded; other commands and the descriptor loop are
/// kept as bytes, so a section read and written again is the same section. Encrypted sections are refused: nothing here
/// holds their keys.
/// </summary>
public sealed record SpliceInfoSection
{
    public const byte TableId = 0xFC;

    /// <summary>section_length is 12 bits and at most 4093 (§9.6), so a section is at most 4096 bytes.</summary>
    public const int MaxLength = 4096;

    /// <summary>PTS values are 33 bits.</summary>
    public const long PtsMask = (1L << 33) - 1;

    /// <summary>sap_type (§9.6.1): 3 means "not specified", also what pre-2019 encoders sent in those reserved bits.</summary>
    public byte SapType { get; init; } = 3;

    public long PtsAdjustment { get; init; }

    public byte CwIndex { get; init; }

    /// <summary>Authorization tier; 0xFFF means "any" (§9.6).</summary>
    public ushort Tier { get; init; } = 0xFFF;

    public SpliceCommandType CommandType { get; init; }

    /// <summary>The command when <see cref="CommandType"/> is splice_insert.</summary>
    public SpliceInsert? Insert { get; init; }

    /// <summary>time_signal() splice_time pts_time; null when time_specified_flag is 0 or the command is another one.</summary>
    public long? TimeSignalPts { get; init; }

    /// <summary>The command's bytes for the types not decoded here (splice_schedule, bandwidth_reservation, private).</summary>
    public ReadOnlyMemory<byte> OtherCommand { get; init; }

    /// <summary>The descriptor loop as sent (each descriptor: tag, length, identifier, body).</summary>
    public ReadOnlyMemory<byte> Descriptors { get; init; }

    public static bool TryRead(ReadOnlySpan<byte> data, out SpliceInfoSection? section, out int consumed, out SpliceInfoError error)
    {
        section = null;
        consumed = 0;
        if (data.Length < 3) return Fail(SpliceInfoError.Truncated, out error);
        if (data[0] != TableId) return Fail(SpliceInfoError.NotSpliceInfo, out error);
        // section_syntax_indicator and private_indicator are both 0 in every splice_info_section.
        if ((data[1] & 0xC0) != 0) return Fail(SpliceInfoError.SectionSyntax, out error);
        byte sapType = (byte)((data[1] >> 4) & 0x03);
        int sectionLength = ((data[1] & 0x0F) << 8) | data[2];
        // 11 fixed bytes after section_length, the descriptor loop length and the CRC at least.
        if (sectionLength > MaxLength - 3 || sectionLength < 11 + 2 + 4) return Fail(SpliceInfoError.LengthMismatch, out error);
        if (data.Length < 3 + sectionLength) return Fail(SpliceInfoError.Truncated, out error);
        var whole = data[..(3 + sectionLength)];
        if (Crc32Mpeg2.Compute(whole) != 0) return Fail(SpliceInfoError.CrcMismatch, out error);

        var body = whole[3..^4];
        if (body[0] != 0) return Fail(SpliceInfoError.UnsupportedProtocolVersion, out error);
        if ((body[1] & 0x80) != 0) return Fail(SpliceInfoError.Encrypted, out error);
        long ptsAdjustment = ((long)(body[1] & 0x01) << 32) | BinaryPrimitives.ReadUInt32BigEndian(body[2..]);
        byte cwIndex = body[6];
        int tierAndLength = (body[7] << 16) | (body[8] << 8) | body[9];
        ushort tier = (ushort)(tierAndLength >> 12);
        int commandLength = tierAndLength & 0xFFF;
        var type = (SpliceCommandType)body[10];
        var rest = body[11..];

        SpliceInsert? insert = null;
        long? timeSignal = null;
        ReadOnlyMemory<byte> other = default;
        int parsed;
        switch (type)
        {
            case SpliceCommandType.SpliceNull:
                parsed = 0;
                break;
            case SpliceCommandType.SpliceInsert:
                if (!TryReadInsert(rest, out insert, out parsed, out error)) return false;
                break;
            case SpliceCommandType.TimeSignal:
                if (!TryReadSpliceTime(rest, out timeSignal, out parsed)) return Fail(SpliceInfoError.Truncated, out error);
                break;
            default:
                // 0xFFF is the legacy "length not given"; only a command this reader can walk may use it.
                if (commandLength == 0xFFF || commandLength > rest.Length) return Fail(SpliceInfoError.CommandLengthMismatch, out error);
                parsed = commandLength;
                other = rest[..commandLength].ToArray();
                break;
        }
        if (commandLength != 0xFFF && commandLength != parsed) return Fail(SpliceInfoError.CommandLengthMismatch, out error);
        rest = rest[parsed..];
        if (rest.Length < 2) return Fail(SpliceInfoError.LengthMismatch, out error);
        int descriptorLength = BinaryPrimitives.ReadUInt16BigEndian(rest);
        rest = rest[2..];
        // Unencrypted: nothing follows the descriptor loop but the CRC (no alignment stuffing, no E_CRC_32).
        if (descriptorLength != rest.Length) return Fail(SpliceInfoError.LengthMismatch, out error);
        if (!DescriptorsWellFormed(rest)) return Fail(SpliceInfoError.MalformedDescriptors, out error);

        section = new SpliceInfoSection
        {
            SapType = sapType, PtsAdjustment = ptsAdjustment, CwIndex = cwIndex, Tier = tier, CommandType = type,
            Insert = insert, TimeSignalPts = timeSignal, OtherCommand = other, Descriptors = rest.ToArray(),
        };
        consumed = whole.Length;
        error = SpliceInfoError.None;
        return true;
    }

    /// <summary>The section's length on the wire.</summary>
    public int Length => 3 + 11 + CommandLength + 2 + Descriptors.Length + 4;

    /// <summary>Writes the section with its CRC-32. Throws for values that do not fit their fields.</summary>
    public void Write(IBufferWriter<byte> writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        int length = Length;
        if (length > MaxLength) throw new InvalidOperationException($"A splice_info_section is at most {MaxLength} bytes; this one needs {length}.");
        if (Tier > 0xFFF) throw new InvalidOperationException("tier is 12 bits.");
        if (CommandType is SpliceCommandType.SpliceInsert != Insert is not null)
            throw new InvalidOperationException("Insert is given exactly when the command is splice_insert.");
        var span = writer.GetSpan(length)[..length];
        span.Clear(); // BitWriter sets bits into the span
        var bits = new BitWriter(span);
        bits.WriteBits(TableId, 8);
        bits.WriteBits(0, 1); // section_syntax_indicator
        bits.WriteBits(0, 1); // private_indicator
        bits.WriteBits(SapType, 2);
        bits.WriteBits((ulong)(length - 3), 12);
        bits.WriteBits(0, 8); // protocol_version
        bits.WriteBits(0, 1); // encrypted_packet
        bits.WriteBits(0, 6); // encryption_algorithm
        bits.WriteBits((ulong)(PtsAdjustment & PtsMask), 33);
        bits.WriteBits(CwIndex, 8);
        bits.WriteBits(Tier, 12);
        bits.WriteBits((ulong)CommandLength, 12);
        bits.WriteBits((byte)CommandType, 8);
        switch (CommandType)
        {
            case SpliceCommandType.SpliceNull:
                break;
            case SpliceCommandType.SpliceInsert:
                WriteInsert(ref bits, Insert!);
                break;
            case SpliceCommandType.TimeSignal:
                WriteSpliceTime(ref bits, TimeSignalPts);
                break;
            default:
                foreach (byte b in OtherCommand.Span) bits.WriteBits(b, 8);
                break;
        }
        bits.WriteBits((ulong)Descriptors.Length, 16);
        foreach (byte b in Descriptors.Span) bits.WriteBits(b, 8);
        BinaryPrimitives.WriteUInt32BigEndian(span[^4..], Crc32Mpeg2.Compute(span[..^4]));
        writer.Advance(length);
    }

    /// <summary>The section's bytes (for manifests: hex in HLS, base64 in DASH and RTMP).</summary>
    public byte[] ToArray()
    {
        var buffer = new ArrayBufferWriter<byte>(Length);
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    private int CommandLength => CommandType switch
    {
        SpliceCommandType.SpliceNull => 0,
        SpliceCommandType.SpliceInsert => InsertLength(Insert!),
        SpliceCommandType.TimeSignal => TimeSignalPts is null ? 1 : 5,
        _ => OtherCommand.Length,
    };

    private static int InsertLength(SpliceInsert insert)
    {
        if (insert.Cancel) return 5;
        int length = 5 + 1;
        if (!insert.Immediate) length += insert.PtsTime is null ? 1 : 5;
        if (insert.BreakDuration is not null) length += 5;
        return length + 4;
    }

    // splice_insert() (§9.7.3), program splices only.
    private static bool TryReadInsert(ReadOnlySpan<byte> data, out SpliceInsert? insert, out int consumed, out SpliceInfoError error)
    {
        insert = null;
        consumed = 0;
        if (data.Length < 5) return Fail(SpliceInfoError.Truncated, out error);
        uint eventId = BinaryPrimitives.ReadUInt32BigEndian(data);
        if ((data[4] & 0x80) != 0)
        {
            insert = new SpliceInsert { EventId = eventId, Cancel = true };
            consumed = 5;
            error = SpliceInfoError.None;
            return true;
        }
        if (data.Length < 6) return Fail(SpliceInfoError.Truncated, out error);
        byte flags = data[5];
        bool outOfNetwork = (flags & 0x80) != 0, program = (flags & 0x40) != 0, duration = (flags & 0x20) != 0, immediate = (flags & 0x10) != 0;
        if (!program) return Fail(SpliceInfoError.ComponentSplice, out error);
        int at = 6;
        long? pts = null;
        if (!immediate)
        {
            if (!TryReadSpliceTime(data[at..], out pts, out int n)) return Fail(SpliceInfoError.Truncated, out error);
            at += n;
        }
        long? breakDuration = null;
        bool autoReturn = false;
        if (duration)
        {
            if (data.Length < at + 5) return Fail(SpliceInfoError.Truncated, out error);
            autoReturn = (data[at] & 0x80) != 0;
            breakDuration = ((long)(data[at] & 0x01) << 32) | BinaryPrimitives.ReadUInt32BigEndian(data[(at + 1)..]);
            at += 5;
        }
        if (data.Length < at + 4) return Fail(SpliceInfoError.Truncated, out error);
        insert = new SpliceInsert
        {
            EventId = eventId, OutOfNetwork = outOfNetwork, Immediate = immediate, PtsTime = pts, BreakDuration = breakDuration,
            AutoReturn = autoReturn, UniqueProgramId = BinaryPrimitives.ReadUInt16BigEndian(data[at..]), AvailNum = data[at + 2],
            AvailsExpected = data[at + 3],
        };
        consumed = at + 4;
        error = SpliceInfoError.None;
        return true;
    }

    private static void WriteInsert(ref BitWriter bits, SpliceInsert insert)
    {
        bits.WriteBits(insert.EventId, 32);
        bits.WriteFlag(insert.Cancel);
        bits.WriteBits(0x7F, 7); // reserved
        if (insert.Cancel) return;
        bits.WriteFlag(insert.OutOfNetwork);
        bits.WriteFlag(true); // program_splice_flag
        bits.WriteFlag(insert.BreakDuration is not null);
        bits.WriteFlag(insert.Immediate);
        bits.WriteBits(0x0F, 4); // reserved
        if (!insert.Immediate) WriteSpliceTime(ref bits, insert.PtsTime);
        if (insert.BreakDuration is { } duration)
        {
            bits.WriteFlag(insert.AutoReturn);
            bits.WriteBits(0x3F, 6); // reserved
            bits.WriteBits((ulong)(duration & PtsMask), 33);
        }
        bits.WriteBits(insert.UniqueProgramId, 16);
        bits.WriteBits(insert.AvailNum, 8);
        bits.WriteBits(insert.AvailsExpected, 8);
    }

    // splice_time() (§9.8.1): time_specified_flag, then 6 reserved bits and a 33-bit pts_time, or 7 reserved bits.
    private static bool TryReadSpliceTime(ReadOnlySpan<byte> data, out long? pts, out int consumed)
    {
        pts = null;
        consumed = 0;
        if (data.Length < 1) return false;
        if ((data[0] & 0x80) == 0)
        {
            consumed = 1;
            return true;
        }
        if (data.Length < 5) return false;
        pts = ((long)(data[0] & 0x01) << 32) | BinaryPrimitives.ReadUInt32BigEndian(data[1..]);
        consumed = 5;
        return true;
    }

    private static void WriteSpliceTime(ref BitWriter bits, long? pts)
    {
        if (pts is { } value)
        {
            bits.WriteFlag(true);
            bits.WriteBits(0x3F, 6);
            bits.WriteBits((ulong)(value & PtsMask), 33);
        }
        else
        {
            bits.WriteFlag(false);
            bits.WriteBits(0x7F, 7);
        }
    }

    // splice_descriptor() (§10.2): splice_descriptor_tag 8, descriptor_length 8, then identifier (32) and body.
    private static bool DescriptorsWellFormed(ReadOnlySpan<byte> loop)
    {
        while (!loop.IsEmpty)
        {
            if (loop.Length < 2 || loop[1] < 4 || loop.Length < 2 + loop[1]) return false;
            loop = loop[(2 + loop[1])..];
        }
        return true;
    }

    private static bool Fail(SpliceInfoError reason, out SpliceInfoError error)
    {
        error = reason;
        return false;
    }

    public bool Equals(SpliceInfoSection? other) =>
        other is not null && SapType == other.SapType && PtsAdjustment == other.PtsAdjustment && CwIndex == other.CwIndex && Tier == other.Tier
        && CommandType == other.CommandType && Equals(Insert, other.Insert) && TimeSignalPts == other.TimeSignalPts
        && OtherCommand.Span.SequenceEqual(other.OtherCommand.Span) && Descriptors.Span.SequenceEqual(other.Descriptors.Span);

    public override int GetHashCode() => HashCode.Combine(CommandType, Insert, TimeSignalPts, PtsAdjustment, Descriptors.Length);
}
