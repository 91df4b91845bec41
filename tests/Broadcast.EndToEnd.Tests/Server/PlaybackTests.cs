using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// Playback end to end: ffmpeg publishes, ffprobe and real browser players (hls.js, dash.js) watch live,
/// then the finished broadcast plays back as VOD. Publishes and players run concurrently to keep it short.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PlaybackTests(ServerFixture fixture)
{
    /// <summary>20 s so a live player has room to advance 8 s after joining.</summary>
    public static readonly ClipSpec LiveClip = new() { Seconds = 20, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    /// <summary>Short: the VOD test plays the whole recording.</summary>
    public static readonly ClipSpec VodClip = new() { Seconds = 8, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Live_stream_opens_in_ffprobe_and_plays_in_hlsjs_and_dashjs()
    {
        // Start the VOD test's publish now so its 8 s overlap this test (not the reverse: this one needs its stream live).
        _ = fixture.Scenario("playback-vod", () => PublishAsync("vod", VodClip));
        var live = await fixture.Scenario("playback-live", () => PublishAsync("live", LiveClip));
        var hls = PlaybackUrls.Hls(Server, live.Channel);
        var dash = PlaybackUrls.Dash(Server, live.Channel);
        await WaitForOkAsync(hls, live);
        await WaitForOkAsync(dash, live);

        var browser = await fixture.BrowserAsync();
        await Task.WhenAll(
            ProbeAsync(hls, live),
            ProbeAsync(dash, live),
            PlayLiveAsync(browser, PlayerKind.Hls, hls, live),
            PlayLiveAsync(browser, PlayerKind.Dash, dash, live),
            PlayLiveAsync(browser, PlayerKind.Shaka, hls, live),
            PlayLiveAsync(browser, PlayerKind.Shaka, dash, live));
    }

    [Fact]
    public async Task Finished_broadcast_plays_to_its_end_as_vod_in_hlsjs_and_dashjs()
    {
        var vod = await fixture.Scenario("playback-vod", () => PublishAsync("vod", VodClip));
        var exit = await vod.Publisher.WaitForExitAsync(TimeSpan.FromSeconds(90));
        fixture.Check(exit == 0, $"publisher exited {exit}:{Environment.NewLine}{vod.Publisher.Log.Tail(30)}");

        var hls = PlaybackUrls.Hls(Server, vod.Channel);
        var dash = PlaybackUrls.Dash(Server, vod.Channel);

        // Finalised: the media playlist is closed with EXT-X-ENDLIST and the MPD turned static (RFC 8216 4.3.3.4; ISO 23009-1 5.3.1.2).
        await WaitFor.ConditionAsync(
            async () => (await MediaPlaylistAsync(hls)).Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), $"{hls} media playlist to end with #EXT-X-ENDLIST", () => fixture.WithLog(""));
        await WaitFor.ConditionAsync(
            async () => (await Server.Viewer.GetStringAsync(dash)).Contains("type=\"static\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), $"{dash} to become type=\"static\"", () => fixture.WithLog(""));

        // The recording of the whole broadcast is listed once the packager has finalised it.
        RecordingInfo? recording = null;
        await WaitFor.ConditionAsync(
            async () => (recording = (await Server.Api.ListRecordingsAsync(vod.Channel.Id)).FirstOrDefault()) is not null,
            TimeSpan.FromSeconds(30), $"a recording of channel {vod.Channel.Id} to be listed", () => fixture.WithLog(""));
        var recordedHls = Server.Absolute(recording!.HlsUrl);
        var recordedDash = Server.Absolute(recording.DashUrl);
        string recordedPlaylist = await MediaPlaylistAsync(recordedHls);
        fixture.Check(recordedPlaylist.Contains("#EXT-X-PLAYLIST-TYPE:VOD", StringComparison.Ordinal) && recordedPlaylist.Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            $"{recordedHls} names a media playlist that is not a finished VOD:{Environment.NewLine}{recordedPlaylist}");

        var browser = await fixture.BrowserAsync();
        await Task.WhenAll(PlayVodAsync(browser, PlayerKind.Hls, recordedHls), PlayVodAsync(browser, PlayerKind.Dash, recordedDash));
    }

    private async Task<PublishedChannel> PublishAsync(string name, ClipSpec spec)
    {
        var clip = await TestMedia.GetClipAsync(spec);
        var channel = await Server.Api.CreateChannelAsync($"playback {name} {Guid.NewGuid():N}");
        var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey));
        return new PublishedChannel(channel, publisher, clip, spec);
    }

    private async Task WaitForOkAsync(Uri url, PublishedChannel live) =>
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(url);
                return r.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40),
            $"GET {url} to answer 200 while publishing",
            () => fixture.WithLog($"publisher:{Environment.NewLine}{live.Publisher.Log.Tail(15)}"));

    private async Task ProbeAsync(Uri url, PublishedChannel live)
    {
        ProbeResult probe;
        try
        {
            probe = await FfProbe.ProbeAsync(url.ToString(), timeout: TimeSpan.FromSeconds(60));
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            Assert.Fail(fixture.WithLog(e.Message));
            return;
        }

        fixture.Check(probe.Video is { CodecName: "h264" } v && v.Width == live.Spec.Width && v.Height == live.Spec.Height,
            $"ffprobe {url}: video {probe.Video}, expected h264 {live.Spec.Width}x{live.Spec.Height}");
        fixture.Check(probe.Audio is { CodecName: "aac" }, $"ffprobe {url}: audio {probe.Audio}, expected aac");
    }

    private async Task PlayLiveAsync(BrowserHost browser, PlayerKind kind, Uri url, PublishedChannel live)
    {
        await using var player = await browser.OpenAsync(kind);
        await player.StartAsync(url.ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
            var start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 8, TimeSpan.FromSeconds(45), () => fixture.WithLog(""));
            var width = await player.GetVideoWidthAsync();
            fixture.Check(width == live.Spec.Width, $"{kind} videoWidth {width}, expected {live.Spec.Width}{Environment.NewLine}{await player.DescribeAsync()}");
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"{kind} fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"live-{kind}.png"));
            throw;
        }
    }

    private async Task PlayVodAsync(BrowserHost browser, PlayerKind kind, Uri url)
    {
        await using var player = await browser.OpenAsync(kind);
        await player.StartAsync(url.ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
            await player.WaitForEndedAsync(TimeSpan.FromSeconds(VodClip.Seconds + 60), () => fixture.WithLog(""));
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"{kind} fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            var end = await player.GetCurrentTimeAsync();
            fixture.Check(end >= VodClip.Seconds - 1, $"{kind} ended at {end:0.00} s of a {VodClip.Seconds} s recording{Environment.NewLine}{await player.DescribeAsync()}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"vod-{kind}.png"));
            throw;
        }
    }

    /// <summary>The first media playlist the master lists (the video rendition).</summary>
    private async Task<string> MediaPlaylistAsync(Uri master)
    {
        var text = await Server.Viewer.GetStringAsync(master);
        var first = text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'))
            ?? throw new FormatException($"{master} lists no media playlist:{Environment.NewLine}{text}");
        return await Server.Viewer.GetStringAsync(new Uri(master, first));
    }
}

/// <summary>Where a channel plays: the API's URLs when given, else the DESIGN.md paths by slug.</summary>
public static class PlaybackUrls
{
    public static Uri Hls(ServerProcess server, ChannelInfo channel) =>
        server.Absolute(string.IsNullOrEmpty(channel.HlsUrl) ? $"/live/{channel.Slug}/master.m3u8" : channel.HlsUrl);

    public static Uri Dash(ServerProcess server, ChannelInfo channel) =>
        server.Absolute(string.IsNullOrEmpty(channel.DashUrl) ? $"/live/{channel.Slug}/manifest.mpd" : channel.DashUrl);
}
