using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Hevc;

/// <summary>
/// HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 8.3.3.1), the 'hvcC' box body and the Enhanced RTMP
/// hvc1 SequenceStart payload.
/// <code>
/// configurationVersion(8)=1
/// general_profile_space(2) general_tier_flag(1) general_profile_idc(5)
/// general_profile_compatibility_flags(32)  general_constraint_indicator_flags(48)  general_level_idc(8)
/// reserved(4)=1111 min_spatial_segmentation_idc(12)   reserved(6)=111111 parallelismType(2)
/// reserved(6)=111111 chromaFormat(2)   reserved(5)=11111 bitDepthLumaMinus8(3)   reserved(5) bitDepthChromaMinus8(3)
/// avgFrameRate(16)  constantFrameRate(2) numTemporalLayers(3) temporalIdNested(1) lengthSizeMinusOne(2)
/// numOfArrays(8) { array_completeness(1) reserved(1)=0 NAL_unit_type(6) numNalus(16) { nalUnitLength(16) nalUnit } }
/// </code>
/// </summary>
public sealed class HevcDecoderConfigurationRecord
{
    private const int HeaderLength = 23;

    public byte ConfigurationVersion { get; init; } = 1;

    public HevcProfileTierLevel ProfileTierLevel { get; init; }

    public int MinSpatialSegmentationIdc { get; init; }

    public int ParallelismType { get; init; }

    public int ChromaFormat { get; init; } = 1;

    public int BitDepthLuma { get; init; } = 8;

    public int BitDepthChroma { get; init; } = 8;

    /// <summary>Frames per 256 seconds; 0 = unspecified.</summary>
    public int AvgFrameRate { get; init; }

    public int ConstantFrameRate { get; init; }

    public int NumTemporalLayers { get; init; }

    public bool TemporalIdNested { get; init; }

    public int NalLengthSize { get; init; } = 4;

    public IReadOnlyList<HevcNalArray> Arrays { get; init; } = [];

    public string CodecString => ProfileTierLevel.CodecString();

    /// <summary>The first NAL unit of the given type (32 VPS, 33 SPS, 34 PPS), if the record has one.</summary>
    public byte[]? FindNalUnit(int nalUnitType)
    {
        foreach (var array in Arrays)
            if (array.NalUnitType == nalUnitType && array.NalUnits.Count > 0) return array.NalUnits[0];
        return null;
    }

