using Broadcast.Media.MpegTs;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.MpegTs;

// The frames come from the process-wide pool: a test renting beside it would make this thread allocate new ones.
[Trait("Kind", "Component")]
[Collection(nameof(FramePoolCollection))]
public class MpegTsDemuxerAllocationTests
{
    [Fact]
    public void Steady_state_allocates_nothing_beyond_the_pooled_frames()
    {
        using var dir = new TempDirectory();
        string path = dir.Combine("clip.ts");
        // Every picture a keyframe (-g 1), so the hub's GOP cache hands frames back to the pool instead of holding a group.
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "1",
            "-c:a", "aac", "-f", "mpegts", path);
        var ts = File.ReadAllBytes(path);
        var stream = new LiveStream("alloc");
        using var demuxer = new MpegTsDemuxer(stream);
        for (int i = 0; i < 3; i++) Feed(); // warm up pools, JIT, tracks; the tables and parameter sets repeat unchanged after

        long frames = stream.Statistics.VideoFrames + stream.Statistics.AudioFrames;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int i = 0; i < 5; i++) Feed();
        });
        frames = (stream.Statistics.VideoFrames + stream.Statistics.AudioFrames - frames) / 3;
        Assert.True(frames > 500, $"{frames} frames");
        Assert.True(allocated < 8192, $"{allocated} bytes allocated for {frames} frames (the least of three runs)");

        void Feed()
        {
            for (int at = 0; at < ts.Length; at += 1316)
                Assert.True(demuxer.TryWrite(ts.AsSpan(at, Math.Min(1316, ts.Length - at)), out var error), error);
        }
    }
}
