using System.Buffers;

namespace Broadcast.Media.Flv;

/// <summary>
/// Writes <see cref="MediaFrame"/>s as an FLV byte stream (what ffmpeg reads on stdin): FLV file tags around the tag bodies
/// of <see cref="FlvTagBodyWriter"/>, the same bodies an RTMP message carries. A sequence header is written before the first
/// frame of every new decoder configuration:
/// <list type="bullet">
/// <item>H.264, legacy FLV (E.4.3.1): <c>FrameType&lt;&lt;4 | 7</c>, AVCPacketType (0 = avcC, 1 = NALUs), CompositionTime SI24 ms.</item>
/// <item>HEVC, Enhanced RTMP v1: <c>0x80 | FrameType&lt;&lt;4 | PacketType</c> (0 SequenceStart, 1 CodedFrames), FourCC <c>hvc1</c>,
/// SI24 composition time for CodedFrames.</item>
/// <item>AAC (E.4.2.1): <c>0xAF</c> (AAC, 44 kHz, 16-bit, stereo: fixed by the spec for AAC), AACPacketType (0 = AudioSpecificConfig,
/// 1 = raw frame).</item>
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

    /// <summary>One video tag: header, the body <see cref="FlvTagBodyWriter"/> describes (0 = sequence start, 1 = coded frames),
    /// PreviousTagSize.</summary>
    public static void WriteVideoTag(IBufferWriter<byte> writer, Codec codec, uint ms, bool keyframe, byte packetType, int cto,
        ReadOnlySpan<byte> payload) =>
        WriteTag(writer, FlvTagType.Video, ms, FlvTagBodyWriter.VideoHeader(codec, keyframe, (FlvVideoPacketType)packetType, cto), payload);

    /// <summary>One AAC audio tag (packet type 0 = AudioSpecificConfig, 1 = raw frame).</summary>
    public static void WriteAudioTag(IBufferWriter<byte> writer, uint ms, byte packetType, ReadOnlySpan<byte> payload) =>
        WriteTag(writer, FlvTagType.Audio, ms, FlvTagBodyWriter.AudioHeader(packetType), payload);

    private static void WriteTag<THeader>(IBufferWriter<byte> writer, FlvTagType type, uint ms, THeader header, ReadOnlySpan<byte> payload)
        where THeader : struct, IFlvTagBodyHeader
    {
        int size = header.Length + payload.Length;
        FlvTag.WriteHeader(writer, type, ms, size);
        header.Write(writer);
        writer.Write(payload);
        FlvTag.WritePreviousTagSize(writer, size);
    }
}

/// <summary>The header at the start of an audio or video tag body: how long it is and how it is written.</summary>
internal interface IFlvTagBodyHeader
{
    int Length { get; }

    void Write(IBufferWriter<byte> writer);
}
