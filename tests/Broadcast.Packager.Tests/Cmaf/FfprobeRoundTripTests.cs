using System.Buffers;
using System.Text.Json;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// Writes the FLV clip's frames as CMAF and asks ffprobe what it sees: exactly the times, durations, key flags
/// and codec parameters that went in, for one segment and across segments (tfdt continuity).
/// </summary>
public class FfprobeRoundTripTests(FlvClipFixture clip) : IClassFixture<FlvClipFixture>
{
    [Fact]
    public void Video_single_segment_probes_back_exactly()
    {
        var file = WriteFile("video.mp4", clip.Video, [clip.VideoSamples.ToArray()]);
        using var probe = MediaTools.Probe(file);

        var stream = SingleStream(probe);
        Assert.Equal("h264", stream.GetProperty("codec_name").GetString());
        Assert.Equal("High", stream.GetProperty("profile").GetString());
        Assert.Equal(320, stream.GetProperty("width").GetInt32());
        Assert.Equal(240, stream.GetProperty("height").GetInt32());
        Assert.Equal("1/90000", stream.GetProperty("time_base").GetString());
        AssertPackets(probe, clip.VideoSamples);
        Assert.Contains(clip.VideoSamples, s => s.CompositionOffset > 0); // B-frames really exercised CTOs
        Assert.Equal(2, clip.VideoSamples.Count(s => s.IsSync));
    }

    [Fact]
    public void Audio_single_segment_probes_back_exactly()
    {
        var file = WriteFile("audio.mp4", clip.Audio, [clip.AudioSamples.ToArray()]);
        using var probe = MediaTools.Probe(file);

        var stream = SingleStream(probe);
        Assert.Equal("aac", stream.GetProperty("codec_name").GetString());
        Assert.Equal("LC", stream.GetProperty("profile").GetString());
        Assert.Equal("48000", stream.GetProperty("sample_rate").GetString());
        Assert.Equal(2, stream.GetProperty("channels").GetInt32());
        Assert.Equal("1/48000", stream.GetProperty("time_base").GetString());
        AssertPackets(probe, clip.AudioSamples);
    }

    [Fact]
    public void Video_segments_split_at_the_keyframe_keep_decode_time_continuous()
    {
        var samples = clip.VideoSamples.ToArray();
        int cut = Array.FindIndex(samples, 1, s => s.IsSync);
        Assert.True(cut > 0);
        var file = WriteFile("video-2seg.mp4", clip.Video, [samples[..cut], samples[cut..]]);
        using var probe = MediaTools.Probe(file);
        AssertPackets(probe, samples);
    }

    [Fact]
    public void Audio_segments_keep_decode_time_continuous()
    {
        var samples = clip.AudioSamples.ToArray();
        int cut = samples.Length / 2;
        var file = WriteFile("audio-3seg.mp4", clip.Audio, [samples[..cut], samples[cut..(cut + 5)], samples[(cut + 5)..]]);
        using var probe = MediaTools.Probe(file);
        AssertPackets(probe, samples);
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

    private static JsonElement SingleStream(JsonDocument probe) => Assert.Single(probe.RootElement.GetProperty("streams").EnumerateArray());

    /// <summary>
    /// Compares ffprobe's packets with what went in. Durations are checked the way the demuxer uses them:
    /// it derives each DTS from the previous DTS plus the trun duration, and the stream's end (duration_ts)
    /// from the last one. ffprobe's per-packet "duration" field is not the container's: for H.264 ffmpeg 5.1
    /// replaces it with the parser's VUI frame duration (3000 at 30 fps), so it cannot witness trun values.
    /// </summary>
    private static void AssertPackets(JsonDocument probe, IReadOnlyList<ExpectedSample> expected)
    {
        var packets = probe.RootElement.GetProperty("packets").EnumerateArray().ToList();
        Assert.Equal(expected.Count, packets.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            var want = expected[i];
            var got = packets[i];
            string context = $"packet {i}";
            Assert.True(want.Dts == Number(got, "dts"), $"{context}: dts {want.Dts} vs {got}");
            Assert.True(want.Dts + want.CompositionOffset == Number(got, "pts"), $"{context}: pts {want.Dts + want.CompositionOffset} vs {got}");
            Assert.True(want.IsSync == got.GetProperty("flags").GetString()!.StartsWith('K'), $"{context}: key {want.IsSync} vs {got}");
            Assert.True(want.Data.Length == Number(got, "size"), $"{context}: size {want.Data.Length} vs {got}");
            if (i + 1 < expected.Count)
            {
                long probedDuration = Number(packets[i + 1], "dts") - Number(got, "dts");
                Assert.True(want.Duration == probedDuration, $"{context}: duration {want.Duration} vs {probedDuration}");
            }
        }
        var stream = SingleStream(probe);
        Assert.Equal(expected[^1].Dts + expected[^1].Duration, stream.GetProperty("duration_ts").GetInt64());
    }

    /// <summary>ffprobe's JSON writes some integers as numbers (pts, dts) and some as strings (size).</summary>
    private static long Number(JsonElement element, string name)
    {
        var value = element.GetProperty(name);
        return value.ValueKind == JsonValueKind.Number ? value.GetInt64() : long.Parse(value.GetString()!, System.Globalization.CultureInfo.InvariantCulture);
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
        string path = clip.Directory.File(name);
        File.WriteAllBytes(path, output.WrittenSpan.ToArray());
        return path;
    }
}
