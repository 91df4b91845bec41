using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// tfdt (ISO/IEC 14496-12 §8.8.12), always version 1: a 64-bit baseMediaDecodeTime, because a 90 kHz clock
/// overflows 32 bits after 13.25 hours and a 24/7 channel gets there.
/// </summary>
public readonly record struct TrackFragmentDecodeTimeBox(ulong BaseMediaDecodeTime)
{
    public const int Size = 20;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Tfdt, 1, 0);
        writer.WriteUInt64(BaseMediaDecodeTime);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
