using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// ftyp (ISO/IEC 14496-12 §4.3) and styp (§8.16.2): major brand, minor version, compatible brands.
/// The two share one layout; only the box type differs.
/// </summary>
public readonly struct FileTypeBox
{
    private readonly uint _brand0;
    private readonly uint _brand1;
    private readonly int _brandCount;

    /// <param name="type"><see cref="FourCC.Ftyp"/> or <see cref="FourCC.Styp"/>.</param>
    public FileTypeBox(uint type, uint majorBrand, uint minorVersion, uint compatible0, uint compatible1)
    {
        Type = type;
        MajorBrand = majorBrand;
        MinorVersion = minorVersion;
        _brand0 = compatible0;
        _brand1 = compatible1;
        _brandCount = 2;
    }

    /// <summary>
    /// The CMAF header's ftyp. ISO/IEC 23000-19 requires the CMAF structural brand 'cmfc' among the
    /// compatible brands of every CMAF header; we also make it the major brand so a CMAF-aware reader sees it
    /// first. 'iso6' declares the ISO BMFF feature level we rely on: movie fragments addressed by
    /// default-base-is-moof (an 'iso5' feature) and tfdt (part of 'iso6'), without the 'moov'-level sample
    /// tables of older brands. 'cmf2' is deliberately absent: it adds constraints (e.g. on edit lists and
    /// negative composition offsets in the first sample) that this writer does not promise.
    /// </summary>
    public static FileTypeBox CmafHeader => new(FourCC.Ftyp, FourCC.Cmfc, 0, FourCC.Iso6, FourCC.Cmfc);

    /// <summary>
    /// The styp that opens every media segment. 'cmfs' is the CMAF segment brand (ISO/IEC 23000-19, CMAF
    /// segment: one or more CMAF fragments); 'msdh' is the DASH media segment brand (ISO/IEC 23009-1 §6.3.4.2)
    /// so DASH clients that check styp accept it. 'msix' is NOT used: it promises a segment index (sidx),
    /// which a live segment written ahead of time does not carry.
    /// </summary>
    public static FileTypeBox CmafSegment => new(FourCC.Styp, FourCC.Cmfs, 0, FourCC.Cmfs, FourCC.Msdh);

    public uint Type { get; }

    public uint MajorBrand { get; }

    public uint MinorVersion { get; }

    public int Size => 16 + 4 * _brandCount;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteBoxHeader(Size, Type);
        writer.WriteUInt32(MajorBrand);
        writer.WriteUInt32(MinorVersion);
        writer.WriteUInt32(_brand0);
        writer.WriteUInt32(_brand1);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
