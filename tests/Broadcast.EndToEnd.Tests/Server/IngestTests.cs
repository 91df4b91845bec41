using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>RTMP ingest with real encoders, judged through the admin API's live status.</summary>
[Collection(ServerCollection.Name)]
public sealed class IngestTests(ServerFixture fixture)
{
    /// <summary>The ingest contract clip: 10 s H.264 + AAC, 640x360, 30 fps, 2 s GOP, 48 kHz stereo.</summary>
    public static readonly ClipSpec IngestClip = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Ffmpeg_publish_reports_codecs_and_counts_every_video_frame()
    {
        StartBothIngestPublishes();
        var run = await fixture.Scenario("ingest-ffmpeg", () => PublishAsync("ingest ffmpeg", (clip, url) => FfmpegPublisher.Start(clip, url)));
        await AssertIngestAsync(run);
    }

    [Fact]
    public async Task GStreamer_publish_reports_codecs_and_counts_every_video_frame()
    {
        StartBothIngestPublishes();
        var run = await fixture.Scenario("ingest-gst", () => PublishAsync("ingest gstreamer", (clip, url) => GStreamerPublisher.Start(clip, url)));
        await AssertIngestAsync(run);
    }

    [Fact]
    public async Task Wrong_stream_key_is_refused_with_BadName()
    {
        var clip = await TestMedia.GetClipAsync(IngestClip with { Width = 320, Height = 240, Seconds = 4 });
        await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl("no-such-key-" + Guid.NewGuid().ToString("N")));
        var exit = await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60));
        fixture.Check(exit != 0, $"ffmpeg publishing with a wrong key exited {exit}; expected a refusal.{Environment.NewLine}ffmpeg:{Environment.NewLine}{publisher.Log.Tail(30)}");
        await WaitFor.ConditionAsync(
            () => Server.Log.Contains("BadName"),
            TimeSpan.FromSeconds(15),
            "the server log to mention NetStream.Publish.BadName",
            () => fixture.WithLog($"ffmpeg:{Environment.NewLine}{publisher.Log.Tail(30)}"));
    }

    [Fact]
    public async Task Three_publishers_on_three_channels_are_all_live_at_once()
    {
        var spec = IngestClip with { Width = 320, Height = 240, VideoBitrateKbps = 300 };
        var clip = await TestMedia.GetClipAsync(spec);
        var channels = await Task.WhenAll(Enumerable.Range(1, 3).Select(i => Server.Api.CreateChannelAsync($"three-{i}-{Guid.NewGuid():N}")));
        var publishers = channels.Select(c => FfmpegPublisher.Start(clip, Server.RtmpUrl(c.StreamKey), loops: 2)).ToArray();
        try
        {
            ChannelStatus[] last = [];
            await WaitFor.ConditionAsync(
                async () =>
                {
                    last = await Task.WhenAll(channels.Select(c => Server.Api.GetChannelAsync(c.Id)));
                    // On air as soon as the publish is accepted; the track description follows with the first sequence header.
                    return last.All(s => s.Live == true && s.Width is > 0);
                },
                TimeSpan.FromSeconds(45),
                "all three channels to report live with their video described",
                () => fixture.WithLog($"statuses:{Environment.NewLine}{string.Join(Environment.NewLine, last.Select(s => s.ToString()))}{Environment.NewLine}{string.Join(Environment.NewLine, publishers.Select(p => p.Log.Tail(10)))}"));
            foreach (var (s, c) in last.Zip(channels))
            {
                fixture.Check(s.Width == spec.Width && s.Height == spec.Height, $"channel {c.Id} reports {s.Width}x{s.Height}, expected {spec.Width}x{spec.Height}: {s}");
            }

            fixture.Check(publishers.All(p => !p.HasExited), "a publisher exited while all three should be live: " + string.Join(Environment.NewLine, publishers.Select(p => p.Log.Tail(10))));
        }
        finally
        {
            foreach (var p in publishers)
            {
                await p.DisposeAsync();
            }
        }
    }

    /// <summary>Both ingest publishes overlap: whichever test runs first starts the other's publish too.</summary>
    private void StartBothIngestPublishes()
    {
        _ = fixture.Scenario("ingest-ffmpeg", () => PublishAsync("ingest ffmpeg", (clip, url) => FfmpegPublisher.Start(clip, url)));
        _ = fixture.Scenario("ingest-gst", () => PublishAsync("ingest gstreamer", (clip, url) => GStreamerPublisher.Start(clip, url)));
    }

    private async Task<IngestRun> PublishAsync(string name, Func<string, string, RtmpPublisher> start)
    {
        var clip = await TestMedia.GetClipAsync(IngestClip);
        var channel = await Server.Api.CreateChannelAsync($"{name} {Guid.NewGuid():N}");
        var sourceFrames = FfProbe.CountVideoFramesAsync(clip);
        var publisher = start(clip, Server.RtmpUrl(channel.StreamKey));

        // Sample the status while live (codec fields are only certain to be there then), then after the end.
        ChannelStatus live = ChannelStatusPaths.ReadStatus(null);
        Exception? liveFailure = null;
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    live = await Server.Api.GetChannelAsync(channel.Id);
                    return live.Live == true && live.Width is > 0 && live.SampleRate is > 0;
                },
                TimeSpan.FromSeconds(30),
                $"{name}: channel {channel.Id} live with video and audio described",
                () => $"last status: {live}{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(20)}");
        }
        catch (Exception e)
        {
            liveFailure = e;
        }

        var exit = await publisher.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return new IngestRun(channel, publisher, live, liveFailure, exit, await sourceFrames);
    }

    private async Task AssertIngestAsync(IngestRun run)
    {
        fixture.Check(run.LiveFailure is null, run.LiveFailure?.Message ?? "");
        fixture.Check(run.PublisherExit == 0, $"publisher exited {run.PublisherExit}:{Environment.NewLine}{run.Publisher.Log.Tail(30)}");
        var s = run.Live;
        fixture.Check(string.Equals(s.VideoCodec, "h264", StringComparison.OrdinalIgnoreCase), $"video codec '{s.VideoCodec}', expected h264: {s}");
        fixture.Check(s.VideoCodecString is null || s.VideoCodecString.StartsWith("avc1.", StringComparison.Ordinal), $"codec string '{s.VideoCodecString}' is not RFC 6381 avc1.*: {s}");
        fixture.Check(s.Width == IngestClip.Width && s.Height == IngestClip.Height, $"size {s.Width}x{s.Height}, expected {IngestClip.Width}x{IngestClip.Height}: {s}");
        fixture.Check(s.FrameRate is { } fr && Math.Abs(fr - IngestClip.Fps) < 0.5, $"frame rate {s.FrameRate}, expected {IngestClip.Fps}: {s}");
        fixture.Check(string.Equals(s.AudioCodec, "aac", StringComparison.OrdinalIgnoreCase), $"audio codec '{s.AudioCodec}', expected aac: {s}");
        fixture.Check(s.SampleRate == IngestClip.AudioSampleRate, $"sample rate {s.SampleRate}, expected {IngestClip.AudioSampleRate}: {s}");

        // After unpublish the counters are final: every frame the encoder sent was counted, no more, no less.
        ChannelStatus after = s;
        try
        {
            await WaitFor.ConditionAsync(
                async () =>
                {
                    after = await Server.Api.GetChannelAsync(run.Channel.Id);
                    return after.Live == false && after.VideoFrames == run.SourceVideoFrames;
                },
                TimeSpan.FromSeconds(20),
                $"channel {run.Channel.Id} to be off air with videoFrames == {run.SourceVideoFrames} (ffprobe's count of the source)");
        }
        catch (TimeoutException e)
        {
            Assert.Fail(fixture.WithLog($"{e.Message}{Environment.NewLine}last status: {after}"));
        }
    }

    private sealed record IngestRun(ChannelInfo Channel, RtmpPublisher Publisher, ChannelStatus Live, Exception? LiveFailure, int PublisherExit, long SourceVideoFrames)
        : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Publisher.DisposeAsync();
    }
}
