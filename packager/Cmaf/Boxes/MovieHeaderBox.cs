using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// mvhd (ISO/IEC 14496-12 §8.2.2), version 0. In a CMAF header the movie has no samples of its own:
/// duration 0 (unknown; the fragments carry the time), rate 1.0, volume 1.0, identity matrix.
/// </summary>
public readonly record struct MovieHeaderBox(uint Timescale, uint NextTrackId)
{
    public const int Size = 108;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Mvhd, 0, 0);
        writer.WriteUInt32(0); // creation_time: 0, a live stream has no meaningful one and 0 keeps output deterministic
        writer.WriteUInt32(0); // modification_time
        writer.WriteUInt32(Timescale);
        writer.WriteUInt32(0); // duration: unknown/zero for a fragmented file (§8.8.1)
        writer.WriteUInt32(0x00010000); // rate 1.0 (16.16)
        writer.WriteUInt16(0x0100); // volume 1.0 (8.8)
        writer.WriteZeros(2 + 8); // reserved
        Matrix.WriteIdentity(ref writer);
        writer.WriteZeros(24); // pre_defined
        writer.WriteUInt32(NextTrackId);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}

/// <summary>The unity transformation matrix of mvhd and tkhd (§8.2.2.3): {0x00010000,0,0, 0,0x00010000,0, 0,0,0x40000000}.</summary>
internal static class Matrix
{
    public static void WriteIdentity(ref BoxSpanWriter writer)
    {
        writer.WriteUInt32(0x00010000); writer.WriteUInt32(0); writer.WriteUInt32(0);
        writer.WriteUInt32(0); writer.WriteUInt32(0x00010000); writer.WriteUInt32(0);
        writer.WriteUInt32(0); writer.WriteUInt32(0); writer.WriteUInt32(0x40000000);
    }
}
