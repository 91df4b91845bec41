using Broadcast.TestSupport.Fuzzing;
using Broadcast.WebRtc.Rtp;
using Xunit.Abstractions;

namespace Broadcast.WebRtc.Tests.Fuzzing;

/// <summary>Fuzzes the RTP/H.264 keyframe detection and the cache behind it: every packet our ffmpeg sends passes through them.</summary>
public class RtpKeyframeCacheFuzzTests(ITestOutputHelper output)
{
    [Fact]
    public void Keyframe_detection_and_cache()
    {
        var seeds = FuzzSeeds.Column(RtpKeyframeCacheTests.Cases, 1).Concat(FuzzSeeds.Column(RtpKeyframeCacheTests.Malformed, 1)).ToList();
        var cache = new RtpKeyframeCache(capacityBytes: 16 * 1024, maxPackets: 64);
        var report = FuzzRunner.Run("rtp-keyframe", seeds, (input, random) =>
        {
            bool keyframe = RtpKeyframeCache.StartsKeyframe(input, out _);
            cache.Add(input);
            if (cache.Count > 64) throw new InvalidOperationException($"{cache.Count} packets held past the bound");
            for (int i = 0; i < cache.Count; i++) _ = cache[i].Length;
            return keyframe;
        }, new FuzzOptions { MaxInputLength = 2048 });
        output.WriteLine(report.ToString());
        Assert.Equal(FuzzSettings.Iterations, report.Accepted + report.Refused);
        Assert.True(report.Accepted > 0 && report.Refused > 0, report.ToString());
    }
}
