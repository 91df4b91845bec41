using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Hevc;

/// <summary>
/// The leading part of an HEVC sequence parameter set (H.265 7.3.2.2.1): profile_tier_level, chroma format,
/// picture size and the conformance window that crops it to the display size (1080p is coded 1088 or 1080
/// depending on the minimum coding block, and cropped either way).
/// </summary>
public sealed record HevcSps
{
    public int VideoParameterSetId { get; init; }

    public int MaxSubLayersMinus1 { get; init; }

    public bool TemporalIdNesting { get; init; }

    public HevcProfileTierLevel ProfileTierLevel { get; init; }

    public uint SeqParameterSetId { get; init; }

    public int ChromaFormatIdc { get; init; }

    public bool SeparateColourPlane { get; init; }

    public int CodedWidth { get; init; }

    public int CodedHeight { get; init; }

    public int Width { get; init; }

    public int Height { get; init; }

    public int BitDepthLuma { get; init; }

    public int BitDepthChroma { get; init; }

    /// <summary>Parses an SPS NAL unit starting at its two-byte NAL header (type 33).</summary>
    public static bool TryParse(ReadOnlySpan<byte> nal, out HevcSps sps)
    {
        sps = null!;
        if (nal.Length < 4 || ((nal[0] >> 1) & 0x3F) != 33 || (nal[0] & 0x80) != 0) return false;
        return NalUnescaper.TryParse(nal[2..], TryParseRbsp, out sps);
    }

    private static bool TryParseRbsp(ReadOnlySpan<byte> rbsp, out HevcSps sps)
    {
        sps = null!;
        var r = new BitReader(rbsp);
        int vpsId = (int)r.ReadBits(4);
        int maxSubLayersMinus1 = (int)r.ReadBits(3);
        if (maxSubLayersMinus1 > 6) return false;
        bool nesting = r.ReadFlag();
        if (!TryReadProfileTierLevel(ref r, maxSubLayersMinus1, out var ptl)) return false;
        uint spsId = r.ReadUe();
        if (spsId > 15) return false;
        uint chromaFormatIdc = r.ReadUe();
        if (chromaFormatIdc > 3) return false;
        bool separate = chromaFormatIdc == 3 && r.ReadFlag();
        uint width = r.ReadUe();
        uint height = r.ReadUe();
        if (width == 0 || height == 0 || width > 16888 || height > 16888) return false;
        int displayWidth = (int)width, displayHeight = (int)height;
        if (r.ReadFlag()) // conformance_window_flag
        {
            uint left = r.ReadUe(), right = r.ReadUe(), top = r.ReadUe(), bottom = r.ReadUe();
            // Offsets are in chroma sample units (7.4.3.2.1: SubWidthC * offset).
            int chromaArrayType = separate ? 0 : (int)chromaFormatIdc;
            int subWidthC = chromaArrayType is 1 or 2 ? 2 : 1;
            int subHeightC = chromaArrayType == 1 ? 2 : 1;
            long cropX = ((long)left + right) * subWidthC;
            long cropY = ((long)top + bottom) * subHeightC;
            if (cropX >= width || cropY >= height) return false;
            displayWidth -= (int)cropX;
            displayHeight -= (int)cropY;
        }
        uint lumaMinus8 = r.ReadUe();
        uint chromaMinus8 = r.ReadUe();
        if (lumaMinus8 > 8 || chromaMinus8 > 8 || r.Overrun) return false;
        sps = new HevcSps
        {
            VideoParameterSetId = vpsId,
            MaxSubLayersMinus1 = maxSubLayersMinus1,
            TemporalIdNesting = nesting,
            ProfileTierLevel = ptl,
            SeqParameterSetId = spsId,
            ChromaFormatIdc = (int)chromaFormatIdc,
            SeparateColourPlane = separate,
            CodedWidth = (int)width,
            CodedHeight = (int)height,
            Width = displayWidth,
            Height = displayHeight,
            BitDepthLuma = 8 + (int)lumaMinus8,
            BitDepthChroma = 8 + (int)chromaMinus8,
        };
        return true;
    }

    /// <summary>profile_tier_level(1, maxNumSubLayersMinus1) (7.3.3): the general part is kept, sub-layers skipped.</summary>
    internal static bool TryReadProfileTierLevel(ref BitReader r, int maxSubLayersMinus1, out HevcProfileTierLevel ptl)
    {
        int profileSpace = (int)r.ReadBits(2);
        bool tier = r.ReadFlag();
        int profileIdc = (int)r.ReadBits(5);
        uint compatibility = r.ReadBits(32);
        ulong constraints = r.ReadBits64(48);
        int levelIdc = (int)r.ReadBits(8);
        Span<bool> profilePresent = stackalloc bool[8];
        Span<bool> levelPresent = stackalloc bool[8];
        for (int i = 0; i < maxSubLayersMinus1; i++)
        {
            profilePresent[i] = r.ReadFlag();
            levelPresent[i] = r.ReadFlag();
        }
        if (maxSubLayersMinus1 > 0)
            for (int i = maxSubLayersMinus1; i < 8; i++) r.SkipBits(2); // reserved_zero_2bits
        for (int i = 0; i < maxSubLayersMinus1; i++)
        {
            if (profilePresent[i]) r.SkipBits(88);
            if (levelPresent[i]) r.SkipBits(8);
        }
        ptl = new HevcProfileTierLevel(profileSpace, tier, profileIdc, compatibility, constraints, levelIdc);
        return !r.Overrun;
    }
}
