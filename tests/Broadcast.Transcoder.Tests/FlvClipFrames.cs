using Broadcast.Media;
using Broadcast.Media.Flv;

namespace Broadcast.Transcoder.Tests;

/// <summary>An FLV clip's frames, demuxed as ingest does (a hub of their own); the caller owns each frame's reference.</summary>
internal static class FlvClipFrames
{
    public static async Task<List<MediaFrame>> ReadAsync(string clip)
    {
        var hub = new LiveStream(Path.GetFileNameWithoutExtension(clip));
        using var reader = hub.OpenReader("test", capacity: 100_000);
        var demuxer = new FlvDemuxer(hub);
        var bytes = await File.ReadAllBytesAsync(clip);
        Assert.True(FlvFileHeader.TryRead(bytes, out _, out int offset));
        ReadOnlyMemory<byte> rest = bytes.AsMemory(offset);
        while (FlvTag.TryRead(rest.Span, out var tag, out int consumed, out _))
        {
            Assert.True(demuxer.TryWrite(tag, out var error), error);
            rest = rest[consumed..];
        }
        hub.Complete();
        var frames = new List<MediaFrame>();
        while (await reader.ReadAsync() is { } f) frames.Add(f);
        return frames;
    }
}
