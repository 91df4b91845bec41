using System.Buffers;

namespace Broadcast.Packager.Cmaf.Boxes;

/// <summary>
/// hdlr (ISO/IEC 14496-12 §8.4.3): the media type of the track ('vide' or 'soun') and a human-readable,
/// null-terminated UTF-8 name (shown by ffprobe as handler_name).
/// </summary>
public readonly struct HandlerBox
{
    private static readonly byte[] VideoName = "VideoHandler\0"u8.ToArray();
    private static readonly byte[] SoundName = "SoundHandler\0"u8.ToArray();

    private readonly byte[] _nameWithTerminator;

    private HandlerBox(uint handlerType, byte[] nameWithTerminator)
    {
        HandlerType = handlerType;
        _nameWithTerminator = nameWithTerminator;
    }

    public static HandlerBox Video => new(FourCC.Vide, VideoName);

    public static HandlerBox Sound => new(FourCC.Soun, SoundName);

    public uint HandlerType { get; }

    public int Size => 32 + _nameWithTerminator.Length;

    public void WriteTo(ref BoxSpanWriter writer)
    {
        writer.WriteFullBoxHeader(Size, FourCC.Hdlr, 0, 0);
        writer.WriteUInt32(0); // pre_defined
        writer.WriteUInt32(HandlerType);
        writer.WriteZeros(12); // reserved
        writer.WriteBytes(_nameWithTerminator);
    }

    public void Write(IBufferWriter<byte> output)
    {
        var writer = new BoxSpanWriter(output.GetSpan(Size));
        WriteTo(ref writer);
        output.Advance(writer.Position);
    }
}
