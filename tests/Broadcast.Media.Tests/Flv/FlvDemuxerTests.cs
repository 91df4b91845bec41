using System.Buffers;
using Broadcast.Media.Flv;

namespace Broadcast.Media.Tests.Flv;

/// <summary>The demuxer on hand-built tags around real encoder parameter sets.</summary>
public class FlvDemuxerTests
{
    // libx264 High 1280x720 25 fps avcC (SPS with VUI timing info), and libx265 Main 320x240 hvcC (no timing info).
    internal static readonly byte[] HighAvcC = Convert.FromHexString(
        "0164001fffe1001a6764001facd9405005bb011000000300100000030320f1831960010006" + "68ebe3cb22c0" + "fdf8f800");
    internal static readonly byte[] MainHvcC = Convert.FromHexString(
        "0101600000009000000000003cf000fcfdf8f800000f03" +
        "a00001001840010c01ffff01600000030090000003000003003c959409" +
        "a10001002a42010101600000030090000003000003003ca00a080f16595952930bc05a020000030002000003003c10" +
        "a2000100064401c073c189");
    internal static readonly byte[] LibaomAv1C = Convert.FromHexString("81000c000a0b000000043cffbcdaf90040");
    internal static readonly byte[] AacLc48kStereo = [0x11, 0x90];

    private static byte[] Tag(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload) => [.. header, .. payload];

    private static byte[] Video(FlvVideoTagHeader header, ReadOnlySpan<byte> payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        header.Write(buffer);
        buffer.Write(payload);
        return buffer.WrittenSpan.ToArray();
    }

    internal static readonly byte[] OneNal = [0x00, 0x00, 0x00, 0x02, 0x65, 0x88];

    private static (LiveStream Stream, FlvDemuxer Demuxer, LiveStreamReader Reader, List<MediaTrack> Changes) Create()
    {
        var stream = new LiveStream("test");
        var changes = new List<MediaTrack>();
        stream.TrackChanged += (_, t) => changes.Add(t);
        var reader = stream.OpenReader("test", 4096);
        return (stream, new FlvDemuxer(stream), reader, changes);
    }

    private static List<MediaFrame> Drain(LiveStreamReader reader)
    {
        var frames = new List<MediaFrame>();
        while (reader.TryRead(out var f)) frames.Add(f!);
        return frames;
    }

    [Fact]
    public void Legacy_avc_and_aac_become_tracks_and_frames_in_track_time()
    {
        var (stream, demuxer, reader, _) = Create();
        Assert.True(demuxer.TryWriteVideo(0, Tag([0x17, 0, 0, 0, 0], HighAvcC), out var error), error);
        Assert.True(demuxer.TryWriteAudio(0, Tag([0xAF, 0x00], AacLc48kStereo), out error), error);
        Assert.True(demuxer.TryWriteVideo(1000, Tag([0x17, 0x01, 0x00, 0x00, 0x42], OneNal), out error), error);
        Assert.True(demuxer.TryWriteVideo(1040, Tag([0x27, 0x01, 0xFF, 0xFF, 0xD8], OneNal), out error), error);
        Assert.True(demuxer.TryWriteAudio(1000, Tag([0xAF, 0x01], [0x21, 0x10, 0x04]), out error), error);

        var video = stream.Video!;
        Assert.Equal(Codec.H264, video.Codec);
        Assert.Equal("avc1.64001f", video.CodecString);
        Assert.Equal((1280, 720), (video.Width, video.Height));
        Assert.Equal(new FrameRate(25, 1), video.FrameRate);
        Assert.Equal(HighAvcC, video.DecoderConfig.ToArray());
        var audio = stream.Audio!;
        Assert.Equal(("mp4a.40.2", 48000, 2), (audio.CodecString, audio.SampleRate, audio.Channels));

        var frames = Drain(reader);
        Assert.Equal(3, frames.Count);
        Assert.Equal((90_000L, 66 * 90, true), (frames[0].Dts, frames[0].CompositionOffset, frames[0].IsKeyframe));
        Assert.Equal(OneNal, frames[0].Data.ToArray());
        Assert.Equal((93_600L, -40 * 90, false), (frames[1].Dts, frames[1].CompositionOffset, frames[1].IsKeyframe));
        Assert.Equal((MediaKind.Audio, 48_000L, true), (frames[2].Kind, frames[2].Dts, frames[2].IsKeyframe));
        Assert.Equal([0x21, 0x10, 0x04], frames[2].Data.ToArray());
        foreach (var f in frames) f.Release();
    }

