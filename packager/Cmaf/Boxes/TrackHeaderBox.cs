using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// tkhd (ISO/IEC 14496-12 §8.3.2), version 0. Flags track_enabled|track_in_movie|track_in_preview (0x7) so
/// every player presents the track. Width and height are the presentation size in 16.16 fixed point (0 for
/// audio); volume is 1.0 (0x0100) for audio and 0 for video, as §8.3.2.3 prescribes.
/// </summary>
public readonly record struct TrackHeaderBox(uint TrackId, bool IsAudio, int Width, int Height)
{
    public const int Size = 92;

    /// <summary>track_enabled (0x1) | track_in_movie (0x2) | track_in_preview (0x4).</summary>
    public const uint DefaultFlags = 0x000007;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Tkhd, 0, DefaultFlags);
        writer.WriteUInt32(0); // creation_time
        writer.WriteUInt32(0); // modification_time
        writer.WriteUInt32(TrackId);
        writer.WriteUInt32(0); // reserved
        writer.WriteUInt32(0); // duration: 0, fragments carry the time
        writer.WriteZeros(8); // reserved
        writer.WriteUInt16(0); // layer
        writer.WriteUInt16(0); // alternate_group
        writer.WriteUInt16(IsAudio ? (ushort)0x0100 : (ushort)0);
        writer.WriteUInt16(0); // reserved
        Matrix.WriteIdentity(ref writer);
        writer.WriteUInt32((uint)Width << 16);
        writer.WriteUInt32((uint)Height << 16);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
