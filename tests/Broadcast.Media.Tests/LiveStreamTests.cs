using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests;

public class LiveStreamTests
{
    private static readonly VideoTrack Video = new(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f }, "avc1.64001f", 640, 360);
    private static readonly AudioTrack Audio = new(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);

    private static MediaFrame VideoFrame(long dts, bool key, byte marker = 0) =>
        MediaFrame.Rent(Video, dts, 0, key, new byte[] { marker, 1, 2, 3 });

    private static MediaFrame AudioFrame(long dts) => MediaFrame.Rent(Audio, dts, 0, true, new byte[] { 9, 9 });

    [Fact]
    public void The_latest_keyframe_is_the_newest_one_written_with_a_reference_of_the_callers_own_and_none_after_the_end()
    {
        var stream = new LiveStream("ch");
        stream.SetTrack(Video);
        stream.SetTrack(Audio);
        Assert.Null(stream.LatestKeyframe());

        stream.Write(VideoFrame(0, key: false, marker: 1));
        stream.Write(AudioFrame(0));
        Assert.Null(stream.LatestKeyframe());

        stream.Write(VideoFrame(3000, key: true, marker: 2));
        stream.Write(VideoFrame(6000, key: false, marker: 3));
        stream.Write(AudioFrame(6000));
        var first = stream.LatestKeyframe();
        Assert.NotNull(first);
        Assert.Equal(3000, first.Dts);

        // A newer keyframe replaces it in the stream; the caller's reference keeps the older one readable.
        stream.Write(VideoFrame(9000, key: true, marker: 4));
        Assert.Equal(2, first.Data.Span[0]);
        first.Release();
        var second = stream.LatestKeyframe();
        Assert.Equal(9000, second?.Dts);
        second?.Release();

        stream.Complete();
        Assert.Null(stream.LatestKeyframe());
    }

    [Fact]
    public async Task Readers_receive_every_frame_in_order()
    {
        var stream = new LiveStream("ch");
        stream.SetTrack(Video);
        using var a = stream.OpenReader("a");
        using var b = stream.OpenReader("b");
        for (int i = 0; i < 10; i++) stream.Write(VideoFrame(i * 3000, i % 5 == 0, (byte)i));
        stream.Complete();

        foreach (var reader in new[] { a, b })
        {
            var seen = new List<long>();
            while (await reader.ReadAsync() is { } frame)
            {
                seen.Add(frame.Dts);
                frame.Release();
            }
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i * 3000), seen);
            Assert.Equal(0, reader.DroppedFrames);
        }
    }

    [Fact]
    public async Task A_reader_that_consumes_on_the_writer_thread_has_each_frame_before_Write_returns()
    {
        var stream = new LiveStream("ch");
        stream.SetTrack(Video);
        using var inline = stream.OpenReader("packager", consumeOnWriterThread: true);
        var threads = new List<int>();
        // Runs synchronously up to its first wait on the empty queue, so it is parked before the first Write.
        async Task ConsumeAsync()
        {
            while (await inline.ReadAsync() is { } frame)
            {
                threads.Add(Environment.CurrentManagedThreadId);
                frame.Release();
            }
        }
        var consumer = ConsumeAsync();
        for (int i = 0; i < 5; i++)
        {
            stream.Write(VideoFrame(i * 3000, i == 0, (byte)i));
            Assert.Equal(i + 1, threads.Count);
        }
        Assert.All(threads, t => Assert.Equal(Environment.CurrentManagedThreadId, t));
        stream.Complete();
        await consumer;
    }

    [Fact]
    public async Task A_slow_reader_is_dropped_to_the_next_keyframe_and_never_blocks_the_publisher()
    {
        var stream = new LiveStream("ch");
        stream.SetTrack(Video);
        using var slow = stream.OpenReader("slow", capacity: 12);
        using var fast = stream.OpenReader("fast", capacity: 1000);

        // 3 GOPs of 10 frames; the slow reader reads nothing meanwhile, so its queue overflows at frame 12.
        // Write must return every time.
        for (int i = 0; i < 30; i++) stream.Write(VideoFrame(i * 3000, i % 10 == 0, (byte)i));
        stream.Complete();

        var slowDts = new List<long>();
        while (await slow.ReadAsync() is { } f)
        {
            slowDts.Add(f.Dts);
            f.Release();
        }
        // Frames 0..12 were lost with the overflow; the reader resumed at the keyframe of the third GOP.
        Assert.Equal(Enumerable.Range(20, 10).Select(i => i * 3000L), slowDts);
        Assert.Equal(20, slow.DroppedFrames);
        Assert.Equal(slow.DroppedFrames, stream.Statistics.FramesDroppedByReaders);

        int fastCount = 0;
        while (await fast.ReadAsync() is { } f) { fastCount++; f.Release(); }
        Assert.Equal(30, fastCount);
    }

    [Fact]
    public async Task A_late_reader_starts_at_the_cached_keyframe()
    {
        var stream = new LiveStream("ch");
        stream.SetTrack(Video);
        stream.SetTrack(Audio);
        for (int i = 0; i < 15; i++)
        {
            stream.Write(VideoFrame(i * 3000, i % 10 == 0));
            stream.Write(AudioFrame(i * 1600));
        }
        using var late = stream.OpenReader("late");
        stream.Complete();
        var first = await late.ReadAsync();
        Assert.NotNull(first);
        Assert.Equal(MediaKind.Video, first!.Kind);
        Assert.True(first.IsKeyframe);
        Assert.Equal(30000, first.Dts);
        first.Release();
        int rest = 0;
        while (await late.ReadAsync() is { } f) { rest++; f.Release(); }
        Assert.Equal(5 * 2 - 1, rest);
    }

    [Fact]
    public void Statistics_count_frames_bytes_and_keyframe_interval()
    {
        var time = new ManualClock(DateTimeOffset.Parse("2026-11-21T10:00:00Z"));
        var stream = new LiveStream("ch", time);
        stream.SetTrack(Video);
        for (int i = 0; i < 60; i++)
        {
            stream.Write(VideoFrame(i * 3000, i % 30 == 0));
            if (i % 30 == 29) time.Advance(TimeSpan.FromSeconds(1));
        }
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(60, stream.Statistics.VideoFrames);
        Assert.Equal(2, stream.Statistics.Keyframes);
        Assert.Equal(1000, stream.Statistics.KeyframeIntervalMs);
        Assert.Equal(240, stream.Statistics.Bytes);
        // 60 frames of 4 bytes over the last 5 whole seconds.
        Assert.Equal(60 * 4 * 8 / 5, stream.Statistics.BitsPerSecond);
        Assert.Equal(60 * 1000 / 5, stream.Statistics.VideoFpsMilli);
    }

    [Fact]
    public void Registry_refuses_a_second_publisher_of_the_same_name()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("ch", out var first));
        Assert.False(registry.TryStartPublish("ch", out var existing));
        Assert.Same(first, existing);
        registry.EndPublish(first);
        Assert.True(first.IsCompleted);
        Assert.Null(registry.Find("ch"));
        Assert.True(registry.TryStartPublish("ch", out var second));
        Assert.NotSame(first, second);
    }

}

/// <summary>
/// The frame pool is static: a test running beside this one could rent the frame it just released, and AddRef would then
/// find a live frame. So this runs alone (its collection disables parallelization).
/// </summary>
[Collection(nameof(FramePoolCollection))]
public class FramePoolTests
{
    private static readonly VideoTrack Video = new(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f }, "avc1.64001f", 640, 360);

    [Fact]
    public void Frames_return_to_the_pool_after_the_last_release()
    {
        var frame = MediaFrame.Rent(Video, 0, 0, true, new byte[] { 0, 1, 2, 3 });
        frame.AddRef();
        frame.Release();
        Assert.Equal(4, frame.Length);
        frame.Release();
        Assert.Throws<InvalidOperationException>(() => frame.AddRef());
    }
}

[CollectionDefinition(nameof(FramePoolCollection), DisableParallelization = true)]
public sealed class FramePoolCollection;
