using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Media.Flv;

/// <summary>FLV VIDEODATA FrameType (FLV spec E.4.3.1; Enhanced RTMP keeps the values in 3 bits).</summary>
public enum FlvVideoFrameType : byte
{
    Keyframe = 1,
    InterFrame = 2,
    DisposableInterFrame = 3,
    GeneratedKeyframe = 4,
    /// <summary>Video info/command frame: no picture (a seek marker or an enhanced VideoCommand).</summary>
    Command = 5,
}

/// <summary>
/// What a video tag carries, in Enhanced RTMP's terms (legacy AVCPacketType 0/1/2 map to 0/1/2).
/// </summary>
public enum FlvVideoPacketType : byte
{
    SequenceStart = 0,
    CodedFrames = 1,
    SequenceEnd = 2,
    /// <summary>Coded frames without the SI24 composition time (it is zero).</summary>
    CodedFramesX = 3,
    Metadata = 4,
    Mpeg2TsSequenceStart = 5,
    Multitrack = 6,
    ModEx = 7,
}

/// <summary>
/// The header of an FLV/RTMP video tag body, legacy or Enhanced RTMP:
/// <code>
/// legacy (E.4.3.1):  FrameType(4) CodecID(4)   if CodecID == 7 (AVC): AVCPacketType(8) CompositionTime(SI24 ms)
/// enhanced (v1/v2):  IsExHeader(1)=1 FrameType(3) PacketType(4) FourCC(32)
///                    if PacketType == CodedFrames and FourCC is avc1/hvc1: CompositionTime(SI24 ms)
/// </code>
/// </summary>
public readonly record struct FlvVideoTagHeader(
    FlvVideoFrameType FrameType,
    bool IsExHeader,
    byte CodecId,
    uint FourCc,
    FlvVideoPacketType PacketType,
    int CompositionTimeMs) : IFlvTagBodyHeader
{
    public const byte CodecIdAvc = 7;
    public const uint FourCcAvc1 = 0x61766331; // 'avc1'
    public const uint FourCcHvc1 = 0x68766331; // 'hvc1'
    public const uint FourCcAv01 = 0x61763031; // 'av01'
    public const uint FourCcVp09 = 0x76703039; // 'vp09'

    /// <summary>How many bytes <see cref="Write"/> writes: 1 (legacy non-AVC), 5, or 8 (FourCC coded frames with a composition time).</summary>
    public int Length => IsExHeader
        ? PacketType == FlvVideoPacketType.CodedFrames && FourCc is FourCcAvc1 or FourCcHvc1 ? 8 : 5
        : CodecId == CodecIdAvc ? 5 : 1;

    /// <summary>True for FrameType 1 (keyframe); for every codec, legacy or FourCC.</summary>
    public bool IsKeyframe => FrameType == FlvVideoFrameType.Keyframe;

    /// <summary>The codec this header names, <see cref="Codec.Unknown"/> for codecs we do not carry.</summary>
    public Codec Codec => IsExHeader
        ? FourCc switch
        {
            FourCcAvc1 => Codec.H264,
            FourCcHvc1 => Codec.H265,
            FourCcAv01 => Codec.Av1,
            _ => Codec.Unknown,
        }
        : CodecId == CodecIdAvc ? Codec.H264 : Codec.Unknown;

    /// <summary>The Enhanced RTMP FourCC of a codec we carry, the inverse of <see cref="Codec"/> for FourCC headers.</summary>
    public static uint FourCcOf(Codec codec) => codec switch
    {
        Codec.H264 => FourCcAvc1,
        Codec.H265 => FourCcHvc1,
        Codec.Av1 => FourCcAv01,
        _ => throw new NotSupportedException($"{codec} video cannot be carried in RTMP."),
    };

    /// <summary>Reads the header; false only when the body is too short for the fields its first byte announces.</summary>
    public static bool TryRead(ReadOnlySpan<byte> body, out FlvVideoTagHeader header, out int consumed)
    {
        header = default;
        consumed = 0;
        if (body.IsEmpty) return false;
        byte first = body[0];
        if ((first & 0x80) != 0)
        {
            if (body.Length < 5) return false;
            var frameType = (FlvVideoFrameType)((first >> 4) & 0x07);
            var packetType = (FlvVideoPacketType)(first & 0x0F);
            uint fourCc = BinaryPrimitives.ReadUInt32BigEndian(body[1..]);
            int cts = 0;
            consumed = 5;
            if (packetType == FlvVideoPacketType.CodedFrames && fourCc is FourCcAvc1 or FourCcHvc1)
            {
                if (body.Length < 8) return false;
                cts = ReadSi24(body[5..]);
                consumed = 8;
            }
            header = new FlvVideoTagHeader(frameType, true, 0, fourCc, packetType, cts);
            return true;
        }
        var legacyFrameType = (FlvVideoFrameType)(first >> 4);
        byte codecId = (byte)(first & 0x0F);
        if (codecId != CodecIdAvc)
        {
            // Other legacy codecs (Sorenson, VP6, ...) have no further header; the caller rejects them by codec.
            header = new FlvVideoTagHeader(legacyFrameType, false, codecId, 0, FlvVideoPacketType.CodedFrames, 0);
            consumed = 1;
            return true;
        }
        if (legacyFrameType == FlvVideoFrameType.Command && body.Length < 5)
        {
            // A bare video info frame (FrameType 5) may carry only a one-byte command after the first byte.
            header = new FlvVideoTagHeader(legacyFrameType, false, codecId, 0, FlvVideoPacketType.Metadata, 0);
            consumed = body.Length;
            return true;
        }
        if (body.Length < 5) return false;
        var avcPacketType = body[1] switch
        {
            0 => FlvVideoPacketType.SequenceStart,
            1 => FlvVideoPacketType.CodedFrames,
            2 => FlvVideoPacketType.SequenceEnd,
            _ => (FlvVideoPacketType)0xFF,
        };
        if ((byte)avcPacketType == 0xFF) return false;
        header = new FlvVideoTagHeader(legacyFrameType, false, codecId, 0, avcPacketType, ReadSi24(body[2..]));
        consumed = 5;
        return true;
    }

    public void Write(IBufferWriter<byte> writer)
    {
        var span = writer.GetSpan(8);
        int length;
        if (IsExHeader)
        {
            span[0] = (byte)(0x80 | (((byte)FrameType & 0x07) << 4) | ((byte)PacketType & 0x0F));
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], FourCc);
            length = 5;
            if (PacketType == FlvVideoPacketType.CodedFrames && FourCc is FourCcAvc1 or FourCcHvc1)
            {
                WriteSi24(span[5..], CompositionTimeMs);
                length = 8;
            }
        }
        else
        {
            span[0] = (byte)(((byte)FrameType << 4) | (CodecId & 0x0F));
            length = 1;
            if (CodecId == CodecIdAvc)
            {
                span[1] = (byte)PacketType;
                WriteSi24(span[2..], CompositionTimeMs);
                length = 5;
            }
        }
        writer.Advance(length);
    }

    /// <summary>Signed 24-bit big-endian (composition time may be negative with some encoders).</summary>
    internal static int ReadSi24(ReadOnlySpan<byte> b) => ((b[0] << 24) | (b[1] << 16) | (b[2] << 8)) >> 8;

    internal static void WriteSi24(Span<byte> b, int value)
    {
        b[0] = (byte)(value >> 16);
        b[1] = (byte)(value >> 8);
        b[2] = (byte)value;
    }

    public static string FourCcToString(uint fourCc) => string.Create(4, fourCc, static (chars, v) =>
    {
        for (int i = 0; i < 4; i++)
        {
            char c = (char)((v >> (24 - (8 * i))) & 0xFF);
            chars[i] = c is >= ' ' and <= '~' ? c : '?';
        }
    });
}
