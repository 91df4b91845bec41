using Broadcast.TestSupport;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.H264;
using Broadcast.Media.Codecs.Hevc;

namespace Broadcast.Media.Tests.Codecs;

/// <summary>
/// SPS parsing checked against ffprobe on clips the real encoders make here: libx264 at several profiles and
/// sizes (1080p is coded 1088 and cropped; 426x240 is not a multiple of 16), and libx265 1080p.
/// </summary>
[Trait("Kind", "Component")]
public class FfprobeSpsTests
{
    [Theory]
    [InlineData("baseline", 320, 240, "yuv420p", "Constrained Baseline")]
    [InlineData("main", 1280, 720, "yuv420p", "Main")]
    [InlineData("high", 1920, 1080, "yuv420p", "High")]
    [InlineData("high", 426, 240, "yuv420p", "High")]
    [InlineData("high444", 320, 240, "yuv444p", "High 4:4:4 Predictive")]
    public void H264_sps_matches_ffprobe(string profile, int width, int height, string pixelFormat, string profileName)
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.h264");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", $"testsrc2=size={width}x{height}:rate=30",
            "-frames:v", "2", "-pix_fmt", pixelFormat, "-c:v", "libx264", "-preset", "veryfast", "-profile:v", profile,
            "-f", "h264", clip);

        byte[]? spsNal = null, ppsNal = null;
        var reader = new AnnexBReader(File.ReadAllBytes(clip));
        while (reader.TryReadNext(out var nal))
        {
            int type = nal[0] & 0x1F;
            if (type == 7) spsNal ??= nal.ToArray();
            if (type == 8) ppsNal ??= nal.ToArray();
        }
        Assert.NotNull(spsNal);
        Assert.NotNull(ppsNal);
        Assert.True(H264Sps.TryParse(spsNal, out var sps));

        var probe = MediaTools.ProbeFirstStream(clip);
        Assert.Equal(probe.GetProperty("width").GetInt32(), sps.Width);
        Assert.Equal(probe.GetProperty("height").GetInt32(), sps.Height);
        Assert.Equal((width, height), (sps.Width, sps.Height));
        // Coded in whole macroblocks and cropped to the display size (ffprobe reports the cropped size only).
        Assert.Equal(((width + 15) / 16 * 16, (height + 15) / 16 * 16), (sps.CodedWidth, sps.CodedHeight));
        Assert.Equal(probe.GetProperty("profile").GetString(), sps.ProfileName);
        Assert.Equal(profileName, sps.ProfileName); // x264 lowers the profile when a preset needs no more: make sure it did not
        Assert.Equal(probe.GetProperty("level").GetInt32(), sps.LevelIdc);
        Assert.Equal(pixelFormat == "yuv444p" ? 3 : 1, sps.ChromaFormatIdc);
        Assert.Equal(new FrameRate(30, 1), sps.FrameRate);

        // The avcC an encoder would send for it describes the same track.
        Assert.True(AvcDecoderConfigurationRecord.TryCreate([spsNal], [ppsNal], out var avcC));
        Assert.True(MediaTrackFactory.TryCreateVideo(Codec.H264, avcC.ToArray(), null, out var track, out var error), error);
        Assert.Equal((width, height), (track.Width, track.Height));
        Assert.Equal(sps.CodecString, track.CodecString);
    }

    [Fact]
    public void Hevc_sps_matches_ffprobe_at_1080p()
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.hevc");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25",
            "-frames:v", "1", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-f", "hevc", clip);

        byte[]? spsNal = null;
        var reader = new AnnexBReader(File.ReadAllBytes(clip));
        while (reader.TryReadNext(out var nal))
            if (((nal[0] >> 1) & 0x3F) == 33) spsNal ??= nal.ToArray();
        Assert.NotNull(spsNal);
        Assert.True(HevcSps.TryParse(spsNal, out var sps));

        var probe = MediaTools.ProbeFirstStream(clip);
        Assert.Equal((1920, 1080), (sps.Width, sps.Height));
        Assert.Equal(probe.GetProperty("width").GetInt32(), sps.Width);
        Assert.Equal(probe.GetProperty("height").GetInt32(), sps.Height);
        Assert.Equal(probe.GetProperty("profile").GetString(), sps.ProfileTierLevel.ProfileName);
        Assert.Equal(probe.GetProperty("level").GetInt32(), sps.ProfileTierLevel.LevelIdc);
        Assert.StartsWith("hvc1.1.6.L", sps.ProfileTierLevel.CodecString());
    }
}
