using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// mdhd (ISO/IEC 14496-12 §8.4.2), version 0. The timescale here is the clock of every tfdt and trun of the
/// track: 90 kHz for video, the sample rate for audio (so AAC durations are exactly 1024 ticks).
/// The language is ISO 639-2/T 'und' packed as three 5-bit letters (each minus 0x60) after a pad bit.
/// </summary>
public readonly record struct MediaHeaderBox(uint Timescale)
{
    public const int Size = 32;

    /// <summary>'und' packed: ('u'-0x60)&lt;&lt;10 | ('n'-0x60)&lt;&lt;5 | ('d'-0x60).</summary>
    public const ushort UndeterminedLanguage = (('u' - 0x60) << 10) | (('n' - 0x60) << 5) | ('d' - 0x60);

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Mdhd, 0, 0);
        writer.WriteUInt32(0); // creation_time
        writer.WriteUInt32(0); // modification_time
        writer.WriteUInt32(Timescale);
        writer.WriteUInt32(0); // duration
        writer.WriteUInt16(UndeterminedLanguage);
        writer.WriteUInt16(0); // pre_defined
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
