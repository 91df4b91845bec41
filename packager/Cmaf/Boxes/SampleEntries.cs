using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// A VisualSampleEntry (ISO/IEC 14496-12 §12.1.3) — avc1, hvc1 or av01 — followed by its codec configuration
/// box (avcC per ISO/IEC 14496-15 §5.4.2.1, hvcC per §8.4.1.1, av1C per the AV1-ISOBMFF binding §2.3), copied
/// verbatim from the track's decoder configuration record, and a pasp (§12.1.4) declaring square pixels.
/// 'hvc1' (not 'hev1') because the parameter sets travel in hvcC, which is what Apple players require.
/// </summary>
public readonly struct VisualSampleEntry
{
    private const int FixedSize = 86;
    private const int PixelAspectRatioBoxSize = 16;

    public VisualSampleEntry(uint sampleEntryType, uint configurationBoxType, ReadOnlyMemory<byte> configurationRecord, int width, int height,
        TrackProtection? protection = null)
    {
        if (width is <= 0 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(width), width, "Width must be 1..65535.");
        if (height is <= 0 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(height), height, "Height must be 1..65535.");
        SampleEntryType = sampleEntryType;
        ConfigurationBoxType = configurationBoxType;
        ConfigurationRecord = configurationRecord;
        Width = width;
        Height = height;
        Protection = protection;
    }

    public uint SampleEntryType { get; }

    /// <summary>When set, the entry is written as 'encv' with a sinf after its boxes (ISO/IEC 14496-12 §8.12, ISO/IEC 23001-7 §4).</summary>
    public TrackProtection? Protection { get; }

    public uint ConfigurationBoxType { get; }

    public ReadOnlyMemory<byte> ConfigurationRecord { get; }

    public int Width { get; }

    public int Height { get; }

    public int Size => FixedSize + 8 + ConfigurationRecord.Length + PixelAspectRatioBoxSize + (Protection?.SinfSize ?? 0);

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteBoxHeader(Size, Protection is null ? SampleEntryType : TrackProtection.Encv);
        writer.WriteZeros(6); // SampleEntry reserved
        writer.WriteUInt16(1); // data_reference_index: the single dref entry
        writer.WriteUInt16(0); // pre_defined
        writer.WriteUInt16(0); // reserved
        writer.WriteZeros(12); // pre_defined
        writer.WriteUInt16((ushort)Width);
        writer.WriteUInt16((ushort)Height);
        writer.WriteUInt32(0x00480000); // horizresolution 72 dpi
        writer.WriteUInt32(0x00480000); // vertresolution 72 dpi
        writer.WriteUInt32(0); // reserved
        writer.WriteUInt16(1); // frame_count: one frame per sample
        writer.WriteZeros(32); // compressorname: empty Pascal string padded to 32 bytes
        writer.WriteUInt16(0x0018); // depth: colour, no alpha
        writer.WriteInt16(-1); // pre_defined
        writer.WriteBoxHeader(8 + ConfigurationRecord.Length, ConfigurationBoxType);
        writer.WriteBytes(ConfigurationRecord.Span);
        writer.WriteBoxHeader(PixelAspectRatioBoxSize, FourCC.Pasp);
        writer.WriteUInt32(1); // hSpacing
        writer.WriteUInt32(1); // vSpacing
        Protection?.WriteSinf(ref writer);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>
/// mp4a: an AudioSampleEntry (ISO/IEC 14496-12 §12.2.3, version 0) with an esds (ISO/IEC 14496-14 §5.6).
/// samplerate is 16.16 fixed point, so rates above 65535 Hz cannot be expressed in a version-0 entry and are
/// rejected rather than silently truncated.
/// </summary>
public readonly struct AudioSampleEntry
{
    private const int FixedSize = 36;

    public AudioSampleEntry(int channels, int sampleRate, EsdsBox esds, TrackProtection? protection = null)
    {
        if (channels is <= 0 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(channels), channels,
            "Channel count must be 1..65535.");
        if (sampleRate is <= 0 or > ushort.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(sampleRate), sampleRate, "Sample rate must be 1..65535 Hz for an mp4a (v0) sample entry.");
        Channels = channels;
        SampleRate = sampleRate;
        Esds = esds;
        Protection = protection;
    }

    /// <summary>When set, the entry is written as 'enca' with a sinf after its esds.</summary>
    public TrackProtection? Protection { get; }

    public int Channels { get; }

    public int SampleRate { get; }

    public EsdsBox Esds { get; }

    public int Size => FixedSize + Esds.Size + (Protection?.SinfSize ?? 0);

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteBoxHeader(Size, Protection is null ? FourCC.Mp4a : TrackProtection.Enca);
        writer.WriteZeros(6); // SampleEntry reserved
        writer.WriteUInt16(1); // data_reference_index
        writer.WriteZeros(8); // reserved (version 0)
        writer.WriteUInt16((ushort)Channels);
        writer.WriteUInt16(16); // samplesize
        writer.WriteUInt16(0); // pre_defined
        writer.WriteUInt16(0); // reserved
        writer.WriteUInt32((uint)SampleRate << 16);
        Esds.WriteTo(ref writer);
        Protection?.WriteSinf(ref writer);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
