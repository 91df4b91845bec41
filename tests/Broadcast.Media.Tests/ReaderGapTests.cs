namespace Broadcast.Media.Tests;

/// <summary>
/// The in-band gap of a dropped publish (<see cref="LiveStreamReader.ReadOrGapAsync"/>): consumers that cut segments
/// or feed an encoder learn where the publisher stopped, in order with its frames.
/// </summary>
public sealed class ReaderGapTests
{
    [Fact]
    public async Task A_gap_reaches_readers_after_the_frames_already_queued()
    {
        // The hub side of the drop: a reader sees every frame of the dropped publish, then the gap, then the new publish.
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("gap", out var stream));
        using var reader = stream.OpenReader("test");
        var track = new AudioTrack(Codec.Aac, new byte[] { 0x11, 0x90 }, "mp4a.40.2", 48000, 2);
        stream.Write(MediaFrame.Rent(track, 0, 0, true, new byte[] { 1 }));
        stream.Write(MediaFrame.Rent(track, 1024, 0, true, new byte[] { 2 }));
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        Assert.True(registry.TryStartPublish("gap", out var resumed));
        Assert.Same(stream, resumed);
        stream.Write(MediaFrame.Rent(track, 0, 0, true, new byte[] { 3 }));

        var kinds = new List<string>();
        for (int i = 0; i < 4; i++)
        {
            var read = await reader.ReadOrGapAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            kinds.Add(read.IsGap ? "gap" : $"frame {read.Frame!.Data.Span[0]} epoch {read.Frame.Epoch}");
            read.Frame?.Release();
        }
        Assert.Equal(["frame 1 epoch 0", "frame 2 epoch 0", "gap", "frame 3 epoch 1"], kinds);
        registry.EndPublish(stream);
        Assert.True((await reader.ReadOrGapAsync()).IsEnd);
    }

    [Fact]
    public async Task Plain_reads_skip_the_gap_and_a_reader_opened_after_it_gets_no_frame_from_before()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("gap", out var stream));
        using var reader = stream.OpenReader("plain");
        var video = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1F }, "avc1.64001f", 320, 240);
        stream.SetTrack(video);
        stream.Write(MediaFrame.Rent(video, 0, 0, true, new byte[] { 1 }));
        Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
        using var late = stream.OpenReader("late");
        Assert.True(registry.TryStartPublish("gap", out _));
        stream.Write(MediaFrame.Rent(video, 0, 0, true, new byte[] { 2 }));

        var first = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, first!.Data.Span[0]);
        first.Release();
        Assert.True(reader.TryRead(out var second));
        Assert.Equal(2, second!.Data.Span[0]);
        second.Release();
        // The cached GOP of the dropped publish is gone: the late reader starts with the new publish.
        var lateFirst = await late.ReadOrGapAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, lateFirst.Frame!.Data.Span[0]);
        lateFirst.Frame.Release();
        registry.EndPublish(stream);
    }
}
