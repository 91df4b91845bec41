using Broadcast.Media.Flv;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.Media;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Restream;

/// <summary>Component tests: our publishing client against our own RtmpServer on loopback.</summary>
[Trait("Kind", "Component")]
public class RtmpPublishClientTests
{
    [Fact]
    public async Task Frames_published_by_the_client_arrive_intact_in_the_server()
    {
        var source = DemuxFfmpegClip();
        await using var host = await RtmpTestHost.StartAsync();
        var target = new RtmpPublishTarget(false, "127.0.0.1", host.EndPoint.Port, "live", TestPublishAuthorizer.GoodKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await RtmpPublishClient.PublishAsync(target, null, timeout.Token);

        var stream = host.Registry.Find("news");
        Assert.NotNull(stream);
        using var reader = stream!.OpenReader("check", 8192);
        await client.SendMetadataAsync(RtmpMetadata.From(source.Video, source.Audio), timeout.Token);
        foreach (var frame in source.Frames) Assert.True(await client.SendFrameAsync(frame, timeout.Token));

        var received = new List<MediaFrame>();
        while (received.Count < source.Frames.Count)
        {
            var frame = await reader.ReadAsync(timeout.Token);
            Assert.NotNull(frame);
            received.Add(frame!);
        }

        Assert.True(source.Video!.HasSameConfig(stream.Video));
        Assert.True(source.Audio!.HasSameConfig(stream.Audio));
        Assert.Equal(640.0, stream.Metadata["width"]);
        long baseMs = Timescales.Rescale(source.Frames[0].Dts, source.Frames[0].Track.Timescale, Timescales.Milliseconds);
        for (int i = 0; i < source.Frames.Count; i++)
        {
            var (sent, got) = (source.Frames[i], received[i]);
            Assert.Equal(sent.Kind, got.Kind);
            Assert.Equal(sent.IsKeyframe, got.IsKeyframe);
            Assert.Equal(sent.Data.ToArray(), got.Data.ToArray());
            long sentMs = Timescales.Rescale(sent.Dts, sent.Track.Timescale, Timescales.Milliseconds) - baseMs;
            Assert.Equal(sentMs, Timescales.Rescale(got.Dts, got.Track.Timescale, Timescales.Milliseconds));
            Assert.Equal(sent.CompositionOffset, got.CompositionOffset);
            got.Release();
        }
        Assert.True(client.BytesSent > source.Frames.Sum(f => f.Length));
        foreach (var f in source.Frames) f.Release();
    }

    [Fact]
    public async Task Message_bodies_built_by_the_caller_arrive_as_sent_with_their_own_times()
    {
        byte[] highAvcC = Convert.FromHexString(
            "0164001fffe1001a6764001facd9405005bb011000000300100000030320f1831960010006" + "68ebe3cb22c0" + "fdf8f800");
        byte[] idr = [0x00, 0x00, 0x00, 0x04, 0x65, 0x88, 0x84, 0x00];
        byte[] slice = [0x00, 0x00, 0x00, 0x03, 0x41, 0x9A, 0x00];
        byte[] aac = [0x21, 0x10, 0x04, 0x60, 0x8C, 0x1C];
        await using var host = await RtmpTestHost.StartAsync();
        var target = new RtmpPublishTarget(false, "127.0.0.1", host.EndPoint.Port, "live", TestPublishAuthorizer.GoodKey);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await using var client = await RtmpPublishClient.PublishAsync(target, null, timeout.Token);
        using var reader = host.Registry.Find("news")!.OpenReader("check", 64);

        // Legacy FLV tag bodies, each sent as one message exactly as built: the path a multitrack sender takes with its own bodies.
        await client.SendMessageAsync(video: true, 1000, (byte[])[0x17, 0x00, 0x00, 0x00, 0x00, .. highAvcC], timeout.Token);
        await client.SendMessageAsync(video: false, 1000, (byte[])[0xAF, 0x00, 0x11, 0x90], timeout.Token);
        await client.SendMessageAsync(video: true, 1000, (byte[])[0x17, 0x01, 0x00, 0x00, 0x00, .. idr], timeout.Token);
        await client.SendMessageAsync(video: false, 1010, (byte[])[0xAF, 0x01, .. aac], timeout.Token);
        await client.SendMessageAsync(video: true, 1033, (byte[])[0x27, 0x01, 0x00, 0x00, 0x00, .. slice], timeout.Token);

        var received = new List<MediaFrame>();
        while (received.Count < 3) received.Add((await reader.ReadAsync(timeout.Token))!);
        var video = received.Where(f => f.Kind == MediaKind.Video).ToArray();
        var audio = Assert.Single(received, f => f.Kind == MediaKind.Audio);
        Assert.Equal(2, video.Length);
        Assert.True(video[0].IsKeyframe);
        Assert.Equal(idr, video[0].Data.ToArray());
        Assert.False(video[1].IsKeyframe);
        Assert.Equal(slice, video[1].Data.ToArray());
        Assert.Equal(aac, audio.Data.ToArray());
        // Not rebased by the client: the frames keep the 33 ms between the times they were sent with.
        Assert.Equal(33, Timescales.Rescale(video[1].Dts - video[0].Dts, video[0].Track.Timescale, Timescales.Milliseconds));
        foreach (var frame in received) frame.Release();
    }

    [Fact]
    public async Task Wrong_key_fails_with_the_servers_BadName_code_and_keeps_its_words_for_the_log()
    {
        await using var host = await RtmpTestHost.StartAsync();
        var target = new RtmpPublishTarget(false, "127.0.0.1", host.EndPoint.Port, "live", "wrong-key");
        var ex = await Assert.ThrowsAsync<RtmpPublishException>(() => RtmpPublishClient.PublishAsync(target, null, CancellationToken.None));
        // The status shows the code (a word list), never the server's description.
        Assert.Equal("the server refused the publish (NetStream.Publish.BadName)", ex.Message);
        Assert.Equal("NetStream.Publish.BadName: unknown stream key", ex.Detail);
    }

    [Theory]
    [InlineData("NetStream.Publish.BadName: unknown stream key", "the server refused the publish (NetStream.Publish.BadName)")]
    [InlineData("NetConnection.Connect.Rejected: app not found", "the server refused the publish (NetConnection.Connect.Rejected)")]
    [InlineData("NetConnection.Connect.Rejected", "the server refused the publish (NetConnection.Connect.Rejected)")]
    [InlineData("redis_version:7.2.4 on 10.0.0.3", "the server refused the publish")]
    [InlineData("NetStream.Publish.<script>: x", "the server refused the publish")]
    [InlineData("refused without a reason", "the server refused the publish")]
    [InlineData(null, "the server refused the publish")]
    public void A_refusal_names_the_status_code_only(string? error, string reason) => Assert.Equal(reason, RtmpPublishClient.Refusal(error));

    [Fact]
    public async Task Closed_port_fails_with_connection_refused()
    {
        var target = new RtmpPublishTarget(false, "127.0.0.1", FreePort.Tcp(), "live", "k");
        var ex = await Assert.ThrowsAsync<RtmpPublishException>(() => RtmpPublishClient.PublishAsync(target, null, CancellationToken.None));
        Assert.Equal("connection refused", ex.Message);
    }

    [Fact]
    public async Task Server_going_away_completes_the_client_with_a_reason()
    {
        var host = await RtmpTestHost.StartAsync();
        var target = new RtmpPublishTarget(false, "127.0.0.1", host.EndPoint.Port, "live", TestPublishAuthorizer.GoodKey);
        await using var client = await RtmpPublishClient.PublishAsync(target, null, CancellationToken.None);
        await host.DisposeAsync();
        var ex = await Assert.ThrowsAsync<RtmpPublishException>(() => client.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.False(string.IsNullOrEmpty(ex.Message));
    }

    internal sealed record Source(VideoTrack? Video, AudioTrack? Audio, List<MediaFrame> Frames);

    /// <summary>Two seconds of libx264 (with B-frames, so composition offsets) and AAC from ffmpeg, demuxed into frames.</summary>
    internal static Source DemuxFfmpegClip(int seconds = 2, string size = "640x360", int toneHz = 1000)
    {
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.flv");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error",
            "-f", "lavfi", "-i", $"testsrc2=size={size}:rate=30", "-f", "lavfi", "-i", $"sine=frequency={toneHz}:sample_rate=48000",
            "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c:v", "libx264", "-preset", "veryfast", "-bf", "2", "-g", "30", "-c:a", "aac", "-b:a", "64k", "-f", "flv", clip);
        var stream = new LiveStream("source");
        var demuxer = new FlvDemuxer(stream);
        using var reader = stream.OpenReader("collect", 8192);
        byte[] file = File.ReadAllBytes(clip);
        string? error = null;
        var consumed = new FlvStreamReader().Read(new System.Buffers.ReadOnlySequence<byte>(file), tag => demuxer.TryWrite(tag, out error), out string? fileError);
        Assert.True(error is null && fileError is null, error ?? fileError);
        Assert.Equal(file.Length, consumed.GetInteger());
        var frames = new List<MediaFrame>();
        while (reader.TryRead(out var frame)) frames.Add(frame!);
        Assert.Contains(frames, f => f.CompositionOffset != 0);
        return new Source(stream.Video, stream.Audio, frames);
    }
}
