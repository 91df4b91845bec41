using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.H264;

/// <summary>
/// The parts of an H.264 sequence parameter set (ITU-T H.264 7.3.2.1.1) a packager and a player list need:
/// profile, level, chroma format, coded and displayed size, frame rate from the VUI timing info.
/// </summary>
public sealed record H264Sps
{
    public byte ProfileIdc { get; init; }

    /// <summary>constraint_set0_flag..constraint_set5_flag plus two reserved bits: the byte between profile and level.</summary>
    public byte ConstraintFlags { get; init; }

    public byte LevelIdc { get; init; }

    public uint SeqParameterSetId { get; init; }

    /// <summary>0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (1 when the profile does not signal it).</summary>
    public int ChromaFormatIdc { get; init; } = 1;

    public bool SeparateColourPlane { get; init; }

    public int BitDepthLuma { get; init; } = 8;

    public int BitDepthChroma { get; init; } = 8;

    public int PicOrderCntType { get; init; }

    public bool FrameMbsOnly { get; init; }

    /// <summary>Size in whole macroblocks (e.g. 1920x1088).</summary>
    public int CodedWidth { get; init; }

    public int CodedHeight { get; init; }

    /// <summary>Display size after frame cropping (e.g. 1920x1080).</summary>
    public int Width { get; init; }

    public int Height { get; init; }

    /// <summary>time_scale / (2 * num_units_in_tick) when the VUI has timing info (E.2.1), reduced.</summary>
    /// <remarks>
    /// A clock, not always the frame rate: with fixed_frame_rate_flag 0 (see <see cref="Timing"/>) E.2.1 makes no promise
    /// about the interval between pictures, and x264 then writes its time base here (ffmpeg's <c>-enc_time_base 1:1000</c>
    /// gives 2000 / (2 * 1), "1000 fps", for a 30 fps stream). Manifests check it against the frames' own intervals.
    /// </remarks>
    public FrameRate? FrameRate { get; init; }

    /// <summary>The VUI timing info as written (E.1.1), or null when the SPS has none.</summary>
    public H264VuiTiming? Timing { get; init; }

    /// <summary>RFC 6381 codecs parameter: avc1.PPCCLL in hex (e.g. avc1.64001f).</summary>
    public string CodecString => FormatCodecString(ProfileIdc, ConstraintFlags, LevelIdc);

    public string ProfileName => GetProfileName(ProfileIdc, ConstraintFlags);

    /// <summary>Level as written in Annex A: level_idc / 10, with 1b for level 11 + constraint_set3 in Baseline/Main.</summary>
    public string LevelName => GetLevelName(ProfileIdc, ConstraintFlags, LevelIdc);

    public static string FormatCodecString(byte profileIdc, byte constraintFlags, byte levelIdc) =>
        $"avc1.{profileIdc:x2}{constraintFlags:x2}{levelIdc:x2}";

    /// <summary>Profile names as ffprobe prints them, so the two can be compared.</summary>
    public static string GetProfileName(byte profileIdc, byte constraintFlags)
    {
        bool set1 = (constraintFlags & 0x40) != 0;
        bool set3 = (constraintFlags & 0x10) != 0;
        return profileIdc switch
        {
            66 => set1 ? "Constrained Baseline" : "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 => set3 ? "High 10 Intra" : "High 10",
            122 => set3 ? "High 4:2:2 Intra" : "High 4:2:2",
            244 => set3 ? "High 4:4:4 Intra" : "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4",
            _ => $"Profile {profileIdc}",
        };
    }

    public static string GetLevelName(byte profileIdc, byte constraintFlags, byte levelIdc)
    {
        if (levelIdc == 11 && (constraintFlags & 0x10) != 0 && profileIdc is 66 or 77 or 88) return "1b";
        if (levelIdc == 9) return "1b";
        return levelIdc % 10 == 0 ? (levelIdc / 10).ToString(System.Globalization.CultureInfo.InvariantCulture)
            : $"{levelIdc / 10}.{levelIdc % 10}";
    }

    /// <summary>True for the profiles whose SPS carries chroma_format_idc, bit depths and scaling lists.</summary>
    public static bool HasChromaInfo(int profileIdc) =>
        profileIdc is 100 or 110 or 122 or 244 or 44 or 83 or 86 or 118 or 128 or 138 or 139 or 134 or 135;

