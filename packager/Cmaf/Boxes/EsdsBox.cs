using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// esds (ISO/IEC 14496-14 §5.6): an ES_Descriptor (ISO/IEC 14496-1 §7.2.6.5) carrying
/// <code>
/// ES_Descriptor (tag 3): ES_ID 0 (14496-14 says 0 in files), no stream dependence/URL/OCR flags
///   DecoderConfigDescriptor (tag 4): objectTypeIndication 0x40 (Audio ISO/IEC 14496-3), streamType 5
///                                     (AudioStream), upStream 0, reserved 1, bufferSizeDB, maxBitrate, avgBitrate
///     DecoderSpecificInfo (tag 5): the AudioSpecificConfig, verbatim
///   SLConfigDescriptor (tag 6): predefined 2 (reserved for MP4 files)
/// </code>
/// Descriptor lengths use the shortest expandable encoding (7 bits a byte, high bit "more follows").
/// Bitrates are 0 when unknown: avgBitrate 0 means variable bitrate (14496-1 §7.2.6.6.2).
/// </summary>
public readonly struct EsdsBox
{
    private const byte EsDescriptorTag = 0x03;
    private const byte DecoderConfigDescriptorTag = 0x04;
    private const byte DecoderSpecificInfoTag = 0x05;
    private const byte SlConfigDescriptorTag = 0x06;

    /// <summary>Audio ISO/IEC 14496-3 (AAC, any object type inside the AudioSpecificConfig).</summary>
    public const byte ObjectTypeAudioIso14496_3 = 0x40;

    /// <summary>streamType 5 (AudioStream) &lt;&lt; 2 | upStream 0 &lt;&lt; 1 | reserved 1.</summary>
    public const byte AudioStreamTypeByte = (5 << 2) | 1;

    public EsdsBox(ReadOnlyMemory<byte> audioSpecificConfig, uint bufferSizeDb = 0, uint maxBitrate = 0, uint avgBitrate = 0)
    {
        if (bufferSizeDb > 0xFFFFFF) throw new ArgumentOutOfRangeException(nameof(bufferSizeDb), "bufferSizeDB is a 24-bit field.");
        AudioSpecificConfig = audioSpecificConfig;
        BufferSizeDb = bufferSizeDb;
        MaxBitrate = maxBitrate;
        AvgBitrate = avgBitrate;
    }

    public ReadOnlyMemory<byte> AudioSpecificConfig { get; }

    public uint BufferSizeDb { get; }

    public uint MaxBitrate { get; }

    public uint AvgBitrate { get; }

    private int DecoderSpecificInfoPayload => AudioSpecificConfig.Length;

    private int DecoderConfigPayload => 13 + DescriptorSize(DecoderSpecificInfoPayload);

    private int EsDescriptorPayload => 3 + DescriptorSize(DecoderConfigPayload) + DescriptorSize(1);

    public int Size => 12 + DescriptorSize(EsDescriptorPayload);

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Esds, 0, 0);
        WriteDescriptorHeader(ref writer, EsDescriptorTag, EsDescriptorPayload);
        writer.WriteUInt16(0); // ES_ID
        writer.WriteUInt8(0); // streamDependenceFlag, URL_Flag, OCRstreamFlag, streamPriority
        WriteDescriptorHeader(ref writer, DecoderConfigDescriptorTag, DecoderConfigPayload);
        writer.WriteUInt8(ObjectTypeAudioIso14496_3);
        writer.WriteUInt8(AudioStreamTypeByte);
        writer.WriteUInt24(BufferSizeDb);
        writer.WriteUInt32(MaxBitrate);
        writer.WriteUInt32(AvgBitrate);
        WriteDescriptorHeader(ref writer, DecoderSpecificInfoTag, DecoderSpecificInfoPayload);
        writer.WriteBytes(AudioSpecificConfig.Span);
        WriteDescriptorHeader(ref writer, SlConfigDescriptorTag, 1);
        writer.WriteUInt8(2); // predefined: reserved for use in MP4 files
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }

    /// <summary>Tag byte + expandable length + payload.</summary>
    private static int DescriptorSize(int payload) => 1 + LengthSize(payload) + payload;

    private static int LengthSize(int length) => length < 1 << 7 ? 1 : length < 1 << 14 ? 2 : length < 1 << 21 ? 3 : 4;

    private static void WriteDescriptorHeader(ref BoxSpanWriter writer, byte tag, int length)
    {
        writer.WriteUInt8(tag);
        for (int shift = 7 * (LengthSize(length) - 1); shift > 0; shift -= 7)
            writer.WriteUInt8((byte)(0x80 | ((length >> shift) & 0x7F)));
        writer.WriteUInt8((byte)(length & 0x7F));
    }
}
