using Broadcast.Media;
using Broadcast.Media.Codecs.H264;
using Broadcast.WebRtc.Rtp;

namespace Broadcast.WebRtc.Tests;

public sealed class WebRtcVideoPolicyTests
{
    /// <summary>(name, profile_idc, chroma format and bit depth, composition offsets of the first frames, passed through, reason).</summary>
    public static TheoryData<string, int, int, int, int[], bool, string> Cases => new()
    {
        { "baseline, no reordering", 66, 1, 8, [0, 0, 0, 0], true, "WebRTC-safe H.264" },
        { "main without B-frames", 77, 1, 8, [0, 0, 0], true, "WebRTC-safe H.264" },
        { "high without B-frames", 100, 1, 8, [0, 0, 0], true, "WebRTC-safe H.264" },
        { "main with B-frames", 77, 1, 8, [0, 6000, 0, 3000], false, "B-frames" },
        { "high 10-bit", 110, 1, 10, [0, 0], false, "H.264 profile 110 is not baseline, main or high" },
        { "high 4:4:4 predictive", 244, 3, 8, [0, 0], false, "H.264 profile 244 is not baseline, main or high" },
        { "high signalling 4:2:2 in its avcC", 100, 2, 8, [0, 0], false, "not 8-bit 4:2:0" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Passes_through_only_webrtc_safe_h264(string name, int profile, int chroma, int bitDepth, int[] offsets, bool passThrough, string reason)
    {
        var avc = new AvcDecoderConfigurationRecord
        {
            ProfileIndication = (byte)profile,
            LevelIndication = 31,
            SequenceParameterSets = [[0x67, (byte)profile, 0, 31]],
            PictureParameterSets = [[0x68, 0xCE, 0x3C, 0x80]],
            Extension = AvcDecoderConfigurationRecord.HasExtensionFields(profile) ? new AvcHighProfileExtension(chroma, bitDepth, bitDepth, []) : null,
        };
        var track = new VideoTrack(Codec.H264, avc.ToArray(), avc.CodecString, 640, 360);
        var frames = offsets.Select((offset, i) => MediaFrame.Rent(track, i * 3000L, offset, i == 0, new byte[] { 0, 0, 0, 1, 0x65 })).ToList();
        try
        {
            var mode = WebRtcVideoPolicy.Decide(track, frames);
            Assert.True(mode.PassThrough == passThrough, name);
            Assert.Equal(reason, mode.Reason);
            Assert.Equal(passThrough ? profile : WebRtcVideoPolicy.BaselineProfile, mode.ProfileIdc);
        }
        finally
        {
            foreach (var frame in frames) frame.Release();
        }
    }

    [Fact]
    public void Hevc_gets_the_webrtc_rung()
    {
        var track = new VideoTrack(Codec.H265, new byte[] { 1 }, "hvc1.1.6.L93.B0", 640, 360);
        var mode = WebRtcVideoPolicy.Decide(track, []);
        Assert.False(mode.PassThrough);
        Assert.Equal("H265 is not H.264", mode.Reason);
    }
}
