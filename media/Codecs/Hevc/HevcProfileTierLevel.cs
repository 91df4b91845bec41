using System.Text;

namespace Broadcast.Media.Codecs.Hevc;

/// <summary>
/// The general part of HEVC profile_tier_level() (H.265 7.3.3), shared by the SPS and hvcC, and the
/// RFC 6381 codec string built from it (ISO/IEC 14496-15 Annex E.3).
/// </summary>
public readonly record struct HevcProfileTierLevel(
    int ProfileSpace,
    bool TierFlag,
    int ProfileIdc,
    uint ProfileCompatibilityFlags,
    ulong ConstraintIndicatorFlags,
    int LevelIdc)
{
    /// <summary>
    /// hvc1.{A|B|C}{profile_idc}.{compatibility flags, bit-reversed, hex}.{L|H}{level_idc}.{constraint bytes}:
    /// the 32 compatibility flags are written in reverse bit order without leading zeros, the six constraint
    /// bytes as hex with trailing zero bytes left out (e.g. hvc1.1.6.L93.B0).
    /// </summary>
    public string CodecString(string sampleEntry = "hvc1")
    {
        var sb = new StringBuilder(sampleEntry, 40).Append('.');
        if (ProfileSpace > 0) sb.Append((char)('A' + ProfileSpace - 1));
        sb.Append(ProfileIdc).Append('.');
        uint reversed = 0;
        for (int i = 0; i < 32; i++)
            if ((ProfileCompatibilityFlags & (1u << i)) != 0) reversed |= 1u << (31 - i);
        sb.Append(reversed.ToString("X", System.Globalization.CultureInfo.InvariantCulture)).Append('.');
        sb.Append(TierFlag ? 'H' : 'L').Append(LevelIdc);
        int lastNonZero = -1;
        for (int i = 0; i < 6; i++)
            if (ConstraintByte(i) != 0) lastNonZero = i;
        for (int i = 0; i <= lastNonZero; i++)
            sb.Append('.').Append(ConstraintByte(i).ToString("X", System.Globalization.CultureInfo.InvariantCulture));
        return sb.ToString();
    }

    private byte ConstraintByte(int index) => (byte)(ConstraintIndicatorFlags >> (40 - (8 * index)));

    /// <summary>Profile names as ffprobe prints them.</summary>
    public string ProfileName => ProfileIdc switch
    {
        1 => "Main",
        2 => "Main 10",
        3 => "Main Still Picture",
        4 => "Rext",
        _ => $"Profile {ProfileIdc}",
    };

    /// <summary>general_level_idc is 30 times the level number (A.4).</summary>
    public string LevelName => LevelIdc % 30 == 0
        ? (LevelIdc / 30).ToString(System.Globalization.CultureInfo.InvariantCulture)
        : $"{LevelIdc / 30}.{LevelIdc % 30 / 3}";
}
