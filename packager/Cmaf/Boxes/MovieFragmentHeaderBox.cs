using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>mfhd (ISO/IEC 14496-12 §8.8.5): the fragment's sequence number, increasing fragment by fragment.</summary>
public readonly record struct MovieFragmentHeaderBox(uint SequenceNumber)
{
    public const int Size = 16;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Mfhd, 0, 0);
        writer.WriteUInt32(SequenceNumber);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