    [Fact]
    public void A_repeated_sequence_header_does_not_announce_a_new_track_but_a_changed_one_does()
    {
        var (stream, demuxer, _, changes) = Create();
        Assert.True(demuxer.TryWriteVideo(0, Tag([0x17, 0, 0, 0, 0], HighAvcC), out _));
        var first = stream.Video;
        Assert.True(demuxer.TryWriteVideo(40, Tag([0x17, 0, 0, 0, 0], HighAvcC), out _));
        Assert.True(demuxer.TryWriteAudio(0, Tag([0xAF, 0x00], AacLc48kStereo), out _));
        Assert.True(demuxer.TryWriteAudio(20, Tag([0xAF, 0x00], AacLc48kStereo), out _));
        Assert.Equal(2, changes.Count);
        Assert.Same(first, stream.Video);

        Assert.True(demuxer.TryWriteVideo(80, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.SequenceStart, 0), MainHvcC), out var error), error);
        Assert.Equal(3, changes.Count);
        Assert.Equal(Codec.H265, stream.Video!.Codec);
        Assert.True(demuxer.TryWriteAudio(40, Tag([0xAF, 0x00], [0x12, 0x08]), out _)); // 44.1 kHz mono now
        Assert.Equal(4, changes.Count);
        Assert.Equal((44100, 1), (stream.Audio!.SampleRate, stream.Audio.Channels));
    }

    [Fact]
    public void Hevc_enhanced_rtmp_uses_metadata_frame_rate_and_both_coded_frame_types()
    {
        var (stream, demuxer, reader, _) = Create();
        demuxer.SetMetadata(new Dictionary<string, object?> { ["framerate"] = 29.97, ["width"] = 320.0 });
        Assert.True(demuxer.TryWriteVideo(0, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.SequenceStart, 0), MainHvcC), out var error), error);
        var video = stream.Video!;
        Assert.Equal(("hvc1.1.6.L60.90", 320, 240), (video.CodecString, video.Width, video.Height));
        Assert.Equal(new FrameRate(30000, 1001), video.FrameRate);
        Assert.Equal(29.97, (double)stream.Metadata["framerate"]!);

        Assert.True(demuxer.TryWriteVideo(100, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.CodedFrames, 67), OneNal), out error), error);
        Assert.True(demuxer.TryWriteVideo(133, Video(new(FlvVideoFrameType.InterFrame, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.CodedFramesX, 0), OneNal), out error), error);
        Assert.True(demuxer.TryWriteVideo(166, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.SequenceEnd, 0), []), out error), error);
        var frames = Drain(reader);
        Assert.Equal(2, frames.Count);
        Assert.Equal((9000L, 67 * 90, true), (frames[0].Dts, frames[0].CompositionOffset, frames[0].IsKeyframe));
        Assert.Equal((11970L, 0, false), (frames[1].Dts, frames[1].CompositionOffset, frames[1].IsKeyframe));
        foreach (var f in frames) f.Release();
    }

    [Fact]
    public void Metadata_after_the_sequence_header_still_names_the_frame_rate()
    {
        var (stream, demuxer, _, changes) = Create();
        Assert.True(demuxer.TryWriteVideo(0, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcHvc1, FlvVideoPacketType.SequenceStart, 0), MainHvcC), out _));
        Assert.Null(stream.Video!.FrameRate);
        demuxer.SetMetadata(new Dictionary<string, object?> { ["framerate"] = 50.0 });
        Assert.Equal(new FrameRate(50, 1), stream.Video!.FrameRate);
        Assert.Equal(2, changes.Count);
    }

    [Fact]
    public void Av1_enhanced_rtmp_frames_carry_no_composition_time()
    {
        var (stream, demuxer, reader, _) = Create();
        Assert.True(demuxer.TryWriteVideo(0, Video(new(FlvVideoFrameType.Keyframe, true, 0, FlvVideoTagHeader.FourCcAv01, FlvVideoPacketType.SequenceStart, 0), LibaomAv1C), out var error), error);
        Assert.Equal(("av01.0.00M.08", 320, 240), (stream.Video!.CodecString, stream.Video.Width, stream.Video.Height));
        byte[] temporalDelimiterAndFrame = [0x12, 0x00, 0x32, 0x01, 0xAA];
        Assert.True(demuxer.TryWriteVideo(40, Tag([0x91, 0x61, 0x76, 0x30, 0x31], temporalDelimiterAndFrame), out error), error);
        var frames = Drain(reader);
        Assert.Single(frames);
        Assert.Equal((3600L, 0, true), (frames[0].Dts, frames[0].CompositionOffset, frames[0].IsKeyframe));
        Assert.Equal(temporalDelimiterAndFrame, frames[0].Data.ToArray());
        frames[0].Release();
    }

    [Fact]
    public void Empty_frames_and_end_of_sequence_are_ignored_not_errors()
    {
        var (stream, demuxer, reader, _) = Create();
        Assert.True(demuxer.TryWriteVideo(0, Tag([0x17, 0, 0, 0, 0], HighAvcC), out _));
        Assert.True(demuxer.TryWriteAudio(0, Tag([0xAF, 0x00], AacLc48kStereo), out _));
        Assert.True(demuxer.TryWriteVideo(10, [0x27, 0x01, 0x00, 0x00, 0x00], out var error), error);
        Assert.True(demuxer.TryWriteVideo(20, [0x17, 0x02, 0x00, 0x00, 0x00], out error), error);
        Assert.True(demuxer.TryWriteAudio(20, [0xAF, 0x01], out error), error);
        Assert.Empty(Drain(reader));
        Assert.Equal(0, stream.Statistics.VideoFrames + stream.Statistics.AudioFrames);
    }

    // (name, body, expected error fragment) for video tags the demuxer must refuse.
    public static TheoryData<string, byte[], string> BadVideo => new()
    {
        { "empty tag", [], "empty video tag" },
        { "truncated legacy header", [0x17, 0x01], "truncated" },
        { "frame before its sequence header", [0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x65], "before its sequence header" },
        { "hevc frame before its sequence header", [0x91, 0x68, 0x76, 0x63, 0x31, 0, 0, 0, 0, 0, 0, 1, 0x26], "before its sequence header" },
        { "legacy Sorenson H.263", [0x22, 0x00, 0x00], "unsupported video codec id 2" },
        { "enhanced vp09", [0x90, 0x76, 0x70, 0x30, 0x39, 0x01], "unsupported video codec FourCC 'vp09'" },
        { "garbage avcC", [0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00], "malformed AVCDecoderConfigurationRecord" },
        { "empty avcC", [0x17, 0x00, 0x00, 0x00, 0x00], "empty H264 sequence header" },
        { "avcC with a huge SPS length", [0x17, 0x00, 0x00, 0x00, 0x00, 0x01, 0x64, 0x00, 0x1F, 0xFF, 0xE1, 0xFF, 0xFF, 0x67], "malformed AVCDecoderConfigurationRecord" },
        { "hvcC garbage", [0x90, 0x68, 0x76, 0x63, 0x31, 0x01, 0x02, 0x03], "malformed HEVCDecoderConfigurationRecord" },
        { "multitrack where one track is taken", [0x96, 0x68, 0x76, 0x63, 0x31], "multitrack video (Enhanced RTMP v2) is not accepted here" },
        { "ModEx packet type", [0x97, 0x00, 0x00, 0x00, 0x00], "unsupported enhanced RTMP video packet type 7" },
    };

    [Theory]
    [MemberData(nameof(BadVideo))]
    public void Refuses_bad_video_with_a_reason(string name, byte[] body, string expected)
    {
        var (_, demuxer, reader, _) = Create();
        Assert.False(demuxer.TryWriteVideo(0, body, out var error), name);
        Assert.Contains(expected, error);
        Assert.Empty(Drain(reader));
    }

    public static TheoryData<string, byte[], string> BadAudio => new()
    {
        { "empty tag", [], "empty audio tag" },
        { "AAC without packet type", [0xAF], "truncated audio tag header" },
        { "MP3", [0x2F, 0xFF, 0xFB], "unsupported audio codec MP3" },
        { "Speex", [0xB2, 0x00], "unsupported audio codec Speex" },
        { "AAC frame before its config", [0xAF, 0x01, 0x21, 0x10], "before its sequence header" },
        { "unknown AACPacketType", [0xAF, 0x02, 0x00], "unknown AACPacketType 2" },
        { "garbage AudioSpecificConfig", [0xAF, 0x00, 0x16, 0x90], "AudioSpecificConfig" },
        { "USAC config (not AAC family)", [0xAF, 0x00, 0xF9, 0x46, 0x40], "unsupported audio object type 42" },
    };

    [Theory]
    [MemberData(nameof(BadAudio))]
    public void Refuses_bad_audio_with_a_reason(string name, byte[] body, string expected)
    {
        var (_, demuxer, reader, _) = Create();
        Assert.False(demuxer.TryWriteAudio(0, body, out var error), name);
        Assert.Contains(expected, error);
        Assert.Empty(Drain(reader));
    }
}
