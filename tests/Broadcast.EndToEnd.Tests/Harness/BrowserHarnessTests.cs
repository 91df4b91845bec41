using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Harness;

/// <summary>
/// Proves the browser setup (Debian Chromium via Playwright, hls.js and dash.js from npm, the static
/// server) on VOD that ffmpeg's own muxers write, so a red server test later means the server, not the rig.
/// </summary>
[Collection(HarnessCollection.Name)]
public sealed class BrowserHarnessTests(HarnessFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 6, Width = 320, Height = 240, Fps = 30, Container = ClipContainer.Mp4 };

    [Fact]
    public async Task HlsJs_plays_an_ffmpeg_fmp4_hls_vod_to_its_end()
    {
        var dir = await WriteVodAsync("hls", (clip, outDir) =>
        [
            "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", clip, "-c", "copy",
            "-f", "hls", "-hls_segment_type", "fmp4", "-hls_time", "2", "-hls_playlist_type", "vod",
            "-hls_segment_filename", Path.Combine(outDir, "seg%03d.m4s"), Path.Combine(outDir, "index.m3u8"),
        ]);
        await PlayToEndAsync(PlayerKind.Hls, $"media/{dir}/index.m3u8");
    }

    [Fact]
    public async Task DashJs_plays_an_ffmpeg_dash_vod_to_its_end()
    {
        var dir = await WriteVodAsync("dash", (clip, outDir) =>
        [
            "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", clip, "-map", "0", "-c", "copy",
            "-f", "dash", "-seg_duration", "2", "-use_template", "1", "-use_timeline", "1",
            Path.Combine(outDir, "manifest.mpd"),
        ]);
        await PlayToEndAsync(PlayerKind.Dash, $"media/{dir}/manifest.mpd");
    }

    [Fact]
    public async Task Player_reports_a_fatal_error_for_a_missing_manifest()
    {
        var host = await fixture.BrowserAsync();
        await using var player = await host.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(host.Pages.Url("media/does-not-exist.m3u8").ToString());
        await Assert.ThrowsAsync<PlayerFatalErrorException>(() => player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60)));
        Assert.NotEmpty(await player.GetFatalErrorsAsync());
    }

    private async Task PlayToEndAsync(PlayerKind kind, string relativeUrl)
    {
        var host = await fixture.BrowserAsync();
        await using var player = await host.OpenAsync(kind);
        await player.StartAsync(host.Pages.Url(relativeUrl).ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60));
            var start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 2, TimeSpan.FromSeconds(60));
            Assert.Equal(Clip.Width, await player.GetVideoWidthAsync());
            Assert.Equal(Clip.Height, await player.GetVideoHeightAsync());
            Assert.InRange(await player.GetDurationAsync(), Clip.Seconds - 0.5, Clip.Seconds + 0.5);
            // hls.js ends the stream. dash.js 5.2 sometimes does not on a presentation whose every track ends exactly at
            // mediaPresentationDuration, as ffmpeg's DASH muxer writes them: it holds the last frame and re-seeks there
            // every 200 ms (about one run in five here). Reaching the last frame shows the whole presentation played.
            if (kind == PlayerKind.Dash)
                await player.WaitForCurrentTimeAsync(await player.GetDurationAsync() - 1.0 / Clip.Fps, TimeSpan.FromSeconds(60));
            else await player.WaitForEndedAsync(TimeSpan.FromSeconds(60));
            Assert.Empty(await player.GetFatalErrorsAsync());
            Assert.True(await player.GetCurrentTimeAsync() >= Clip.Seconds - 0.5);
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"harness-{kind}.png"));
            throw;
        }
    }

    private async Task<string> WriteVodAsync(string name, Func<string, string, IReadOnlyList<string>> args)
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var outDir = Path.Combine(fixture.Media.Path, name);
        Directory.CreateDirectory(outDir);
        var r = await ExternalProcess.RunAsync("ffmpeg", args(clip, outDir), TimeSpan.FromMinutes(2));
        Assert.True(r.ExitCode == 0, $"ffmpeg {name} muxer failed:{Environment.NewLine}{r.OutputTail}");
        return name;
    }
}
