using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// vmhd (ISO/IEC 14496-12 §12.1.2): flags must be 1 (a historical requirement every demuxer checks);
/// graphicsmode copy (0) and opcolor 0.
/// </summary>
public readonly struct VideoMediaHeaderBox
{
    public const int Size = 20;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Vmhd, 0, 1);
        writer.WriteUInt16(0); // graphicsmode
        writer.WriteZeros(6); // opcolor
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>smhd (ISO/IEC 14496-12 §12.2.2): balance 0 (centre).</summary>
public readonly struct SoundMediaHeaderBox
{
    public const int Size = 16;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Smhd, 0, 0);
        writer.WriteInt16(0); // balance
        writer.WriteUInt16(0); // reserved
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>
/// dinf (§8.7.1) holding dref (§8.7.2) with one 'url ' entry whose flags are 1: "media data is in the same
/// file", which is what data_reference_index 1 in the sample entry points to.
/// </summary>
public readonly struct DataInformationBox
{
    public const int Size = 36;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteBoxHeader(Size, FourCC.Dinf);
        writer.WriteFullBoxHeader(28, FourCC.Dref, 0, 0);
        writer.WriteUInt32(1); // entry_count
        writer.WriteFullBoxHeader(12, FourCC.Url, 0, 1); // self-contained, no location string
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>
/// The sample tables a fragmented file leaves empty (§8.8.1: samples live in movie fragments):
/// stts (§8.6.1.2), stsc (§8.7.4), stco (§8.7.5) with entry_count 0, and stsz (§8.7.3) with sample_size 0 and
/// sample_count 0. They must still be present because stbl requires them.
/// </summary>
public readonly struct EmptySampleTablesBoxes
{
    public const int Size = 16 + 16 + 20 + 16;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(16, FourCC.Stts, 0, 0);
        writer.WriteUInt32(0);
        writer.WriteFullBoxHeader(16, FourCC.Stsc, 0, 0);
        writer.WriteUInt32(0);
        writer.WriteFullBoxHeader(20, FourCC.Stsz, 0, 0);
        writer.WriteUInt32(0); // sample_size
        writer.WriteUInt32(0); // sample_count
        writer.WriteFullBoxHeader(16, FourCC.Stco, 0, 0);
        writer.WriteUInt32(0);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>
/// trex (ISO/IEC 14496-12 §8.8.3): per-track fragment defaults. Only the sample description index is
/// defaulted (1, the single stsd entry); durations, sizes and flags are written in every tfhd/trun so a
/// fragment is readable without guessing from the header.
/// </summary>
public readonly record struct TrackExtendsBox(uint TrackId)
{
    public const int Size = 32;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Trex, 0, 0);
        writer.WriteUInt32(TrackId);
        writer.WriteUInt32(1); // default_sample_description_index
        writer.WriteUInt32(0); // default_sample_duration
        writer.WriteUInt32(0); // default_sample_size
        writer.WriteUInt32(0); // default_sample_flags
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
