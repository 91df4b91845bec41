using System.Buffers;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// The test-only multitrack sender's bytes, checked against Enhanced RTMP v2 worked by hand (ExVideoTagHeader with
/// VideoPacketType.Multitrack, then the ExVideoTagBody's tracks); its encoding step runs ffmpeg in
/// <see cref="MultitrackRenditionEncoderTests"/>. The server's own multitrack parser is deliberately not used: the sender
/// is the independent reading of the spec that parser is tested with.
/// </summary>
public class MultitrackRtmpSenderTests
{
    private const uint Avc1 = 0x61766331;
    private const uint Hvc1 = 0x68766331;

    [Fact]
    public void ManyTracks_names_the_fourcc_once_and_sizes_every_track()
    {
        byte[] bytes = Write(MultitrackVideoLayout.ManyTracks, keyframe: true, MultitrackTrackPacketType.CodedFrames,
            new(Avc1, 0, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x65, 0x88 }),
            new(Avc1, 1, new byte[] { 0x00, 0x00, 0x21, 0x00, 0x00, 0x00, 0x01, 0x41 }));

        Assert.Equal(Convert.FromHexString(
            "96" // IsExHeader 1, FrameType 1 (keyframe), VideoPacketType 6 (Multitrack)
            + "11" // AvMultitrackType 1 (ManyTracks), the tracks' VideoPacketType 1 (CodedFrames)
            + "61766331" // 'avc1' for every track
            + "00" + "000009" + "000000" + "00000002" + "6588" // trackId 0, sizeOfVideoTrack 9, SI24 0, one NAL unit
            + "01" + "000008" + "000021" + "00000001" + "41"), // trackId 1, size 8, SI24 33 ms
            bytes);
    }

    [Fact]
    public void OneTrack_has_no_track_size_and_takes_the_frame_type_of_its_track()
    {
        byte[] bytes = Write(MultitrackVideoLayout.OneTrack, keyframe: false, MultitrackTrackPacketType.CodedFrames,
            new MultitrackVideoTrackBody(Avc1, 2, new byte[] { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x41 }));

        // 0xA6: IsExHeader, FrameType 2 (inter), Multitrack; 0x01: OneTrack, CodedFrames; then 'avc1', trackId 2 and the body.
        Assert.Equal(Convert.FromHexString("A6" + "01" + "61766331" + "02" + "000000" + "00000001" + "41"), bytes);
    }

    [Fact]
    public void ManyTracksManyCodecs_names_a_fourcc_before_every_track()
    {
        byte[] bytes = Write(MultitrackVideoLayout.ManyTracksManyCodecs, keyframe: true, MultitrackTrackPacketType.SequenceStart,
            new(Hvc1, 0, new byte[] { 0xAA, 0xBB, 0xCC }),
            new(Avc1, 1, new byte[] { 0xDD, 0xEE }));

        Assert.Equal(Convert.FromHexString(
            "96" + "20" // keyframe Multitrack; AvMultitrackType 2 (ManyTracksManyCodecs), SequenceStart 0; no shared FourCC
            + "68766331" + "00" + "000003" + "AABBCC" // 'hvc1', trackId 0, size 3, its configuration record
            + "61766331" + "01" + "000002" + "DDEE"), // 'avc1', trackId 1, size 2
            bytes);
    }

    [Fact]
    public void CodedFramesX_is_written_in_the_packet_type_nibble()
    {
        byte[] bytes = Write(MultitrackVideoLayout.ManyTracks, keyframe: false, MultitrackTrackPacketType.CodedFramesX,
            new MultitrackVideoTrackBody(Avc1, 0, new byte[] { 0x00, 0x00, 0x00, 0x01, 0x41 }));

        Assert.Equal(Convert.FromHexString("A6" + "13" + "61766331" + "00" + "000005" + "0000000141"), bytes);
    }

    [Fact]
    public void Layouts_refuse_what_they_cannot_express()
    {
        Assert.Throws<ArgumentException>(() => Write(MultitrackVideoLayout.ManyTracks, true, MultitrackTrackPacketType.SequenceStart,
            new(Hvc1, 0, new byte[] { 1 }), new(Avc1, 1, new byte[] { 2 })));
        Assert.Throws<ArgumentException>(() => Write(MultitrackVideoLayout.OneTrack, true, MultitrackTrackPacketType.SequenceStart,
            new(Avc1, 0, new byte[] { 1 }), new(Avc1, 1, new byte[] { 2 })));
        Assert.Throws<ArgumentException>(() => Write(MultitrackVideoLayout.ManyTracks, true, MultitrackTrackPacketType.SequenceStart));
    }

    [Fact]
    public void Schedule_sends_sequence_starts_first_and_splits_a_timestamp_whose_keyframes_disagree()
    {
        static MultitrackEncodedTrack Track(byte id, params bool[] keyframes) => new(id, Avc1, 64, 36, [0x01, 0x64, id],
            keyframes.Select((key, n) => new MultitrackEncodedFrame((uint)(n * 33), key, 0, new byte[] { 0, 0, 0, 1, id })).ToArray());
        var encoding = new MultitrackEncoding(
            [Track(0, true, false, true), Track(1, true, false, false)],
            [new MultitrackAudioMessage(0, [0xAF, 0x00, 0x11, 0x90]), new MultitrackAudioMessage(40, [0xAF, 0x01, 0x21])]);

        var schedule = TestOnlyMultitrackRtmpSender.BuildSchedule(encoding, new MultitrackRenditions());

        Assert.Equal(
            [
                (true, 0u, "96 10"), // one ManyTracks SequenceStart for both tracks
                (false, 0u, "AF 00"),
                (true, 0u, "96 11"), // frame 0: keyframes everywhere, one message
                (true, 33u, "A6 11"), // frame 1: inter everywhere
                (false, 40u, "AF 01"),
                (true, 66u, "96 01"), // frame 2: track 0 a keyframe, track 1 not: a OneTrack message each, own frame type
                (true, 66u, "A6 01"),
            ],
            schedule.Select(m => (m.IsVideo, m.TimestampMs, $"{m.Body[0]:X2} {m.Body[1]:X2}")).ToArray());
        // The decoder configurations (the video sequence start and the AAC AudioSpecificConfig) are marked: a looping
        // sender sends them once.
        Assert.Equal([true, true, false, false, false, false, false], schedule.Select(m => m.IsSequenceStart).ToArray());
        // The OneTrack messages name their own track: 'avc1', then trackId 0 and 1.
        Assert.Equal(0, schedule[5].Body[6]);
        Assert.Equal(1, schedule[6].Body[6]);

        // As OBS sends them: one message per track, track 0 a plain enhanced tag (its packet type, then 'avc1' and the body).
        var obs = TestOnlyMultitrackRtmpSender.BuildSchedule(encoding,
            new MultitrackRenditions { Layout = MultitrackVideoLayout.OneTrack, DefaultTrackAsPlainTag = true });
        Assert.Equal(
            ["90 61", "96 00", "91 61", "96 01", "A1 61", "A6 01", "91 61", "A6 01"],
            obs.Where(m => m.IsVideo).Select(m => $"{m.Body[0]:X2} {m.Body[1]:X2}").ToArray());
        Assert.Equal([0, 0, 0, 0, 0, 0, 1, 0], obs[3].Body[5..13]); // the plain tag's SI24 composition time, then the NAL unit
    }

    [Fact]
    public void A_second_audio_track_sends_both_tracks_as_multitrack_audio_sequence_starts_first()
    {
        var video = new MultitrackEncodedTrack(0, Avc1, 64, 36, [0x01, 0x64, 0x00],
            [new MultitrackEncodedFrame(0, true, 0, new byte[] { 0, 0, 0, 1, 0x65 })]);
        var encoding = new MultitrackEncoding([video],
            [new MultitrackAudioMessage(0, [0xAF, 0x00, 0x11, 0x90]), new MultitrackAudioMessage(21, [0xAF, 0x01, 0x21, 0x22])])
        {
            SecondAudio = [new MultitrackAudioMessage(0, [0xAF, 0x00, 0x11, 0x91]), new MultitrackAudioMessage(21, [0xAF, 0x01, 0x31])],
        };
        string Hex(MultitrackScheduledMessage m) => Convert.ToHexString(m.Body);

        var many = TestOnlyMultitrackRtmpSender.BuildSchedule(encoding, new MultitrackRenditions { SecondAudioToneHz = 660 })
            .Where(m => !m.IsVideo).ToArray();
        Assert.Equal(
            [
                // 0x95: SoundFormat 9 (ExHeader), AudioPacketType 5 (Multitrack); 0x10: ManyTracks, SequenceStart; 'mp4a';
                // then per track its id, its UI24 size and its AudioSpecificConfig.
                "95" + "10" + "6D703461" + "00" + "000002" + "1190" + "01" + "000002" + "1191",
                "95" + "11" + "6D703461" + "00" + "000002" + "2122" + "01" + "000001" + "31", // CodedFrames at one timestamp
            ],
            many.Select(Hex).ToArray());
        Assert.Equal([0u, 21u], many.Select(m => m.TimestampMs).ToArray());

        var one = TestOnlyMultitrackRtmpSender.BuildSchedule(encoding,
            new MultitrackRenditions { SecondAudioToneHz = 660, AudioLayout = MultitrackVideoLayout.OneTrack }).Where(m => !m.IsVideo);
        // OneTrack: no track size; both sequence starts before either track's frames.
        Assert.Equal(["95006D703461001190", "95006D703461011191", "95016D703461002122", "95016D7034610131"], one.Select(Hex).ToArray());
    }

    private static byte[] Write(MultitrackVideoLayout layout, bool keyframe, MultitrackTrackPacketType packetType,
        params MultitrackVideoTrackBody[] tracks)
    {
        var buffer = new ArrayBufferWriter<byte>();
        TestOnlyMultitrackRtmpSender.WriteMultitrackVideoBody(buffer, layout, keyframe, packetType, tracks);
        return buffer.WrittenSpan.ToArray();
    }
}
