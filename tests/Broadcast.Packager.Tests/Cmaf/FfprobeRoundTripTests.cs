using Broadcast.TestSupport;
using System.Buffers;
using System.Text.Json;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// Writes the FLV clip's frames as CMAF and asks ffprobe what it sees: exactly the times, durations, key flags
/// and codec parameters that went in, for one segment and across segments (tfdt continuity).
/// </summary>
[Trait("Kind", "Component")]
public class FfprobeRoundTripTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    [Fact]
    public void Video_single_segment_probes_back_exactly()
    {
        var file = WriteFile("video.mp4", clip.Video, [clip.VideoSamples.ToArray()]);
        using var probe = MediaTools.Probe(file);

        var stream = ProbeAssert.SingleStream(probe);
        Assert.Equal("h264", stream.GetProperty("codec_name").GetString());
        Assert.Equal("High", stream.GetProperty("profile").GetString());
        Assert.Equal(320, stream.GetProperty("width").GetInt32());
        Assert.Equal(240, stream.GetProperty("height").GetInt32());
        Assert.Equal("1/90000", stream.GetProperty("time_base").GetString());
        ProbeAssert.Packets(probe, clip.VideoSamples);
        Assert.Contains(clip.VideoSamples, s => s.CompositionOffset > 0); // B-frames really exercised CTOs
        Assert.Equal(2, clip.VideoSamples.Count(s => s.IsSync));
    }

    [Fact]
    public void Audio_single_segment_probes_back_exactly()
    {
        var file = WriteFile("audio.mp4", clip.Audio, [clip.AudioSamples.ToArray()]);
        using var probe = MediaTools.Probe(file);

        var stream = ProbeAssert.SingleStream(probe);
        Assert.Equal("aac", stream.GetProperty("codec_name").GetString());
        Assert.Equal("LC", stream.GetProperty("profile").GetString());
        Assert.Equal("48000", stream.GetProperty("sample_rate").GetString());
        Assert.Equal(2, stream.GetProperty("channels").GetInt32());
        Assert.Equal("1/48000", stream.GetProperty("time_base").GetString());
        ProbeAssert.Packets(probe, clip.AudioSamples);
    }

    [Fact]
    public void Video_segments_split_at_the_keyframe_keep_decode_time_continuous()
    {
        var samples = clip.VideoSamples.ToArray();
        int cut = Array.FindIndex(samples, 1, s => s.IsSync);
        Assert.True(cut > 0);
        var file = WriteFile("video-2seg.mp4", clip.Video, [samples[..cut], samples[cut..]]);
        using var probe = MediaTools.Probe(file);
        ProbeAssert.Packets(probe, samples);
    }

    [Fact]
    public void Audio_segments_keep_decode_time_continuous()
    {
        var samples = clip.AudioSamples.ToArray();
        int cut = samples.Length / 2;
        var file = WriteFile("audio-3seg.mp4", clip.Audio, [samples[..cut], samples[cut..(cut + 5)], samples[(cut + 5)..]]);
        using var probe = MediaTools.Probe(file);
        ProbeAssert.Packets(probe, samples);
    }

    [Fact]
    public void Multi_segment_files_decode_every_frame_in_ffmpeg_and_gstreamer()
    {
        var video = clip.VideoSamples.ToArray();
        int cut = Array.FindIndex(video, 1, s => s.IsSync);
        string videoFile = WriteFile("decode-video.mp4", clip.Video, [video[..cut], video[cut..]]);
        var audio = clip.AudioSamples.ToArray();
        string audioFile = WriteFile("decode-audio.mp4", clip.Audio, [audio[..40], audio[40..]]);

        // -count_frames decodes the whole stream; a broken fragment shows up as missing frames.
        Assert.Equal(video.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), MediaTools.Run("ffprobe", "-v", "error", "-count_frames",
            "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", videoFile).Trim());
        Assert.Equal(audio.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), MediaTools.Run("ffprobe", "-v", "error", "-count_frames",
            "-select_streams", "a:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", audioFile).Trim());

        // GStreamer's qtdemux is a second, independent fMP4 reader; gst-launch exits non-zero on any error.
        MediaTools.Run("gst-launch-1.0", "-q", "filesrc", $"location={videoFile}", "!", "qtdemux", "!", "h264parse", "!", "avdec_h264", "!", "fakesink");
        MediaTools.Run("gst-launch-1.0", "-q", "filesrc", $"location={audioFile}", "!", "qtdemux", "!", "aacparse", "!", "avdec_aac", "!", "fakesink");
    }

    [Fact]
    public void Init_segment_carries_the_decoder_configs_verbatim()
    {
        var init = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(init, clip.Video);
        var moov = Mp4BoxReader.Read(init.WrittenMemory).Single(b => b.Type == "moov");
        var avcC = moov.Find("trak/mdia/minf/stbl/stsd/avc1/avcC");
        Assert.Equal(clip.Video.DecoderConfig.ToArray(), avcC.Payload.ToArray());

        var audioInit = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(audioInit, clip.Audio, trackId: 2);
        var audioMoov = Mp4BoxReader.Read(audioInit.WrittenMemory).Single(b => b.Type == "moov");
        var esds = audioMoov.Find("trak/mdia/minf/stbl/stsd/mp4a/esds").Payload.ToArray();
        Assert.True(esds.AsSpan().IndexOf(clip.Audio.DecoderConfig.Span) > 0);
        Assert.Equal(2u, audioMoov.Find("mvex/trex").ReadUInt32(4));
        Assert.Equal(3u, audioMoov.Find("mvhd").ReadUInt32(96)); // next_track_ID
    }

    private string WriteFile(string name, MediaTrack track, ExpectedSample[][] segments)
    {
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, track);
        uint sequence = 1;
        foreach (var segment in segments)
        {
            var samples = segment.Select(s => s.ToCmaf()).ToArray();
            CmafWriter.WriteMediaSegment(output, sequence++, 1, segment[0].Dts, samples, track.Kind);
        }
        string path = clip.Directory.Combine(name);
        File.WriteAllBytes(path, output.WrittenSpan.ToArray());
        return path;
    }
}
