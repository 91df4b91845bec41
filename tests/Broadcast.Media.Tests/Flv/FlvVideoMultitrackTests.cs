using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// Enhanced RTMP v2 multitrack video (enhanced-rtmp-v2, ExVideoTagHeader/ExVideoTagBody): the reader on hand-built
/// messages of the three multitrack types, the demuxer putting each extra track on a rung hub of its own, and the
/// refusals (malformed bodies, a late or surplus track, keyframes that are not aligned, a codec change mid-track).
/// </summary>
public class FlvVideoMultitrackTests
{
    private static readonly byte[] Avc1 = "avc1"u8.ToArray();
    private static readonly byte[] Hvc1 = "hvc1"u8.ToArray();

    private static byte[] Size(int n) => [(byte)(n >> 16), (byte)(n >> 8), (byte)n];

    /// <summary>A ManyTracks message of one packet type: every track's data after its id and size.</summary>
    internal static byte[] ManyTracks(byte frameType, byte packetType, params (byte Id, byte[] Data)[] tracks)
    {
        List<byte> body = [(byte)(0x80 | (frameType << 4) | 6), (byte)((1 << 4) | packetType), .. Avc1];
        foreach (var (id, data) in tracks) body.AddRange([id, .. Size(data.Length), .. data]);
        return [.. body];
    }

    /// <summary>A OneTrack message: the track's id then its data to the end.</summary>
    internal static byte[] OneTrack(byte frameType, byte packetType, byte id, byte[] data) =>
        [(byte)(0x80 | (frameType << 4) | 6), packetType, .. Avc1, id, .. data];

    private static byte[] Coded(int ctsMs) => [.. Size(ctsMs), .. FlvDemuxerTests.OneNal];

    [Fact]
    public void Reads_every_track_of_a_many_tracks_message()
    {
        byte[] body = ManyTracks(1, 1, (0, Coded(0x42)), (1, Coded(0)), (2, Coded(0)));
        Assert.True(FlvVideoMultitrackReader.IsMultitrack(body));
        Assert.True(FlvVideoMultitrackReader.TryCreate(body, out var reader, out var error), error);
        Assert.Equal(FlvMultitrackType.ManyTracks, reader.Type);
        var ids = new List<int>();
        while (reader.TryReadNext(out var packet, out error))
        {
            ids.Add(packet.TrackId);
            Assert.Equal(FlvVideoPacketType.CodedFrames, packet.Header.PacketType);
            Assert.Equal(FlvVideoFrameType.Keyframe, packet.Header.FrameType);
            Assert.Equal(Codec.H264, packet.Header.Codec);
            Assert.Equal(packet.TrackId == 0 ? 0x42 : 0, packet.Header.CompositionTimeMs);
            Assert.Equal(FlvDemuxerTests.OneNal, packet.Payload.ToArray());
        }
        Assert.Null(error);
        Assert.Equal([0, 1, 2], ids);
    }

    [Fact]
    public void Reads_a_one_track_message_and_a_many_codecs_one()
    {
        Assert.True(FlvVideoMultitrackReader.TryCreate(OneTrack(2, 3, 4, FlvDemuxerTests.OneNal), out var one, out var error), error);
        Assert.True(one.TryReadNext(out var packet, out error), error);
        Assert.Equal(4, packet.TrackId);
        Assert.Equal(FlvVideoPacketType.CodedFramesX, packet.Header.PacketType);
        Assert.Equal(FlvDemuxerTests.OneNal, packet.Payload.ToArray());
        Assert.False(one.TryReadNext(out _, out error));
        Assert.Null(error);

        // ManyTracksManyCodecs: each track names its FourCC; an HEVC top rung beside an AVC one.
        byte[] many = [0x90 | 6, (2 << 4) | 0, .. Hvc1, 0, .. Size(2), 0xAA, 0xBB, .. Avc1, 1, .. Size(1), 0xCC];
        Assert.True(FlvVideoMultitrackReader.TryCreate(many, out var reader, out error), error);
        Assert.True(reader.TryReadNext(out var first, out error), error);
        Assert.Equal(Codec.H265, first.Header.Codec);
        Assert.Equal([0xAA, 0xBB], first.Payload.ToArray());
        Assert.True(reader.TryReadNext(out var second, out error), error);
        Assert.Equal(Codec.H264, second.Header.Codec);
        Assert.Equal(1, second.TrackId);
        Assert.Equal(FlvVideoPacketType.SequenceStart, second.Header.PacketType);
        Assert.False(reader.TryReadNext(out _, out error));
        Assert.Null(error);
    }

