using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.Media.Flv;

/// <summary>
/// Writes Enhanced RTMP v2 multitrack message bodies of one track each (AvMultitrackType OneTrack), the mirror of
/// <see cref="FlvVideoMultitrackReader"/> and <see cref="FlvMultitrackTracks"/>: how a track other than the default one
/// travels to a server that takes multitrack. One track per message keeps each frame's own timestamp, where batching
/// tracks into one message would force them onto one.
/// <code>
/// video: IsExHeader(1)=1 FrameType(3) PacketType(4)=Multitrack | AvMultitrackType(4)=OneTrack PacketType(4) | FourCC(32)
///        TrackId(8) | [CompositionTime(SI24 ms) for avc1/hvc1 CodedFrames] data
/// audio: SoundFormat(4)=ExHeader AudioPacketType(4)=Multitrack | AvMultitrackType(4)=OneTrack PacketType(4) | FourCC(32)
///        TrackId(8) | data
/// </code>
/// H.264 goes by its FourCC (avc1), as every codec must inside a multitrack message.
/// </summary>
public static class FlvMultitrackWriter
{
    private const byte AudioPacketSequenceStart = 0;
    private const byte AudioPacketCodedFrames = 1;

    /// <summary>True when the track can travel as a multitrack track: H.264, HEVC, AV1 video or AAC audio.</summary>
    public static bool CanCarry(MediaTrack track) => FlvTagBodyWriter.CanCarry(track);

    /// <summary>Track <paramref name="trackId"/>'s sequence start: its decoder configuration record.</summary>
    public static void WriteSequenceStart(IBufferWriter<byte> writer, MediaTrack track, byte trackId)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(track);
        if (track.Kind == MediaKind.Video)
            WriteVideoHead(writer, FlvVideoFrameType.Keyframe, FlvVideoPacketType.SequenceStart, FlvVideoTagHeader.FourCcOf(track.Codec), trackId);
        else
            WriteAudioHead(writer, AudioPacketSequenceStart, trackId);
        writer.Write(track.DecoderConfig.Span);
    }

    /// <summary>One coded frame of track <paramref name="trackId"/>; a video composition offset becomes the SI24 millisecond time.</summary>
    public static void WriteFrame(IBufferWriter<byte> writer, MediaFrame frame, byte trackId)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(frame);
        var track = frame.Track;
        if (track.Kind == MediaKind.Video)
        {
            uint fourCc = FlvVideoTagHeader.FourCcOf(track.Codec);
            var frameType = frame.IsKeyframe ? FlvVideoFrameType.Keyframe : FlvVideoFrameType.InterFrame;
            WriteVideoHead(writer, frameType, FlvVideoPacketType.CodedFrames, fourCc, trackId);
            if (fourCc is FlvVideoTagHeader.FourCcAvc1 or FlvVideoTagHeader.FourCcHvc1)
            {
                var cts = writer.GetSpan(3);
                FlvVideoTagHeader.WriteSi24(cts, (int)Timescales.Rescale(frame.CompositionOffset, track.Timescale, Timescales.Milliseconds));
                writer.Advance(3);
            }
        }
        else
        {
            WriteAudioHead(writer, AudioPacketCodedFrames, trackId);
        }
        writer.Write(frame.Data.Span);
    }

    private static void WriteVideoHead(IBufferWriter<byte> writer, FlvVideoFrameType frameType, FlvVideoPacketType packetType, uint fourCc, byte trackId)
    {
        var span = writer.GetSpan(7);
        span[0] = (byte)(0x80 | (((byte)frameType & 0x07) << 4) | (byte)FlvVideoPacketType.Multitrack);
        span[1] = (byte)(((byte)FlvMultitrackType.OneTrack << 4) | ((byte)packetType & 0x0F));
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], fourCc);
        span[6] = trackId;
        writer.Advance(7);
    }

    private static void WriteAudioHead(IBufferWriter<byte> writer, byte packetType, byte trackId)
    {
        var span = writer.GetSpan(7);
        span[0] = (byte)(((byte)FlvSoundFormat.ExHeader << 4) | FlvAudioTagHeader.EnhancedPacketMultitrack);
        span[1] = (byte)(((byte)FlvMultitrackType.OneTrack << 4) | packetType);
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], FlvAudioTagHeader.FourCcMp4a);
        span[6] = trackId;
        writer.Advance(7);
    }
}
