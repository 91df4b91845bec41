using System.Buffers;
using System.Buffers.Binary;
using Broadcast.Media;

namespace Broadcast.Transcoder.Flv;

/// <summary>
/// Writes <see cref="MediaFrame"/>s as an FLV byte stream (what ffmpeg reads on stdin). A sequence header is written
/// before the first frame of every new decoder configuration:
/// <list type="bullet">
/// <item>H.264, legacy FLV (E.4.3.1): <c>FrameType&lt;&lt;4 | 7</c>, AVCPacketType (0 = avcC, 1 = NALUs), CompositionTime SI24 ms.</item>
/// <item>HEVC, Enhanced RTMP v1: <c>0x80 | FrameType&lt;&lt;4 | PacketType</c> (0 SequenceStart, 1 CodedFrames), FourCC <c>hvc1</c>, SI24 composition time for CodedFrames.</item>
/// <item>AAC (E.4.2.1): <c>0xAF</c> (AAC, 44 kHz, 16-bit, stereo: fixed by the spec for AAC), AACPacketType (0 = AudioSpecificConfig, 1 = raw frame).</item>
/// </list>
/// Timestamps are the frames' decode times in milliseconds (rounded), so ffmpeg with <c>-copyts</c> hands the same times back.
/// </summary>
public sealed class FlvMuxer
{
    private MediaTrack? _video;
    private MediaTrack? _audio;

    /// <summary>True when the frame's codec can be carried (H.264, HEVC, AAC).</summary>
    public static bool CanCarry(MediaTrack track) => track.Codec is Codec.H264 or Codec.H265 or Codec.Aac;

    public static void WriteHeader(IBufferWriter<byte> writer, bool hasAudio, bool hasVideo) =>
        new FlvFileHeader(hasAudio, hasVideo).Write(writer);

    /// <summary>Writes the frame (and a sequence header first when its configuration is new). False when its codec cannot be carried.</summary>
    public bool Write(IBufferWriter<byte> writer, MediaFrame frame)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(frame);
        var track = frame.Track;
        if (!CanCarry(track)) return false;
        uint ms = (uint)Timescales.Rescale(frame.Dts, track.Timescale, Timescales.Milliseconds);
        if (track.Kind == MediaKind.Video)
        {
            if (!ReferenceEquals(track, _video) && !track.HasSameConfig(_video))
                WriteVideoTag(writer, track.Codec, ms, keyframe: true, packetType: 0, cto: 0, track.DecoderConfig.Span);
            _video = track;
            int cto = (int)Timescales.Rescale(frame.CompositionOffset, track.Timescale, Timescales.Milliseconds);
            WriteVideoTag(writer, track.Codec, ms, frame.IsKeyframe, packetType: 1, cto, frame.Data.Span);
        }
        else
        {
            if (!ReferenceEquals(track, _audio) && !track.HasSameConfig(_audio))
                WriteAudioTag(writer, ms, packetType: 0, track.DecoderConfig.Span);
            _audio = track;
            WriteAudioTag(writer, ms, packetType: 1, frame.Data.Span);
        }
        return true;
    }

    /// <summary>Forgets the configurations written, so the next frames repeat their sequence headers (a new output).</summary>
    public void Reset()
    {
        _video = null;
        _audio = null;
    }

    public static void WriteVideoTag(IBufferWriter<byte> writer, Codec codec, uint ms, bool keyframe, byte packetType, int cto, ReadOnlySpan<byte> payload)
    {
        int frameType = keyframe ? 1 : 2;
        bool hevc = codec == Codec.H265;
        int headerSize = hevc ? (packetType == 1 ? 8 : 5) : 5;
        int size = headerSize + payload.Length;
        FlvTag.WriteHeader(writer, FlvTagType.Video, ms, size);
        var span = writer.GetSpan(headerSize);
        if (hevc)
        {
            span[0] = (byte)(0x80 | (frameType << 4) | packetType);
            "hvc1"u8.CopyTo(span[1..]);
            if (packetType == 1) WriteSi24(span[5..], cto);
        }
        else
        {
            span[0] = (byte)((frameType << 4) | 7);
            span[1] = packetType;
            WriteSi24(span[2..], cto);
        }
        writer.Advance(headerSize);
        writer.Write(payload);
        FlvTag.WritePreviousTagSize(writer, size);
    }

    public static void WriteAudioTag(IBufferWriter<byte> writer, uint ms, byte packetType, ReadOnlySpan<byte> payload)
    {
        int size = 2 + payload.Length;
        FlvTag.WriteHeader(writer, FlvTagType.Audio, ms, size);
        var span = writer.GetSpan(2);
        span[0] = 0xAF;
        span[1] = packetType;
        writer.Advance(2);
        writer.Write(payload);
        FlvTag.WritePreviousTagSize(writer, size);
    }

    private static void WriteSi24(Span<byte> span, int value)
    {
        span[0] = (byte)(value >> 16);
        span[1] = (byte)(value >> 8);
        span[2] = (byte)value;
    }

    internal static int ReadSi24(ReadOnlySpan<byte> span)
    {
        int v = (span[0] << 16) | (span[1] << 8) | span[2];
        return (v << 8) >> 8; // sign-extend 24 bits
    }

    internal static uint ReadU32(ReadOnlySpan<byte> span) => BinaryPrimitives.ReadUInt32BigEndian(span);
}
