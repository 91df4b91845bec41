using System.Buffers;
using Broadcast.Media.Flv;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

/// <summary>The FLV stream writer's output read by ffprobe (a component test: ffmpeg makes the clip, ffprobe reads the result).</summary>
[Trait("Kind", "Component")]
public sealed class FlvMuxerFfprobeTests
{
    /// <summary>
    /// A real clip (ffmpeg: libx264 + AAC in FLV) read tag by tag into frames, muxed again by <see cref="FlvMuxer"/>,
    /// and opened by ffprobe: same codecs, size and frame count.
    /// </summary>
    [Fact]
    public async Task FfprobeReadsMuxedFlv()
    {
        var spec = new ClipSpec { Seconds = 2, Width = 320, Height = 240 };
        string clip = await TestMedia.GetClipAsync(spec);
        var stream = new LiveStream("clip");
        var hub = stream.OpenReader("test", capacity: 100_000);
        var frameReader = new FlvDemuxer(stream);
        var bytes = await File.ReadAllBytesAsync(clip);
        Assert.True(FlvFileHeader.TryRead(bytes, out _, out int offset));
        ReadOnlySpan<byte> rest = bytes.AsSpan(offset);
        while (FlvTag.TryRead(rest, out var tag, out int c, out string? error))
        {
            Assert.True(frameReader.TryWrite(tag, out error), error);
            rest = rest[c..];
        }
        Assert.Equal(0, rest.Length);
        stream.Complete();

        var w = new ArrayBufferWriter<byte>();
        FlvMuxer.WriteHeader(w, true, true);
        var muxer = new FlvMuxer();
        int videoFrames = 0;
        while (await hub.ReadAsync() is { } frame)
        {
            if (frame.Kind == MediaKind.Video) videoFrames++;
            Assert.True(muxer.Write(w, frame));
            frame.Release();
        }
        Assert.Equal(spec.ExpectedVideoFrames, videoFrames);
        using var dir = new TempDirectory("flvmux");
        string path = dir.Combine("muxed.flv");
        await File.WriteAllBytesAsync(path, w.WrittenMemory.ToArray());
        var probe = await FfProbe.ProbeAsync(path, countFrames: true);
        Assert.Equal("h264", probe.Video!.CodecName);
        Assert.Equal(320, probe.Video.Width);
        Assert.Equal(240, probe.Video.Height);
        Assert.Equal(spec.ExpectedVideoFrames, probe.Video.ReadFrames);
        Assert.Equal("aac", probe.Audio!.CodecName);
        Assert.Equal(48000, probe.Audio.SampleRate);
    }
}
