using System.Buffers;
using System.Buffers.Binary;

namespace Broadcast.TestSupport;

/// <summary>One track in a multitrack audio message: its id and the bytes after its track header (an AudioSpecificConfig or an AAC frame).</summary>
public readonly record struct MultitrackAudioTrackBody(byte TrackId, ReadOnlyMemory<byte> Body);

/// <summary>
/// The sender's second audio track (<see cref="MultitrackRenditions.SecondAudioToneHz"/>): both audio tracks as Enhanced RTMP
/// v2 multitrack audio messages, written here from the specification (enhanced-rtmp-v2, ExAudioTagHeader and
/// ExAudioTagBody), not by the server's parser, for the same reason the video's are.
/// </summary>
public sealed partial class TestOnlyMultitrackRtmpSender
{
    private const byte SoundFormatExHeader = 9;
    private const byte AudioPacketTypeMultitrack = 5;
    private const uint FourCcMp4a = 0x6D703461; // 'mp4a'

    /// <summary>
    /// Audio tracks 0 and 1 as multitrack audio messages: both sequence starts go with the video's, before any coded frame
    /// (a track's frames mean nothing to a server before its AudioSpecificConfig), then the frames by timestamp. ManyTracks
    /// pairs frame n of both tracks at track 0's time: one AAC encoder with one sample rate on both tones makes frames of one
    /// length from one start, so frame n of each covers the same samples.
    /// </summary>
    private static void AddMultitrackAudio(MultitrackEncoding encoding, MultitrackVideoLayout layout, ArrayBufferWriter<byte> buffer,
        List<MultitrackScheduledMessage> sequenceStarts, List<MultitrackScheduledMessage> media)
    {
        var (config0, frames0) = SplitAac(encoding.Audio, 0);
        var (config1, frames1) = SplitAac(encoding.SecondAudio, 1);
        if (layout == MultitrackVideoLayout.OneTrack)
        {
            sequenceStarts.Add(Audio(config0.TimestampMs, MultitrackTrackPacketType.SequenceStart, [new(0, config0.Payload)]));
            sequenceStarts.Add(Audio(config1.TimestampMs, MultitrackTrackPacketType.SequenceStart, [new(1, config1.Payload)]));
            media.AddRange(frames0.Select(f => Audio(f.TimestampMs, MultitrackTrackPacketType.CodedFrames, [new(0, f.Payload)])));
            media.AddRange(frames1.Select(f => Audio(f.TimestampMs, MultitrackTrackPacketType.CodedFrames, [new(1, f.Payload)])));
            return;
        }
        sequenceStarts.Add(Audio(config0.TimestampMs, MultitrackTrackPacketType.SequenceStart,
            [new(0, config0.Payload), new(1, config1.Payload)]));
        for (int n = 0; n < Math.Min(frames0.Count, frames1.Count); n++)
        {
            media.Add(Audio(frames0[n].TimestampMs, MultitrackTrackPacketType.CodedFrames,
                [new(0, frames0[n].Payload), new(1, frames1[n].Payload)]));
        }

        MultitrackScheduledMessage Audio(uint timestamp, MultitrackTrackPacketType packetType, IReadOnlyList<MultitrackAudioTrackBody> bodies)
        {
            buffer.ResetWrittenCount();
            WriteMultitrackAudioBody(buffer, layout, (byte)packetType, bodies);
            return new MultitrackScheduledMessage(false, timestamp, buffer.WrittenSpan.ToArray());
        }
    }

    /// <summary>
    /// The AudioSpecificConfig and the raw frames of the legacy AAC tags ffmpeg wrote (byte 0 SoundFormat 10 and the rest,
    /// byte 1 AACPacketType 0 or 1, then the payload), which the multitrack messages carry without those two bytes.
    /// </summary>
    private static ((uint TimestampMs, byte[] Payload) Config, List<(uint TimestampMs, byte[] Payload)> Frames) SplitAac(
        IReadOnlyList<MultitrackAudioMessage> tags, int track)
    {
        const int SoundFormatAac = 10;
        (uint, byte[])? config = null;
        var frames = new List<(uint TimestampMs, byte[] Payload)>();
        foreach (var tag in tags)
        {
            if (tag.Body.Length < 2 || tag.Body[0] >> 4 != SoundFormatAac)
                throw new InvalidOperationException($"Audio track {track}: a tag at {tag.TimestampMs} ms is not a legacy AAC tag.");
            if (tag.Body[1] == 0) config ??= (tag.TimestampMs, tag.Body[2..]);
            else if (tag.Body[1] == 1 && config is not null) frames.Add((tag.TimestampMs, tag.Body[2..]));
        }
        if (config is null || frames.Count == 0)
            throw new InvalidOperationException($"Audio track {track}: ffmpeg wrote no AAC sequence header or no frames.");
        return (config.Value, frames);
    }

    /// <summary>
    /// Writes one Enhanced RTMP v2 multitrack audio message body (ExAudioTagHeader with AudioPacketType.Multitrack, then the
    /// ExAudioTagBody's tracks), AAC only:
    /// <code>
    /// SoundFormat(4)=ExHeader(9) AudioPacketType(4)=Multitrack(5)
    /// AvMultitrackType(4) AudioPacketType(4)              the tracks' packet type: SequenceStart(0) or CodedFrames(1)
    /// FourCC(32)='mp4a'                                   one codec for every track (no ManyTracksManyCodecs)
    /// per track: trackId(8)
    ///            [sizeOfAudioTrack(UI24)]                 unless OneTrack: the bytes of the track body that follows
    ///            track body                               the AudioSpecificConfig or the raw AAC frame
    /// </code>
    /// </summary>
    public static void WriteMultitrackAudioBody(IBufferWriter<byte> output, MultitrackVideoLayout layout, byte packetType,
        IReadOnlyList<MultitrackAudioTrackBody> tracks)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tracks);
        if (layout is not (MultitrackVideoLayout.OneTrack or MultitrackVideoLayout.ManyTracks))
            throw new ArgumentException("Multitrack AAC audio is OneTrack or ManyTracks.", nameof(layout));
        if (tracks.Count == 0 || (layout == MultitrackVideoLayout.OneTrack && tracks.Count != 1))
            throw new ArgumentException("A OneTrack message carries exactly one track, ManyTracks at least one.", nameof(tracks));
        var header = output.GetSpan(6);
        header[0] = SoundFormatExHeader << 4 | AudioPacketTypeMultitrack;
        header[1] = (byte)((byte)layout << 4 | (packetType & 0x0F));
        BinaryPrimitives.WriteUInt32BigEndian(header[2..], FourCcMp4a);
        output.Advance(6);
        foreach (var track in tracks)
        {
            var trackHeader = output.GetSpan(4);
            trackHeader[0] = track.TrackId;
            int length = 1, size = track.Body.Length;
            if (layout == MultitrackVideoLayout.ManyTracks)
            {
                if (size > MaxTrackBodyLength) throw new ArgumentException($"Audio track {track.TrackId} is {size} bytes.", nameof(tracks));
                trackHeader[length++] = (byte)(size >> 16);
                trackHeader[length++] = (byte)(size >> 8);
                trackHeader[length++] = (byte)size;
            }
            output.Advance(length);
            output.Write(track.Body.Span);
        }
    }
}
