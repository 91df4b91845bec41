using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>
/// The live half of the browser rig, on live HLS and DASH that ffmpeg's own muxers write in real time:
/// the same joins and waits the server's live playback test uses, proven before that server exists.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class LiveBrowserHarnessTests(HarnessFixture fixture)
{
    // The writers must stay live well past a slow join plus eight seconds of play: when a 20 s clip ran out, ffmpeg's
    // dash muxer wrote its final, static manifest and dash.js reached "ended" 3 s short of the mark. The test stops
    // the writers as soon as both players have advanced, so the longer clip costs nothing.
    private static readonly ClipSpec Clip = new() { Seconds = 60, Width = 320, Height = 240, Fps = 30, Container = ClipContainer.Mp4 };

    [Fact]
    public async Task HlsJs_and_DashJs_play_ffmpeg_live_streams_and_advance_eight_seconds()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var hlsDir = Directory.CreateDirectory(Path.Combine(fixture.Media.Path, "live-hls")).FullName;
        var dashDir = Directory.CreateDirectory(Path.Combine(fixture.Media.Path, "live-dash")).FullName;
        await using var hlsWriter = ExternalProcess.Start("ffmpeg",
        [
            "-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-i", clip, "-c", "copy",
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_list_size", "6",
            "-hls_segment_filename", Path.Combine(hlsDir, "seg%03d.m4s"), Path.Combine(hlsDir, "live.m3u8"),
        ]);
        await using var dashWriter = ExternalProcess.Start("ffmpeg",
        [
            "-hide_banner", "-nostdin", "-loglevel", "warning", "-re", "-i", clip, "-map", "0", "-c", "copy",
            "-f", "dash", "-seg_duration", "2", "-window_size", "6", "-use_template", "1", "-use_timeline", "1",
            Path.Combine(dashDir, "live.mpd"),
        ]);

        string Writers() => $"hls ffmpeg:{Environment.NewLine}{hlsWriter.Output.Tail(20)}{Environment.NewLine}dash ffmpeg:{Environment.NewLine}{dashWriter.Output.Tail(20)}";
        await WaitFor.ConditionAsync(
            () => File.Exists(Path.Combine(hlsDir, "live.m3u8")) && File.Exists(Path.Combine(dashDir, "live.mpd")),
            TimeSpan.FromSeconds(30), "ffmpeg to write the first live manifests", Writers);
        Assert.Contains("type=\"dynamic\"", await File.ReadAllTextAsync(Path.Combine(dashDir, "live.mpd")), StringComparison.Ordinal);

        var host = await fixture.BrowserAsync();
        await Task.WhenAll(
            PlayLiveAsync(host, PlayerKind.Hls, "media/live-hls/live.m3u8", Writers),
            PlayLiveAsync(host, PlayerKind.Dash, "media/live-dash/live.mpd", Writers));
    }

    private static async Task PlayLiveAsync(BrowserHost host, PlayerKind kind, string relativeUrl, Func<string> diagnostics)
    {
        await using var player = await host.OpenAsync(kind);
        await player.StartAsync(host.Pages.Url(relativeUrl).ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), diagnostics);
            var start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 8, TimeSpan.FromSeconds(45), diagnostics);
            Assert.Equal(Clip.Width, await player.GetVideoWidthAsync());
            Assert.Empty(await player.GetFatalErrorsAsync());
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"harness-live-{kind}.png"));
            throw;
        }
    }
}