    public static bool TryRead(ReadOnlySpan<byte> data, out HevcDecoderConfigurationRecord record, out int consumed)
    {
        record = null!;
        consumed = 0;
        // Version 0 appears in streams from encoders written against a draft of the spec; its layout is the same.
        if (data.Length < HeaderLength || data[0] > 1) return false;
        var ptl = new HevcProfileTierLevel(
            data[1] >> 6,
            (data[1] & 0x20) != 0,
            data[1] & 0x1F,
            BinaryPrimitives.ReadUInt32BigEndian(data[2..]),
            ((ulong)BinaryPrimitives.ReadUInt16BigEndian(data[6..]) << 32) | BinaryPrimitives.ReadUInt32BigEndian(data[8..]),
            data[12]);
        int lengthSizeMinusOne = data[21] & 0x03;
        if (lengthSizeMinusOne == 2) return false;
        int arrayCount = data[22];
        int pos = HeaderLength;
        var arrays = new HevcNalArray[arrayCount];
        for (int a = 0; a < arrayCount; a++)
        {
            if (data.Length - pos < 3) return false;
            byte typeByte = data[pos];
            int count = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 1)..]);
            pos += 3;
            // Every NAL needs at least 2 length bytes: bounds the allocation by the input size.
            if (count > (data.Length - pos) / 2) return false;
            var nalUnits = new byte[count][];
            for (int i = 0; i < count; i++)
            {
                if (data.Length - pos < 2) return false;
                int length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
                pos += 2;
                if (length == 0 || data.Length - pos < length) return false;
                nalUnits[i] = data.Slice(pos, length).ToArray();
                pos += length;
            }
            arrays[a] = new HevcNalArray((typeByte & 0x80) != 0, typeByte & 0x3F, nalUnits);
        }
        record = new HevcDecoderConfigurationRecord
        {
            ConfigurationVersion = data[0],
            ProfileTierLevel = ptl,
            MinSpatialSegmentationIdc = BinaryPrimitives.ReadUInt16BigEndian(data[13..]) & 0x0FFF,
            ParallelismType = data[15] & 0x03,
            ChromaFormat = data[16] & 0x03,
            BitDepthLuma = 8 + (data[17] & 0x07),
            BitDepthChroma = 8 + (data[18] & 0x07),
            AvgFrameRate = BinaryPrimitives.ReadUInt16BigEndian(data[19..]),
            ConstantFrameRate = data[21] >> 6,
            NumTemporalLayers = (data[21] >> 3) & 0x07,
            TemporalIdNested = (data[21] & 0x04) != 0,
            NalLengthSize = lengthSizeMinusOne + 1,
            Arrays = arrays,
        };
        consumed = pos;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var ptl = ProfileTierLevel;
        writer.WriteByte(ConfigurationVersion);
        writer.WriteByte((byte)((ptl.ProfileSpace << 6) | (ptl.TierFlag ? 0x20 : 0) | (ptl.ProfileIdc & 0x1F)));
        writer.WriteUInt32BigEndian(ptl.ProfileCompatibilityFlags);
        writer.WriteUInt16BigEndian((ushort)(ptl.ConstraintIndicatorFlags >> 32));
        writer.WriteUInt32BigEndian((uint)ptl.ConstraintIndicatorFlags);
        writer.WriteByte((byte)ptl.LevelIdc);
        writer.WriteUInt16BigEndian((ushort)(0xF000 | MinSpatialSegmentationIdc));
        writer.WriteByte((byte)(0xFC | ParallelismType));
        writer.WriteByte((byte)(0xFC | ChromaFormat));
        writer.WriteByte((byte)(0xF8 | (BitDepthLuma - 8)));
        writer.WriteByte((byte)(0xF8 | (BitDepthChroma - 8)));
        writer.WriteUInt16BigEndian((ushort)AvgFrameRate);
        writer.WriteByte((byte)((ConstantFrameRate << 6) | (NumTemporalLayers << 3) | (TemporalIdNested ? 4 : 0) | (NalLengthSize - 1)));
        writer.WriteByte((byte)Arrays.Count);
        foreach (var array in Arrays)
        {
            writer.WriteByte((byte)((array.Completeness ? 0x80 : 0) | array.NalUnitType));
            writer.WriteUInt16BigEndian((ushort)array.NalUnits.Count);
            foreach (var nal in array.NalUnits)
            {
                writer.WriteUInt16BigEndian((ushort)nal.Length);
                writer.Write(nal);
            }
        }
    }

    public byte[] ToArray()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// Builds the record an encoder would send from its parameter sets (e.g. taken from an Annex B stream in MPEG-TS):
    /// profile, tier, level, chroma format, bit depths and temporal layers come from the first SPS (14496-15 8.3.3.1.2).
    /// </summary>
    public static bool TryCreate(IReadOnlyList<byte[]> videoParameterSets, IReadOnlyList<byte[]> sequenceParameterSets,
        IReadOnlyList<byte[]> pictureParameterSets, out HevcDecoderConfigurationRecord record)
    {
        record = null!;
        if (videoParameterSets.Count == 0 || sequenceParameterSets.Count == 0 || pictureParameterSets.Count == 0) return false;
        foreach (var set in videoParameterSets.Concat(sequenceParameterSets).Concat(pictureParameterSets))
            if (set.Length is 0 or > ushort.MaxValue) return false;
        if (!HevcSps.TryParse(sequenceParameterSets[0], out var sps)) return false;
        record = new HevcDecoderConfigurationRecord
        {
            ProfileTierLevel = sps.ProfileTierLevel,
            ChromaFormat = sps.ChromaFormatIdc,
            BitDepthLuma = sps.BitDepthLuma,
            BitDepthChroma = sps.BitDepthChroma,
            NumTemporalLayers = sps.MaxSubLayersMinus1 + 1,
            TemporalIdNested = sps.TemporalIdNesting,
            Arrays =
            [
                new HevcNalArray(true, 32, videoParameterSets.ToArray()),
                new HevcNalArray(true, 33, sequenceParameterSets.ToArray()),
                new HevcNalArray(true, 34, pictureParameterSets.ToArray()),
            ],
        };
        return true;
    }
}

/// <summary>One NAL unit array of hvcC: all parameter sets (or SEI) of one NAL unit type.</summary>
public sealed record HevcNalArray(bool Completeness, int NalUnitType, IReadOnlyList<byte[]> NalUnits);