    // (name, body, expected error fragment): multitrack bodies the reader refuses, through the demuxer.
    public static TheoryData<string, byte[], string> BadMultitrack => new()
    {
        { "no multitrack type byte", [0x96], "without its multitrack type" },
        { "reserved multitrack type", [0x96, 0x31, .. Avc1, 0, 0, 0, 0], "reserved multitrack type 3" },
        { "nested multitrack", [0x96, 0x16, .. Avc1, 0, 0, 0, 0], "video packet type 6 inside a multitrack message" },
        { "ModEx inside", [0x96, 0x17, .. Avc1, 0, 0, 0, 0], "video packet type 7 inside a multitrack message" },
        { "truncated FourCC", [0x96, 0x11, 0x61, 0x76], "truncated in its FourCC" },
        { "no track", [0x96, 0x01, .. Avc1], "without a track" },
        { "track size past the body", [0x96, 0x11, .. Avc1, 1, 0, 0, 9, 0, 0], "says 9 bytes but 2 are left" },
        { "truncated size", [0x96, 0x11, .. Avc1, 1, 0], "truncated in its size" },
        { "truncated composition time", [0x96, 0x11, .. Avc1, 1, 0, 0, 2, 0, 0], "truncated in its composition time" },
        { "many codecs truncated FourCC", [0x96, 0x21, 0x68, 0x76], "truncated in its FourCC" },
        { "many codecs without a track id", [0x96, 0x21, .. Hvc1], "truncated before its id" },
        { "extra track before its sequence header", [0x96, 0x11, .. Avc1, 1, 0, 0, 9, 0, 0, 0, .. FlvDemuxerTests.OneNal], "video track 1: H264 frame before its sequence header" },
        { "extra track with an unknown codec", [0x96, 0x00, 0x76, 0x70, 0x30, 0x39, 1, 0x01], "video track 1: unsupported codec" },
    };