    /// <summary>
    /// Parses an SPS NAL unit (starting at its one-byte NAL header, type 7, emulation prevention still in).
    /// Returns false for anything truncated or out of the ranges H.264 allows; never throws on bad input.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> nal, out H264Sps sps)
    {
        sps = null!;
        if (nal.Length < 4 || (nal[0] & 0x1F) != 7 || (nal[0] & 0x80) != 0) return false;
        return NalUnescaper.TryParse(nal[1..], TryParseRbsp, out sps);
    }

    private static bool TryParseRbsp(ReadOnlySpan<byte> rbsp, out H264Sps sps)
    {
        sps = null!;
        var r = new BitReader(rbsp);
        byte profileIdc = (byte)r.ReadBits(8);
        byte constraintFlags = (byte)r.ReadBits(8);
        byte levelIdc = (byte)r.ReadBits(8);
        uint spsId = r.ReadUe();
        if (spsId > 31) return false;

        int chromaFormatIdc = 1;
        bool separateColourPlane = false;
        int bitDepthLuma = 8, bitDepthChroma = 8;
        if (HasChromaInfo(profileIdc))
        {
            chromaFormatIdc = (int)r.ReadUe();
            if (chromaFormatIdc > 3) return false;
            if (chromaFormatIdc == 3) separateColourPlane = r.ReadFlag();
            uint lumaMinus8 = r.ReadUe();
            uint chromaMinus8 = r.ReadUe();
            if (lumaMinus8 > 6 || chromaMinus8 > 6) return false;
            bitDepthLuma = 8 + (int)lumaMinus8;
            bitDepthChroma = 8 + (int)chromaMinus8;
            r.ReadFlag(); // qpprime_y_zero_transform_bypass_flag
            if (r.ReadFlag()) // seq_scaling_matrix_present_flag
            {
                int lists = chromaFormatIdc != 3 ? 8 : 12;
                for (int i = 0; i < lists; i++)
                {
                    if (r.ReadFlag()) SkipScalingList(ref r, i < 6 ? 16 : 64);
                    if (r.Overrun) return false;
                }
            }
        }

        uint log2MaxFrameNumMinus4 = r.ReadUe();
        if (log2MaxFrameNumMinus4 > 12) return false;
        uint pocType = r.ReadUe();
        if (pocType == 0)
        {
            if (r.ReadUe() > 12) return false; // log2_max_pic_order_cnt_lsb_minus4
        }
        else if (pocType == 1)
        {
            r.ReadFlag(); // delta_pic_order_always_zero_flag
            r.ReadSe(); // offset_for_non_ref_pic
            r.ReadSe(); // offset_for_top_to_bottom_field
            uint cycle = r.ReadUe();
            if (cycle > 255) return false;
            for (int i = 0; i < cycle && !r.Overrun; i++) r.ReadSe(); // offset_for_ref_frame[i]
        }
        else if (pocType != 2) return false;

        r.ReadUe(); // max_num_ref_frames
        r.ReadFlag(); // gaps_in_frame_num_value_allowed_flag
        uint widthInMbsMinus1 = r.ReadUe();
        uint heightInMapUnitsMinus1 = r.ReadUe();
        bool frameMbsOnly = r.ReadFlag();
        if (!frameMbsOnly) r.ReadFlag(); // mb_adaptive_frame_field_flag
        r.ReadFlag(); // direct_8x8_inference_flag
        // 16384 pixels is far above level 6.2's limits; anything bigger is garbage, and it keeps the math in int.
        if (widthInMbsMinus1 >= 1024 || heightInMapUnitsMinus1 >= 1024) return false;
        int codedWidth = (int)(widthInMbsMinus1 + 1) * 16;
        int codedHeight = (2 - (frameMbsOnly ? 1 : 0)) * (int)(heightInMapUnitsMinus1 + 1) * 16;

        int width = codedWidth, height = codedHeight;
        if (r.ReadFlag()) // frame_cropping_flag
        {
            uint left = r.ReadUe(), right = r.ReadUe(), top = r.ReadUe(), bottom = r.ReadUe();
            // Crop units (7.4.2.1.1): chroma sample units, and field pairs when the picture can be interlaced.
            int chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
            int subWidthC = chromaArrayType is 1 or 2 ? 2 : 1;
            int subHeightC = chromaArrayType == 1 ? 2 : 1;
            int cropUnitX = chromaArrayType == 0 ? 1 : subWidthC;
            int cropUnitY = (chromaArrayType == 0 ? 1 : subHeightC) * (2 - (frameMbsOnly ? 1 : 0));
            long cropX = ((long)left + right) * cropUnitX;
            long cropY = ((long)top + bottom) * cropUnitY;
            if (cropX >= codedWidth || cropY >= codedHeight) return false;
            width = codedWidth - (int)cropX;
            height = codedHeight - (int)cropY;
        }

        H264VuiTiming? timing = null;
        if (r.ReadFlag()) timing = ReadVuiTiming(ref r); // vui_parameters_present_flag
        if (r.Overrun) return false;

        sps = new H264Sps
        {
            ProfileIdc = profileIdc,
            ConstraintFlags = constraintFlags,
            LevelIdc = levelIdc,
            SeqParameterSetId = spsId,
            ChromaFormatIdc = chromaFormatIdc,
            SeparateColourPlane = separateColourPlane,
            BitDepthLuma = bitDepthLuma,
            BitDepthChroma = bitDepthChroma,
            PicOrderCntType = (int)pocType,
            FrameMbsOnly = frameMbsOnly,
            CodedWidth = codedWidth,
            CodedHeight = codedHeight,
            Width = width,
            Height = height,
            FrameRate = timing?.FrameRate,
            Timing = timing,
        };
        return true;
    }

