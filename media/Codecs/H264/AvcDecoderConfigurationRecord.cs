using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.H264;

/// <summary>
/// AVCDecoderConfigurationRecord (ISO/IEC 14496-15 5.3.3.1), the 'avcC' box body and the FLV AVC sequence header.
/// <code>
/// configurationVersion(8)=1  AVCProfileIndication(8)  profile_compatibility(8)  AVCLevelIndication(8)
/// reserved(6)=111111 lengthSizeMinusOne(2)
/// reserved(3)=111 numOfSequenceParameterSets(5)  { sequenceParameterSetLength(16) SPS }
/// numOfPictureParameterSets(8)                   { pictureParameterSetLength(16) PPS }
/// if profile_idc not in 66,77,88 (14496-15:2017; the 2004 text listed 100,110,122,144; older muxers omit it):
///   reserved(6) chroma_format(2)  reserved(5) bit_depth_luma_minus8(3)  reserved(5) bit_depth_chroma_minus8(3)
///   numOfSequenceParameterSetExt(8)               { sequenceParameterSetExtLength(16) SPS-ext }
/// </code>
/// </summary>
public sealed class AvcDecoderConfigurationRecord
{
    private const int HeaderLength = 6;

    public byte ConfigurationVersion { get; init; } = 1;

    public byte ProfileIndication { get; init; }

    public byte ProfileCompatibility { get; init; }

    public byte LevelIndication { get; init; }

    /// <summary>Bytes in each NAL unit's length prefix: 1, 2 or 4.</summary>
    public int NalLengthSize { get; init; } = 4;

    public IReadOnlyList<byte[]> SequenceParameterSets { get; init; } = [];

    public IReadOnlyList<byte[]> PictureParameterSets { get; init; } = [];

    /// <summary>The high-profile extension, when the record carries it.</summary>
    public AvcHighProfileExtension? Extension { get; init; }

    public string CodecString => H264Sps.FormatCodecString(ProfileIndication, ProfileCompatibility, LevelIndication);

    public static bool HasExtensionFields(int profileIdc) => profileIdc is not (66 or 77 or 88);

    public static bool TryRead(ReadOnlySpan<byte> data, out AvcDecoderConfigurationRecord record, out int consumed)
    {
        record = null!;
        consumed = 0;
        if (data.Length < HeaderLength + 1 || data[0] != 1) return false;
        int lengthSizeMinusOne = data[4] & 0x03;
        if (lengthSizeMinusOne == 2) return false; // 3-byte lengths are not allowed (5.3.3.1.2)
        int pos = 5;
        int spsCount = data[pos++] & 0x1F;
        if (!TryReadArray(data, ref pos, spsCount, out var sps)) return false;
        if (pos >= data.Length) return false;
        int ppsCount = data[pos++];
        if (!TryReadArray(data, ref pos, ppsCount, out var pps)) return false;

        AvcHighProfileExtension? extension = null;
        if (HasExtensionFields(data[1]) && data.Length - pos >= 4)
        {
            int chromaFormat = data[pos] & 0x03;
            int lumaMinus8 = data[pos + 1] & 0x07;
            int chromaMinus8 = data[pos + 2] & 0x07;
            int extCount = data[pos + 3];
            pos += 4;
            if (!TryReadArray(data, ref pos, extCount, out var ext)) return false;
            extension = new AvcHighProfileExtension(chromaFormat, 8 + lumaMinus8, 8 + chromaMinus8, ext);
        }

        record = new AvcDecoderConfigurationRecord
        {
            ConfigurationVersion = data[0],
            ProfileIndication = data[1],
            ProfileCompatibility = data[2],
            LevelIndication = data[3],
            NalLengthSize = lengthSizeMinusOne + 1,
            SequenceParameterSets = sps,
            PictureParameterSets = pps,
            Extension = extension,
        };
        consumed = pos;
        return true;
    }

    private static bool TryReadArray(ReadOnlySpan<byte> data, ref int pos, int count, out byte[][] items)
    {
        items = count == 0 ? [] : new byte[count][];
        for (int i = 0; i < count; i++)
        {
            if (data.Length - pos < 2) return false;
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            pos += 2;
            if (length == 0 || data.Length - pos < length) return false;
            items[i] = data.Slice(pos, length).ToArray();
            pos += length;
        }
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        writer.WriteByte(ConfigurationVersion);
        writer.WriteByte(ProfileIndication);
        writer.WriteByte(ProfileCompatibility);
        writer.WriteByte(LevelIndication);
        writer.WriteByte((byte)(0xFC | (NalLengthSize - 1)));
        writer.WriteByte((byte)(0xE0 | SequenceParameterSets.Count));
        foreach (var sps in SequenceParameterSets)
        {
            writer.WriteUInt16BigEndian((ushort)sps.Length);
            writer.Write(sps);
        }
        writer.WriteByte((byte)PictureParameterSets.Count);
        foreach (var pps in PictureParameterSets)
        {
            writer.WriteUInt16BigEndian((ushort)pps.Length);
            writer.Write(pps);
        }
        if (Extension is { } ext)
        {
            writer.WriteByte((byte)(0xFC | ext.ChromaFormat));
            writer.WriteByte((byte)(0xF8 | (ext.BitDepthLuma - 8)));
            writer.WriteByte((byte)(0xF8 | (ext.BitDepthChroma - 8)));
            writer.WriteByte((byte)ext.SequenceParameterSetExts.Count);
            foreach (var e in ext.SequenceParameterSetExts)
            {
                writer.WriteUInt16BigEndian((ushort)e.Length);
                writer.Write(e);
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
    /// Builds the record an encoder would send from its parameter sets (e.g. taken from an Annex B stream):
    /// profile, compatibility and level come from the first SPS, and the high-profile extension from its parse.
    /// </summary>
    public static bool TryCreate(IReadOnlyList<byte[]> sequenceParameterSets, IReadOnlyList<byte[]> pictureParameterSets,
        out AvcDecoderConfigurationRecord record, int nalLengthSize = 4)
    {
        record = null!;
        if (sequenceParameterSets.Count is 0 or > 31 || pictureParameterSets.Count is 0 or > 255) return false;
        if (nalLengthSize is not (1 or 2 or 4)) return false;
        foreach (var ps in sequenceParameterSets.Concat(pictureParameterSets))
            if (ps.Length is 0 or > ushort.MaxValue) return false;
        var first = sequenceParameterSets[0];
        if (!H264Sps.TryParse(first, out var sps)) return false;
        record = new AvcDecoderConfigurationRecord
        {
            ProfileIndication = sps.ProfileIdc,
            ProfileCompatibility = sps.ConstraintFlags,
            LevelIndication = sps.LevelIdc,
            NalLengthSize = nalLengthSize,
            SequenceParameterSets = sequenceParameterSets.ToArray(),
            PictureParameterSets = pictureParameterSets.ToArray(),
            Extension = HasExtensionFields(sps.ProfileIdc)
                ? new AvcHighProfileExtension(sps.ChromaFormatIdc, sps.BitDepthLuma, sps.BitDepthChroma, [])
                : null,
        };
        return true;
    }
}

/// <summary>The fields 14496-15 adds to avcC for the High profiles (chroma format, bit depths, SPS extensions).</summary>
public sealed record AvcHighProfileExtension(int ChromaFormat, int BitDepthLuma, int BitDepthChroma,
    IReadOnlyList<byte[]> SequenceParameterSetExts);