    [Theory]
    [MemberData(nameof(BadMultitrack))]
    public void Refuses_malformed_multitrack_with_a_reason(string name, byte[] body, string expected)
    {
        var stream = new LiveStream("test");
        var reader = stream.OpenReader("test");
        var demuxer = new FlvDemuxer(stream, maxVideoTracks: 4);
        Assert.False(demuxer.TryWriteVideo(0, body, out var error), name);
        Assert.Contains(expected, error);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void A_demuxer_that_takes_one_track_refuses_multitrack()
    {
        var demuxer = new FlvDemuxer(new LiveStream("test"));
        Assert.False(demuxer.TryWriteVideo(0, ManyTracks(1, 0, (0, FlvDemuxerTests.HighAvcC)), out var error));
        Assert.Contains("Rtmp:MaxVideoTracks is 1", error);
    }

    private static (LiveStream Stream, FlvDemuxer Demuxer, List<(int Track, string Reason)> Refused) Ladder(int tracks, int max = 6)
    {
        var stream = new LiveStream("ladder");
        var demuxer = new FlvDemuxer(stream, max);
        var refused = new List<(int, string)>();
        demuxer.TrackRefused += (t, r) => refused.Add((int.Parse(t["video track ".Length..], System.Globalization.CultureInfo.InvariantCulture), r));
        var sequence = Enumerable.Range(0, tracks).Select(t => ((byte)t, FlvDemuxerTests.HighAvcC)).ToArray();
        Assert.True(demuxer.TryWriteVideo(0, ManyTracks(1, 0, sequence), out var error), error);
        return (stream, demuxer, refused);
    }

    private static byte[] Frames(bool keyframe, int tracks) =>
        ManyTracks(keyframe ? (byte)1 : (byte)2, 1, Enumerable.Range(0, tracks).Select(t => ((byte)t, Coded(0))).ToArray());

    [Fact]
    public void Each_extra_track_is_a_rung_hub_with_the_broadcast_timeline()
    {
        var (stream, demuxer, refused) = Ladder(3);
        var rungs = stream.EncoderRungs;
        Assert.Equal([1, 2], rungs.Select(r => r.Key));
        Assert.Equal("ladder/track1", rungs[0].Value.Name);
        var rungReader = rungs[1].Value.OpenReader("test");
        var sourceReader = stream.OpenReader("test");
        Assert.True(demuxer.TryWriteVideo(1000, Frames(true, 3), out var error), error);
        Assert.True(demuxer.TryWriteVideo(1033, Frames(false, 3), out error), error);

        Assert.Equal(Codec.H264, rungs[1].Value.Video!.Codec);
        Assert.True(rungReader.TryRead(out var first));
        Assert.True(first!.IsKeyframe);
        Assert.Equal(90_000, first.Dts);
        Assert.True(rungReader.TryRead(out var second));
        Assert.Equal(92_970, second!.Dts);
        Assert.True(sourceReader.TryRead(out var sourceFirst));
        Assert.Equal(90_000, sourceFirst!.Dts);
        Assert.Equal(2, stream.Statistics.VideoFrames);
        Assert.Empty(refused);

        // The ladder is taken at the start of the broadcast: a track that starts later is dropped, the others go on.
        Assert.Equal(2, stream.TakeEncoderLadder().Count);
        Assert.True(demuxer.TryWriteVideo(1066, OneTrack(0, 0, 3, FlvDemuxerTests.HighAvcC), out error), error);
        Assert.True(demuxer.TryWriteVideo(1066, OneTrack(2, 1, 3, Coded(0)), out error), error);
        Assert.Equal(3, Assert.Single(refused).Track);
        Assert.Contains("after the ladder was set", refused[0].Reason);
        Assert.Equal(2, stream.EncoderRungs.Count);

        // The broadcast's end ends every rung.
        stream.Complete();
        Assert.True(rungs.All(r => r.Value.IsCompleted));
    }

    [Fact]
    public void Tracks_over_the_cap_are_dropped_and_the_others_go_on()
    {
        var (stream, demuxer, refused) = Ladder(4, max: 3);
        Assert.Equal(2, stream.EncoderRungs.Count);
        Assert.Equal(3, Assert.Single(refused).Track);
        Assert.Contains("more than 3 video tracks", refused[0].Reason);
        Assert.True(demuxer.TryWriteVideo(1000, Frames(true, 4), out var error), error);
    }

    [Fact]
    public void A_track_that_stops_is_retired_and_the_others_go_on()
    {
        var (stream, demuxer, refused) = Ladder(3);
        Assert.True(demuxer.TryWriteVideo(0, Frames(true, 3), out var error), error);
        // Track 2 stops; tracks 0 and 1 go on, one keyframe every 2 s.
        for (int ms = 2000; ms <= 10_000; ms += 2000)
            Assert.True(demuxer.TryWriteVideo(ms, Frames(true, 2), out error), error);
        Assert.False(stream.EncoderRungs[1].Value.IsCompleted);
        Assert.Empty(refused);
        Assert.True(demuxer.TryWriteVideo(10_033, Frames(false, 2), out error), error);
        Assert.True(stream.EncoderRungs[1].Value.IsCompleted);
        Assert.False(stream.EncoderRungs[0].Value.IsCompleted);
        Assert.Equal(2, Assert.Single(refused).Track);
        Assert.Contains("it stopped: nothing for 10.0 s while track 0 went on", refused[0].Reason);
        // A late frame of the retired track is dropped, not a reason to close the publish.
        Assert.True(demuxer.TryWriteVideo(10_066, Frames(false, 3), out error), error);
    }

    [Fact]
    public void Keyframes_that_are_not_aligned_refuse_the_publish()
    {
        var (_, demuxer, _) = Ladder(2);
        Assert.True(demuxer.TryWriteVideo(0, Frames(true, 2), out var error), error);
        // One message per track (OneTrack), as an encoder that sends each rung on its own: track 1 has a keyframe at 2 s, track 0 none.
        Assert.True(demuxer.TryWriteVideo(2000, OneTrack(2, 1, 0, Coded(0)), out error), error);
        Assert.False(demuxer.TryWriteVideo(2000, OneTrack(1, 1, 1, Coded(0)), out error));
        Assert.Contains("keyframes of video tracks 0 and 1 are not aligned: at 2.000 s track 1 has a keyframe and track 0 none", error);
    }

    private static readonly byte[] Mp4a = "mp4a"u8.ToArray();

    [Fact]
    public void Enhanced_aac_audio_and_multitrack_audio_give_track_0_and_drop_the_others_once()
    {
        var stream = new LiveStream("audio");
        var reader = stream.OpenReader("test");
        var demuxer = new FlvDemuxer(stream, maxVideoTracks: 4);
        var dropped = new List<string>();
        demuxer.TrackRefused += (track, reason) => dropped.Add($"{track}: {reason}");
        // A single-track enhanced sequence start ('mp4a', packet type 0), then OneTrack multitrack frames of tracks 0 and 1,
        // as OBS sends its audio tracks.
        Assert.True(demuxer.TryWriteAudio(0, [0x90, .. Mp4a, .. FlvDemuxerTests.AacLc48kStereo], out var error), error);
        Assert.Equal(48000, stream.Audio!.SampleRate);
        Assert.True(demuxer.TryWriteAudio(0, [0x95, 0x00, .. Mp4a, 1, .. FlvDemuxerTests.AacLc48kStereo], out error), error);
        Assert.True(demuxer.TryWriteAudio(21, [0x95, 0x01, .. Mp4a, 0, 0x21, 0x10, 0x04], out error), error);
        Assert.True(demuxer.TryWriteAudio(21, [0x95, 0x01, .. Mp4a, 1, 0x21, 0x10, 0x04], out error), error);
        // ManyTracks: both tracks in one message, each with its size.
        Assert.True(demuxer.TryWriteAudio(42, [0x95, 0x11, .. Mp4a, 0, .. Size(2), 0x21, 0x10, 1, .. Size(2), 0x21, 0x10], out error), error);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(1008, first!.Dts);
        Assert.True(reader.TryRead(out var second));
        Assert.Equal(2016, second!.Dts);
        Assert.False(reader.TryRead(out _));
        Assert.Equal("audio track 1: only audio track 0 is taken here (Rtmp:MaxAudioTracks is 1)", Assert.Single(dropped));
    }

    /// <summary>
    /// With alternate audio allowed, each audio track past 0 goes to a hub of its own with its own AudioSpecificConfig
    /// (here mono 44.1 kHz beside the stereo 48 kHz default), placed on the broadcast's timeline; a track over the cap is
    /// dropped once, and a frame before its track's sequence start is refused with the track named.
    /// </summary>
    [Fact]
    public void Multitrack_audio_past_track_0_becomes_alternate_audio_up_to_the_cap()
    {
        var stream = new LiveStream("audio");
        var reader = stream.OpenReader("test");
        var demuxer = new FlvDemuxer(stream, maxVideoTracks: 4, maxAudioTracks: 2);
        var dropped = new List<string>();
        demuxer.TrackRefused += (track, reason) => dropped.Add($"{track}: {reason}");
        byte[] mono44k = [0x12, 0x08];
        // ManyTracks sequence starts for tracks 0, 1 and 2, then ManyTracks frames of all three.
        Assert.True(demuxer.TryWriteAudio(0, [0x95, 0x10, .. Mp4a, 0, .. Size(2), .. FlvDemuxerTests.AacLc48kStereo, 1, .. Size(2), .. mono44k,
            2, .. Size(2), .. mono44k], out var error), error);
        var alternate = Assert.Single(stream.AlternateAudioTracks);
        Assert.Equal(1, alternate.TrackId);
        Assert.Equal(AudioLabel.Unlabelled, alternate.Label);
        Assert.Equal(44100, alternate.Hub.Audio!.SampleRate);
        Assert.Equal(1, alternate.Hub.Audio.Channels);
        Assert.Equal("audio track 2: more than 2 audio tracks", Assert.Single(dropped));
        var alternateReader = alternate.Hub.OpenReader("test");
        Assert.True(demuxer.TryWriteAudio(21, [0x95, 0x11, .. Mp4a, 0, .. Size(2), 0x21, 0x10, 1, .. Size(3), 0x21, 0x10, 0x04, 2, .. Size(1), 0x21],
            out error), error);
        Assert.True(reader.TryRead(out var main));
        Assert.Equal(1008, main!.Dts);
        Assert.True(alternateReader.TryRead(out var frame));
        Assert.Equal(926, frame!.Dts); // 21 ms at 44.1 kHz
        Assert.Equal(3, frame.Length);
        Assert.False(alternateReader.TryRead(out _));

        var early = new FlvDemuxer(new LiveStream("early"), maxAudioTracks: 2);
        Assert.True(early.TryWriteAudio(0, [0x90, .. Mp4a, .. FlvDemuxerTests.AacLc48kStereo], out error), error);
        Assert.False(early.TryWriteAudio(21, [0x95, 0x01, .. Mp4a, 1, 0x21, 0x10], out error));
        Assert.Equal("AAC frame of audio track 1 before its sequence header (AudioSpecificConfig)", error);
    }

    // (name, body, expected error fragment): enhanced audio the demuxer refuses.
    public static TheoryData<string, byte[], string> BadEnhancedAudio => new()
    {
        { "truncated FourCC", [0x91, 0x6D, 0x70], "truncated enhanced audio tag header" },
        { "Opus", [0x90, .. "Opus"u8.ToArray(), 0x01], "unsupported audio codec FourCC 'Opus'" },
        { "frame before its sequence start", [0x91, .. Mp4a, 0x21, 0x10], "before its sequence header" },
        { "ModEx", [0x97, .. Mp4a, 0x00], "unsupported enhanced RTMP audio packet type 7" },
        { "nested multitrack", [0x95, 0x05, .. Mp4a, 0], "audio packet type 5 inside a multitrack message" },
        { "multitrack without its type", [0x95], "multitrack audio message without its multitrack type" },
        { "multitrack track size past the body", [0x95, 0x11, .. Mp4a, 0, 0, 0, 7, 1], "says 7 bytes but 1 are left" },
    };

    [Theory]
    [MemberData(nameof(BadEnhancedAudio))]
    public void Refuses_bad_enhanced_audio_with_a_reason(string name, byte[] body, string expected)
    {
        var stream = new LiveStream("test");
        var reader = stream.OpenReader("test");
        Assert.False(new FlvDemuxer(stream).TryWriteAudio(0, body, out var error), name);
        Assert.Contains(expected, error);
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void A_codec_change_within_a_track_refuses_the_publish()
    {
        var (_, demuxer, _) = Ladder(2);
        byte[] hevc = [0x96, 0x00, .. Hvc1, 1, .. FlvDemuxerTests.MainHvcC];
        Assert.False(demuxer.TryWriteVideo(100, hevc, out var error));
        Assert.Contains("video track 1: changed codec from H264 to H265 during a multitrack publish", error);
        Assert.False(demuxer.TryWriteVideo(100, [0x96, 0x00, .. Hvc1, 0, .. FlvDemuxerTests.MainHvcC], out error));
        Assert.Contains("video track 0: changed codec from H264 to H265 during a multitrack publish", error);
    }

    [Fact]
    public void A_reconnect_moves_every_track_alike()
    {
        var (stream, demuxer, _) = Ladder(2);
        var rung = stream.EncoderRungs[0].Value;
        var rungReader = rung.OpenReader("test", 64);
        Assert.True(demuxer.TryWriteVideo(5000, Frames(true, 2), out var error), error);
        Assert.True(stream.TryInterrupt(DateTimeOffset.UtcNow.AddSeconds(30)));
        Assert.True(stream.TryResume());
        // The new publisher's clock starts again at 0; both tracks land after the media before the drop.
        Assert.True(demuxer.TryWriteVideo(0, Frames(true, 2), out error), error);
        var frames = new List<MediaFrame>();
        while (rungReader.TryRead(out var f)) frames.Add(f!);
        Assert.Equal(2, frames.Count);
        Assert.Equal(1, frames[1].Epoch);
        Assert.True(frames[1].Dts > frames[0].Dts);
        Assert.Equal(stream.LastVideoTime, frames[1].Dts);
    }
}