    /// <summary>scaling_list() (7.3.2.1.1.1): only walked over, the values do not matter to us.</summary>
    private static void SkipScalingList(ref BitReader r, int size)
    {
        int lastScale = 8, nextScale = 8;
        for (int j = 0; j < size && !r.Overrun; j++)
        {
            if (nextScale != 0)
            {
                int delta = r.ReadSe();
                nextScale = (lastScale + delta + 256) % 256;
            }
            lastScale = nextScale == 0 ? lastScale : nextScale;
        }
    }

    /// <summary>vui_parameters() (E.1.1) up to and including timing info (fixed_frame_rate_flag is its last bit).</summary>
    private static H264VuiTiming? ReadVuiTiming(ref BitReader r)
    {
        if (r.ReadFlag()) // aspect_ratio_info_present_flag
        {
            if (r.ReadBits(8) == 255) r.SkipBits(32); // Extended_SAR: sar_width, sar_height
        }
        if (r.ReadFlag()) r.ReadFlag(); // overscan_info_present_flag, overscan_appropriate_flag
        if (r.ReadFlag()) // video_signal_type_present_flag
        {
            r.SkipBits(4); // video_format, video_full_range_flag
            if (r.ReadFlag()) r.SkipBits(24); // colour_primaries, transfer_characteristics, matrix_coefficients
        }
        if (r.ReadFlag()) // chroma_loc_info_present_flag
        {
            r.ReadUe();
            r.ReadUe();
        }
        if (!r.ReadFlag()) return null; // timing_info_present_flag
        uint numUnitsInTick = r.ReadBits(32);
        uint timeScale = r.ReadBits(32);
        bool fixedFrameRate = r.ReadFlag();
        // E.2.1: both shall be greater than 0; a zero is a broken VUI, read as no timing info rather than a broken SPS.
        if (r.Overrun || numUnitsInTick == 0 || timeScale == 0) return null;
        // One frame is two field ticks (E.2.1, equation E-30 with frame pictures).
        var rate = Reduce(timeScale, 2UL * numUnitsInTick);
        return rate is null ? null : new H264VuiTiming(numUnitsInTick, timeScale, fixedFrameRate, rate.Value);
    }

    internal static FrameRate? Reduce(ulong numerator, ulong denominator)
    {
        ulong a = numerator, b = denominator;
        while (b != 0) (a, b) = (b, a % b);
        numerator /= a;
        denominator /= a;
        if (numerator > int.MaxValue || denominator > int.MaxValue) return null;
        return new FrameRate((int)numerator, (int)denominator);
    }
}

/// <summary>
/// H.264 VUI timing info (E.1.1, E.2.1): <see cref="FrameRate"/> is time_scale / (2 * num_units_in_tick), one frame
/// being two field ticks. Only with <see cref="FixedFrameRate"/> (fixed_frame_rate_flag) does the standard constrain the
/// interval between output pictures to it; otherwise it is the encoder's clock, which may be its time base.
/// </summary>
public sealed record H264VuiTiming(uint NumUnitsInTick, uint TimeScale, bool FixedFrameRate, FrameRate FrameRate);
