using Broadcast.TestSupport;
using System.Buffers;
using Broadcast.Media;
using Broadcast.Packager.Cmaf;

namespace Broadcast.Packager.Tests.Cmaf;

/// <summary>
/// HEVC: ffmpeg 5.1 cannot put H.265 in FLV, so the clip comes from its fragmented-MP4 muxer instead. The hvcC
/// and the samples are read back with the test box reader (tfhd defaults, tfdt, trun), rescaled to 90 kHz,
/// written as CMAF with hvc1/hvcC, and probed.
/// </summary>
[Trait("Kind", "Component")]
public sealed class HevcRoundTripTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public void Hevc_clip_probes_back_exactly()
    {
        string source = _directory.Combine("source.mp4");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-t", "2",
            "-c:v", "libx265", "-pix_fmt", "yuv420p",
            "-x265-params", "keyint=30:min-keyint=30:scenecut=0:bframes=2:log-level=error",
            "-tag:v", "hvc1", "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-f", "mp4", source);
        var (hvcC, samples) = FragmentedMp4.ReadHevc(File.ReadAllBytes(source));
        Assert.Contains(samples, s => s.CompositionOffset != 0); // B-frames present
        Assert.Equal(2, samples.Count(s => s.IsSync));

        var track = new VideoTrack(Codec.H265, hvcC, "hvc1.1.6.L60.90", 320, 240);
        int cut = samples.FindIndex(1, s => s.IsSync);
        var output = new ArrayBufferWriter<byte>();
        CmafWriter.WriteInitSegment(output, track);
        CmafWriter.WriteMediaSegment(output, 1, 1, samples[0].Dts, samples[..cut].Select(s => s.ToCmaf()).ToArray(), MediaKind.Video);
        CmafWriter.WriteMediaSegment(output, 2, 1, samples[cut].Dts, samples[cut..].Select(s => s.ToCmaf()).ToArray(), MediaKind.Video);
        string written = _directory.Combine("cmaf.mp4");
        File.WriteAllBytes(written, output.WrittenSpan.ToArray());

        using var probe = MediaTools.Probe(written);
        var stream = ProbeAssert.SingleStream(probe);
        Assert.Equal("hevc", stream.GetProperty("codec_name").GetString());
        Assert.Equal("Main", stream.GetProperty("profile").GetString());
        Assert.Equal(320, stream.GetProperty("width").GetInt32());
        Assert.Equal(240, stream.GetProperty("height").GetInt32());
        Assert.Equal("hvc1", stream.GetProperty("codec_tag_string").GetString());
        ProbeAssert.Packets(probe, samples);
    }

    public void Dispose() => _directory.Dispose();
}
