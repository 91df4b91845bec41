using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.MpegTs;

/// <summary>
/// adts_fixed_header + adts_variable_header (ISO/IEC 14496-3 1.A.2.2, 13818-7 6.2), the framing of AAC in MPEG-TS.
/// <code>
/// syncword(12)=0xFFF ID(1) layer(2)=00 protection_absent(1) profile_ObjectType(2) sampling_frequency_index(4)
/// private_bit(1) channel_configuration(3) original_copy(1) home(1)
/// copyright_identification_bit(1) copyright_identification_start(1) aac_frame_length(13) adts_buffer_fullness(11)
/// number_of_raw_data_blocks_in_frame(2)   [crc_check(16) when protection_absent is 0]
/// </code>
/// <see cref="FrameLength"/> counts the header too.
/// </summary>
public readonly record struct AdtsHeader(bool Mpeg2, bool ProtectionAbsent, int Profile, int SamplingFrequencyIndex, int ChannelConfiguration,
    int FrameLength, int BufferFullness, int RawDataBlocks)
{
    /// <summary>Bytes of the header: 7, or 9 with the CRC.</summary>
    public int Length => ProtectionAbsent ? 7 : 9;

    /// <summary>MPEG-4 Audio Object Type: the ADTS profile plus one (1.A.2.2.1: 1 = AAC Main, 2 = AAC LC, 3 = SSR).</summary>
    public int ObjectType => Profile + 1;

    /// <summary>
    /// False when the syncword or layer is wrong, the sampling frequency index is reserved (13-15), or the frame
    /// length is shorter than its own header.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> data, out AdtsHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (data.Length < 7 || data[0] != 0xFF || (data[1] & 0xF0) != 0xF0 || (data[1] & 0x06) != 0) return false;
        bool protectionAbsent = (data[1] & 0x01) != 0;
        int sfi = (data[2] >> 2) & 0x0F;
        if (sfi > 12) return false;
        int length = ((data[3] & 0x03) << 11) | (data[4] << 3) | (data[5] >> 5);
        int headerLength = protectionAbsent ? 7 : 9;
        if (length < headerLength || data.Length < headerLength) return false;
        header = new AdtsHeader(
            (data[1] & 0x08) != 0,
            protectionAbsent,
            data[2] >> 6,
            sfi,
            ((data[2] & 0x01) << 2) | (data[3] >> 6),
            length,
            ((data[5] & 0x1F) << 6) | (data[6] >> 2),
            data[6] & 0x03);
        consumed = headerLength;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var b = writer.GetSpan(Length);
        b[0] = 0xFF;
        b[1] = (byte)(0xF0 | (Mpeg2 ? 0x08 : 0) | (ProtectionAbsent ? 0x01 : 0));
        b[2] = (byte)((Profile << 6) | (SamplingFrequencyIndex << 2) | (ChannelConfiguration >> 2));
        b[3] = (byte)(((ChannelConfiguration & 0x03) << 6) | (FrameLength >> 11));
        b[4] = (byte)(FrameLength >> 3);
        b[5] = (byte)(((FrameLength & 0x07) << 5) | (BufferFullness >> 6));
        b[6] = (byte)(((BufferFullness & 0x3F) << 2) | RawDataBlocks);
        if (!ProtectionAbsent)
        {
            b[7] = 0;
            b[8] = 0;
        }
        writer.Advance(Length);
    }

    /// <summary>
    /// The two-byte AudioSpecificConfig (14496-3 1.6.2.1) this header implies: object type, frequency index, channels.
    /// </summary>
    public void WriteAudioSpecificConfig(Span<byte> destination)
    {
        int value = (ObjectType << 11) | (SamplingFrequencyIndex << 7) | (ChannelConfiguration << 3);
        destination[0] = (byte)(value >> 8);
        destination[1] = (byte)value;
    }
}
