using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// tfhd (ISO/IEC 14496-12 §8.8.7). Always default-base-is-moof (0x020000): trun data offsets count from the
/// first byte of this fragment's moof, so a segment is self-contained wherever it is stored (CMAF requires it
/// and forbids base-data-offset). Optionally a default-sample-flags (0x000020), used for audio where every
/// sample is a sync sample and per-sample flags would only repeat it.
/// </summary>
public readonly record struct TrackFragmentHeaderBox(uint TrackId, uint? DefaultSampleFlags = null)
{
    public const uint DefaultBaseIsMoof = 0x020000;
    public const uint DefaultSampleFlagsPresent = 0x000020;

    public uint Flags => DefaultBaseIsMoof | (DefaultSampleFlags.HasValue ? DefaultSampleFlagsPresent : 0);

    public int Size => DefaultSampleFlags.HasValue ? 20 : 16;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Tfhd, 0, Flags);
        writer.WriteUInt32(TrackId);
        if (DefaultSampleFlags is uint flags) writer.WriteUInt32(flags);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
