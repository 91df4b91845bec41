using Broadcast.Media.Flv;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

// The frames come from the process-wide pool: a test renting beside it would make this thread allocate new ones.
[Collection(nameof(FramePoolCollection))]
public class FlvDemuxerAllocationTests
{
    private static readonly byte[] HighAvcC = Convert.FromHexString(
        "0164001fffe1001a6764001facd9405005bb011000000300100000030320f1831960010006" + "68ebe3cb22c0" + "fdf8f800");

    [Fact]
    public void Steady_state_frames_allocate_nothing_beyond_the_pooled_frame()
    {
        var stream = new LiveStream("alloc");
        var demuxer = new FlvDemuxer(stream);
        Assert.True(demuxer.TryWriteVideo(0, [0x17, 0, 0, 0, 0, .. HighAvcC], out _));
        Assert.True(demuxer.TryWriteAudio(0, [0xAF, 0x00, 0x11, 0x90], out _));
        // Every video frame a keyframe, so the hub's GOP cache returns frames to the pool instead of holding them.
        byte[] video = [0x17, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x65, 0x88, 0x84, 0x00];
        byte[] audio = [0xAF, 0x01, 0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C];
        for (int i = 0; i < 200; i++) Write(i); // warm up pools and JIT

        int next = 200;
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int end = next + 2000; next < end; next++) Write(next);
        });
        Assert.True(allocated < 4096, $"{allocated} bytes allocated for 4000 frames (the least of three runs)");
        Assert.Equal(6200, stream.Statistics.VideoFrames);

        void Write(int i)
        {
            Assert.True(demuxer.TryWriteVideo(i * 33L, video, out _));
            Assert.True(demuxer.TryWriteAudio(i * 21L, audio, out _));
        }
    }
}
