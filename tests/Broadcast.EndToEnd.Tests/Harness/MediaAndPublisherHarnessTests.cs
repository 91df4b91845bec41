using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>Proves the clip generator and both real publishers against a reference RTMP server (nginx-rtmp).</summary>
[Collection(HarnessCollection.Name)]
public sealed class MediaAndPublisherHarnessTests
{
    private static readonly ClipSpec SmallClip = new() { Seconds = 4, Width = 320, Height = 240, Fps = 30 };

    [Fact]
    public async Task TestMedia_generates_a_clip_ffprobe_reads_with_the_asked_parameters()
    {
        var spec = SmallClip with { Profile = "high" };
        var path = await TestMedia.GetClipAsync(spec);
        var probe = await FfProbe.ProbeAsync(path, countFrames: true);

        var v = Assert.IsType<ProbeStream>(probe.Video);
        var a = Assert.IsType<ProbeStream>(probe.Audio);
        Assert.Equal("h264", v.CodecName);
        Assert.Equal("High", v.Profile);
        Assert.Equal(320, v.Width);
        Assert.Equal(240, v.Height);
        Assert.Equal(30, v.FrameRate, 0.01);
        Assert.Equal(spec.ExpectedVideoFrames, v.ReadFrames);
        Assert.Equal("aac", a.CodecName);
        Assert.Equal(48000, a.SampleRate);
        Assert.Equal(2, a.Channels);
        Assert.Equal("flv", probe.FormatName);
    }

    [Fact]
    public async Task TestMedia_generates_each_clip_once_even_when_asked_in_parallel()
    {
        var spec = SmallClip with { Seconds = 2, Container = ClipContainer.Mp4 };
        var paths = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => TestMedia.GetClipAsync(spec))));
        Assert.Single(paths.Distinct());
        var written = File.GetLastWriteTimeUtc(paths[0]);
        Assert.Equal(paths[0], await TestMedia.GetClipAsync(spec));
        Assert.Equal(written, File.GetLastWriteTimeUtc(paths[0]));
        Assert.Empty(Directory.GetFiles(TestMedia.CacheDirectory, TestMedia.Key(spec) + ".*.partial"));
        Assert.Contains("mp4", (await FfProbe.ProbeAsync(paths[0])).FormatName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ffmpeg_publisher_is_seen_live_by_nginx_rtmp_and_ffprobe()
    {
        await using var nginx = await NginxRtmpServer.StartAsync();
        var clip = await TestMedia.GetClipAsync(SmallClip with { Seconds = 10 });
        await using var publisher = FfmpegPublisher.Start(clip, nginx.RtmpUrl("ffmpeg-key"));
        await AssertLiveAsync(nginx, publisher, "ffmpeg-key");
        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task GStreamer_publisher_is_seen_live_by_nginx_rtmp_and_ffprobe()
    {
        await using var nginx = await NginxRtmpServer.StartAsync();
        var clip = await TestMedia.GetClipAsync(SmallClip with { Seconds = 10 });
        await using var publisher = GStreamerPublisher.Start(clip, nginx.RtmpUrl("gst-key"));
        await AssertLiveAsync(nginx, publisher, "gst-key");
        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Nginx_rtmp_helper_reports_no_stream_when_nothing_publishes()
    {
        await using var nginx = await NginxRtmpServer.StartAsync();
        Assert.False(await nginx.IsPublishingAsync("nobody"));
        Assert.Equal("rtmp", (await nginx.GetStatAsync()).Root!.Name.LocalName);
    }

    private static async Task AssertLiveAsync(NginxRtmpServer nginx, RtmpPublisher publisher, string key)
    {
        string Diagnostics() => $"publisher:{Environment.NewLine}{publisher.Log.Tail(40)}{Environment.NewLine}nginx:{Environment.NewLine}{nginx.Log.Tail(40)}";
        await WaitFor.ConditionAsync(() => nginx.IsPublishingAsync(key), TimeSpan.FromSeconds(30), $"nginx-rtmp to list {key} as publishing", Diagnostics);

        // A player's view: ffprobe pulls the stream back out of nginx and finds both tracks.
        var probe = await FfProbe.ProbeAsync(nginx.RtmpUrl(key), timeout: TimeSpan.FromSeconds(30));
        Assert.True(probe.Video is { CodecName: "h264", Width: 320, Height: 240 }, $"video {probe.Video}{Environment.NewLine}{Diagnostics()}");
        Assert.True(probe.Audio is { CodecName: "aac", SampleRate: 48000 }, $"audio {probe.Audio}{Environment.NewLine}{Diagnostics()}");
    }
}
