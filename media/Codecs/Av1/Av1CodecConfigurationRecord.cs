using System.Buffers;
using Broadcast.Media.Bits;

namespace Broadcast.Media.Codecs.Av1;

/// <summary>
/// AV1CodecConfigurationRecord ('av1C', AV1 Codec ISO Media File Format Binding 2.3), also the Enhanced RTMP
/// av01 SequenceStart payload.
/// <code>
/// marker(1)=1 version(7)=1
/// seq_profile(3) seq_level_idx_0(5)
/// seq_tier_0(1) high_bitdepth(1) twelve_bit(1) monochrome(1) chroma_subsampling_x(1) chroma_subsampling_y(1) chroma_sample_position(2)
/// reserved(3)=0 initial_presentation_delay_present(1) initial_presentation_delay_minus_one(4)
/// configOBUs: the sequence header OBU (and optional metadata OBUs)
/// </code>
/// </summary>
public sealed class Av1CodecConfigurationRecord
{
    private const int HeaderLength = 4;

    public int SeqProfile { get; init; }

    public int SeqLevelIdx0 { get; init; }

    public bool SeqTier0 { get; init; }

    public bool HighBitDepth { get; init; }

    public bool TwelveBit { get; init; }

    public bool Monochrome { get; init; }

    public bool ChromaSubsamplingX { get; init; } = true;

    public bool ChromaSubsamplingY { get; init; } = true;

    public int ChromaSamplePosition { get; init; }

    /// <summary>initial_presentation_delay_minus_one + 1 when present.</summary>
    public int? InitialPresentationDelay { get; init; }

    public byte[] ConfigObus { get; init; } = [];

    public int BitDepth => HighBitDepth ? (SeqProfile == 2 && TwelveBit ? 12 : 10) : 8;

    /// <summary>av01.P.LLT.DD (AV1 ISOBMFF binding, Codecs Parameter String), e.g. av01.0.04M.08.</summary>
    public string CodecString => FormatCodecString(SeqProfile, SeqLevelIdx0, SeqTier0, BitDepth);

    public static string FormatCodecString(int profile, int levelIdx, bool tier, int bitDepth) =>
        $"av01.{profile}.{levelIdx:00}{(tier ? 'H' : 'M')}.{bitDepth:00}";

    public static bool TryRead(ReadOnlySpan<byte> data, out Av1CodecConfigurationRecord record, out int consumed)
    {
        record = null!;
        consumed = 0;
        if (data.Length < HeaderLength || data[0] != 0x81) return false; // marker 1, version 1
        if ((data[3] & 0xE0) != 0) return false; // reserved bits must be zero
        record = new Av1CodecConfigurationRecord
        {
            SeqProfile = data[1] >> 5,
            SeqLevelIdx0 = data[1] & 0x1F,
            SeqTier0 = (data[2] & 0x80) != 0,
            HighBitDepth = (data[2] & 0x40) != 0,
            TwelveBit = (data[2] & 0x20) != 0,
            Monochrome = (data[2] & 0x10) != 0,
            ChromaSubsamplingX = (data[2] & 0x08) != 0,
            ChromaSubsamplingY = (data[2] & 0x04) != 0,
            ChromaSamplePosition = data[2] & 0x03,
            InitialPresentationDelay = (data[3] & 0x10) != 0 ? (data[3] & 0x0F) + 1 : null,
            ConfigObus = data[HeaderLength..].ToArray(),
        };
        consumed = data.Length;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        writer.WriteByte(0x81);
        writer.WriteByte((byte)((SeqProfile << 5) | (SeqLevelIdx0 & 0x1F)));
        writer.WriteByte((byte)((SeqTier0 ? 0x80 : 0) | (HighBitDepth ? 0x40 : 0) | (TwelveBit ? 0x20 : 0) |
            (Monochrome ? 0x10 : 0) | (ChromaSubsamplingX ? 0x08 : 0) | (ChromaSubsamplingY ? 0x04 : 0) | (ChromaSamplePosition & 0x03)));
        writer.WriteByte(InitialPresentationDelay is { } d ? (byte)(0x10 | ((d - 1) & 0x0F)) : (byte)0);
        writer.Write(ConfigObus);
    }

    public byte[] ToArray()
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
