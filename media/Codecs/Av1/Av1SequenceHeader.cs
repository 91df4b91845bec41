using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Av1;

/// <summary>
/// The leading fields of an AV1 sequence header OBU (AV1 spec 5.5.1): profile, level and tier of operating
/// point 0, and the maximum frame size. Enough for a track description; the rest of the header is not read.
/// </summary>
public sealed record Av1SequenceHeader
{
    public const int ObuTypeSequenceHeader = 1;

    public int SeqProfile { get; init; }

    public bool StillPicture { get; init; }

    public bool ReducedStillPictureHeader { get; init; }

    public int SeqLevelIdx0 { get; init; }

    public bool SeqTier0 { get; init; }

    public int MaxFrameWidth { get; init; }

    public int MaxFrameHeight { get; init; }

    /// <summary>time_scale / num_units_in_display_tick per picture when timing_info says the interval is equal.</summary>
    public FrameRate? FrameRate { get; init; }

    /// <summary>
    /// Finds the first sequence header OBU in a run of low-overhead-format OBUs (5.3, each with obu_has_size_field,
    /// as av1C configOBUs and Enhanced RTMP carry them) and parses it.
    /// </summary>
    public static bool TryFind(ReadOnlySpan<byte> obus, out Av1SequenceHeader header)
    {
        header = null!;
        while (obus.Length > 0)
        {
            if (!TryReadObuHeader(obus, out int type, out int headerLength, out int payloadLength)) return false;
            var payload = obus.Slice(headerLength, payloadLength);
            if (type == ObuTypeSequenceHeader) return TryParse(payload, out header);
            obus = obus[(headerLength + payloadLength)..];
        }
        return false;
    }

    /// <summary>obu_header() (5.3.2) plus leb128 obu_size; without a size field the OBU runs to the end.</summary>
    public static bool TryReadObuHeader(ReadOnlySpan<byte> data, out int obuType, out int headerLength, out int payloadLength)
    {
        obuType = 0;
        headerLength = 0;
        payloadLength = 0;
        if (data.Length < 1 || (data[0] & 0x80) != 0) return false; // obu_forbidden_bit
        obuType = (data[0] >> 3) & 0x0F;
        bool extension = (data[0] & 0x04) != 0;
        bool hasSize = (data[0] & 0x02) != 0;
        int pos = extension ? 2 : 1;
        if (data.Length < pos) return false;
        if (hasSize)
        {
            ulong size = 0;
            int i = 0;
            for (; i < 8; i++)
            {
                if (pos >= data.Length) return false;
                byte b = data[pos++];
                size |= (ulong)(b & 0x7F) << (7 * i);
                if ((b & 0x80) == 0) break;
            }
            if (i == 8) return false;
            if (size > (ulong)(data.Length - pos)) return false;
            payloadLength = (int)size;
        }
        else payloadLength = data.Length - pos;
        headerLength = pos;
        return true;
    }

    /// <summary>Parses sequence_header_obu() (5.5.1) from its payload.</summary>
    public static bool TryParse(ReadOnlySpan<byte> payload, out Av1SequenceHeader header)
    {
        header = null!;
        var r = new BitReader(payload);
        int profile = (int)r.ReadBits(3);
        if (profile > 2) return false;
        bool still = r.ReadFlag();
        bool reduced = r.ReadFlag();
        int level0;
        bool tier0 = false;
        FrameRate? frameRate = null;
        if (reduced)
        {
            level0 = (int)r.ReadBits(5);
        }
        else
        {
            bool decoderModelInfoPresent = false;
            int bufferDelayLength = 0;
            if (r.ReadFlag()) // timing_info_present_flag
            {
                uint numUnitsInDisplayTick = r.ReadBits(32);
                uint timeScale = r.ReadBits(32);
                if (r.ReadFlag()) // equal_picture_interval
                {
                    uint ticksPerPictureMinus1 = r.ReadUvlc();
                    if (numUnitsInDisplayTick != 0 && timeScale != 0)
                        frameRate = H264.H264Sps.Reduce(timeScale, (ulong)numUnitsInDisplayTick * (ticksPerPictureMinus1 + 1UL));
                }
                decoderModelInfoPresent = r.ReadFlag();
                if (decoderModelInfoPresent)
                {
                    bufferDelayLength = (int)r.ReadBits(5) + 1;
                    r.SkipBits(32 + 5 + 5); // num_units_in_decoding_tick, buffer_removal_time_length_minus_1, frame_presentation_time_length_minus_1
                }
            }
            bool initialDisplayDelayPresent = r.ReadFlag();
            int operatingPoints = (int)r.ReadBits(5) + 1;
            level0 = 0;
            for (int i = 0; i < operatingPoints; i++)
            {
                r.SkipBits(12); // operating_point_idc
                int level = (int)r.ReadBits(5);
                bool tier = level > 7 && r.ReadFlag();
                if (i == 0)
                {
                    level0 = level;
                    tier0 = tier;
                }
                if (decoderModelInfoPresent && r.ReadFlag()) // decoder_model_present_for_this_op
                    r.SkipBits((2L * bufferDelayLength) + 1); // decoder/encoder_buffer_delay, low_delay_mode_flag
                if (initialDisplayDelayPresent && r.ReadFlag()) r.SkipBits(4);
                if (r.Overrun) return false;
            }
        }
        int widthBits = (int)r.ReadBits(4) + 1;
        int heightBits = (int)r.ReadBits(4) + 1;
        uint maxWidth = r.ReadBits(widthBits) + 1;
        uint maxHeight = r.ReadBits(heightBits) + 1;
        if (r.Overrun) return false;
        header = new Av1SequenceHeader
        {
            SeqProfile = profile,
            StillPicture = still,
            ReducedStillPictureHeader = reduced,
            SeqLevelIdx0 = level0,
            SeqTier0 = tier0,
            MaxFrameWidth = (int)maxWidth,
            MaxFrameHeight = (int)maxHeight,
            FrameRate = frameRate,
        };
        return true;
    }

    /// <summary>seq_level_idx maps to level X.Y with X = 2 + (idx >> 2), Y = idx &amp; 3 (Annex A.3).</summary>
    public static string LevelName(int seqLevelIdx) => seqLevelIdx == 31 ? "max" : $"{2 + (seqLevelIdx >> 2)}.{seqLevelIdx & 3}";

    public static string ProfileName(int seqProfile) => seqProfile switch
    {
        0 => "Main",
        1 => "High",
        2 => "Professional",
        _ => $"Profile {seqProfile}",
    };
}
