using System.Buffers;
using Broadcast.Media.Flv;
using Broadcast.TestSupport;

namespace Broadcast.Media.Tests.Flv;

/// <summary>
/// An FLV byte stream as a publish into a hub (pull sources, the relays of real-time channels): live from the first whole
/// tag and not before, frames in, a refusal for a hub in use or bytes that are not FLV, an unreadable frame skipped.
/// </summary>
public sealed class FlvPublishTests
{
    private static readonly byte[] AudioSpecificConfig = [0x12, 0x10]; // AAC LC, 44.1 kHz, stereo

    private static byte[] Header()
    {
        var w = new ArrayBufferWriter<byte>();
        FlvMuxer.WriteHeader(w, hasAudio: true, hasVideo: false);
        return w.WrittenSpan.ToArray();
    }

    private static byte[] Tags(int frames, bool withConfig = true)
    {
        var w = new ArrayBufferWriter<byte>();
        if (withConfig) FlvMuxer.WriteAudioTag(w, 0, packetType: 0, AudioSpecificConfig);
        for (int i = 0; i < frames; i++) FlvMuxer.WriteAudioTag(w, (uint)(i * 23), packetType: 1, [0x21, 0x10, (byte)i]);
        return w.WrittenSpan.ToArray();
    }

    private static SequencePosition Write(FlvPublish publish, byte[] bytes, out FlvPublishRefusal refusal, out string? error, out long consumed)
    {
        var buffer = new ReadOnlySequence<byte>(bytes);
        var position = publish.Write(buffer, out refusal, out error);
        consumed = buffer.Slice(0, position).Length;
        return position;
    }

    [Fact]
    public void The_publish_starts_at_the_first_whole_tag_and_its_frames_reach_the_hub()
    {
        var registry = new LiveStreamRegistry();
        LiveStream? started = null;
        var publish = new FlvPublish(registry, PublishTickets.For("show")) { Started = s => started = s };

        // The file header alone (and half a tag) is not a publish: a source that sends nothing usable never appears live.
        byte[] tags = Tags(3);
        Write(publish, [.. Header(), .. tags.AsSpan(0, 5)], out var refusal, out string? error, out long consumed);
        Assert.Equal(FlvPublishRefusal.None, refusal);
        Assert.Null(error);
        Assert.Equal(Header().Length, consumed);
        Assert.Null(publish.Stream);
        Assert.Null(registry.Find("show"));
        Assert.Null(started);

        Write(publish, tags, out refusal, out error, out consumed);
        Assert.Equal(FlvPublishRefusal.None, refusal);
        Assert.Null(error);
        Assert.Equal(tags.Length, consumed);
        var stream = Assert.IsType<LiveStream>(publish.Stream);
        Assert.Same(stream, started);
        Assert.Same(stream, registry.Find("show"));
        Assert.Equal(Codec.Aac, stream.Audio!.Codec);
        Assert.Equal(3L, stream.Statistics.AudioFrames);
        Assert.Null(publish.LastFrameError);

        publish.End();
        publish.End();
        Assert.True(stream.IsCompleted);
        Assert.Throws<ObjectDisposedException>(() => publish.Write(new ReadOnlySequence<byte>(tags), out _, out _));
    }

    [Fact]
    public void A_hub_that_still_has_its_publisher_refuses_and_nothing_is_written_to_it()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("show", out var owner));
        var publish = new FlvPublish(registry, PublishTickets.For("show"));
        Write(publish, [.. Header(), .. Tags(2)], out var refusal, out string? error, out _);
        Assert.Equal(FlvPublishRefusal.HubInUse, refusal);
        Assert.Null(error);
        Assert.Null(publish.Stream);
        Assert.Null(owner.Audio);
        publish.End();
        Assert.False(owner.IsCompleted);
    }

    [Theory]
    [InlineData("an HTML page", "<html><body>502 Bad Gateway</body></html>")]
    [InlineData("a JSON error", "{\"error\":\"not found\"}")]
    public void Bytes_that_are_not_flv_are_refused_with_the_readers_reason(string name, string text)
    {
        var registry = new LiveStreamRegistry();
        var publish = new FlvPublish(registry, PublishTickets.For("show"));
        Write(publish, System.Text.Encoding.UTF8.GetBytes(text), out var refusal, out string? error, out _);
        Assert.Equal(FlvPublishRefusal.NotFlv, refusal);
        Assert.False(string.IsNullOrEmpty(error), name);
        Assert.Null(registry.Find("show"));
    }

    [Fact]
    public void An_unreadable_frame_is_skipped_and_said_and_the_stream_goes_on()
    {
        var registry = new LiveStreamRegistry();
        var publish = new FlvPublish(registry, PublishTickets.For("show"));
        // A raw AAC frame before its AudioSpecificConfig cannot be read; the config and the frames after it can.
        Write(publish, [.. Header(), .. Tags(1, withConfig: false), .. Tags(2)], out var refusal, out _, out _);
        Assert.Equal(FlvPublishRefusal.None, refusal);
        Assert.Contains("sequence header", publish.LastFrameError, StringComparison.Ordinal);
        Assert.Equal(2L, publish.Stream!.Statistics.AudioFrames);
    }
}
