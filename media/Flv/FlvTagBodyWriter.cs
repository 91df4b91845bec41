using System.Buffers;

namespace Broadcast.Media.Flv;

/// <summary>
/// The mirror of <see cref="FlvDemuxer"/>: writes the FLV tag bodies an RTMP audio or video message carries, from
/// tracks and <see cref="MediaFrame"/>s. <see cref="FlvMuxer"/> wraps the same bodies in FLV file tags.
/// <code>
/// H.264 (legacy, E.4.3.1): FrameType(4) CodecID=7(4) AVCPacketType(8) CompositionTime(SI24 ms) | avcC or NALUs
/// HEVC, AV1 (Enhanced RTMP): 1 FrameType(3) PacketType(4) FourCC(32) [CompositionTime(SI24) for hvc1 CodedFrames] | hvcC/av1C or data
/// AAC (E.4.2.1): 0xAF AACPacketType(8) | AudioSpecificConfig or raw frame
/// </code>
/// The header is built through <see cref="FlvVideoTagHeader"/> and <see cref="FlvAudioTagHeader"/>, the same types the demuxer reads.
/// </summary>
public static class FlvTagBodyWriter
{
    /// <summary>True when the track's codec can be carried in an RTMP message (H.264, HEVC, AV1, AAC).</summary>
    public static bool CanCarry(MediaTrack track) => track.Codec is Codec.H264 or Codec.H265 or Codec.Av1 or Codec.Aac;

    /// <summary>The sequence header of a track: its decoder configuration record as a SequenceStart / AAC packet type 0.</summary>
    public static void WriteSequenceHeader(IBufferWriter<byte> writer, MediaTrack track)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(track);
        if (track.Kind == MediaKind.Video)
            VideoHeader(track.Codec, keyframe: true, FlvVideoPacketType.SequenceStart, 0).Write(writer);
        else
            AudioHeader(FlvAudioTagHeader.AacSequenceHeader).Write(writer);
        writer.Write(track.DecoderConfig.Span);
    }

    /// <summary>One coded frame; the composition offset becomes the SI24 millisecond composition time.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, MediaFrame frame)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(frame);
        var track = frame.Track;
        if (track.Kind == MediaKind.Video)
        {
            int cto = (int)Timescales.Rescale(frame.CompositionOffset, track.Timescale, Timescales.Milliseconds);
            VideoHeader(track.Codec, frame.IsKeyframe, FlvVideoPacketType.CodedFrames, cto).Write(writer);
        }
        else
        {
            AudioHeader(FlvAudioTagHeader.AacRaw).Write(writer);
        }
        writer.Write(frame.Data.Span);
    }

    internal static FlvVideoTagHeader VideoHeader(Codec codec, bool keyframe, FlvVideoPacketType packetType, int cto)
    {
        var frameType = keyframe ? FlvVideoFrameType.Keyframe : FlvVideoFrameType.InterFrame;
        return codec switch
        {
            Codec.H264 => new FlvVideoTagHeader(frameType, false, FlvVideoTagHeader.CodecIdAvc, 0, packetType, cto),
            Codec.H265 => new FlvVideoTagHeader(frameType, true, 0, FlvVideoTagHeader.FourCcHvc1, packetType, cto),
            Codec.Av1 => new FlvVideoTagHeader(frameType, true, 0, FlvVideoTagHeader.FourCcAv01, packetType, 0),
            _ => throw new NotSupportedException($"{codec} video cannot be carried in RTMP."),
        };
    }

    // AAC: SoundRate 3 (44 kHz), 16-bit, stereo — fixed by the spec for AAC; the AudioSpecificConfig is authoritative.
    internal static FlvAudioTagHeader AudioHeader(byte packetType) => new(FlvSoundFormat.Aac, 3, true, true, packetType);
}
