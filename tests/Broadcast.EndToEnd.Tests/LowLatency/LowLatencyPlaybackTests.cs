using System.Globalization;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.LowLatency;

/// <summary>
/// A lowLatency channel end to end: ffmpeg publishes in real time, hls.js (lowLatencyMode) plays the LL-HLS
/// playlists, and the wall-clock latency (now minus the EXT-X-PROGRAM-DATE-TIME of the frame on screen) is measured
/// over 30 s of playback.
/// </summary>
public sealed class LowLatencyPlaybackTests(LowLatencyServerFixture fixture, ITestOutputHelper output) : IClassFixture<LowLatencyServerFixture>
{
    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Hlsjs_plays_a_low_latency_channel_within_2_5_s_of_the_wall_clock_for_30_s()
    {
        var clip = await TestMedia.GetClipAsync(LowLatencyServerFixture.Clip);
        var channel = await Server.Api.CreateChannelAsync($"ll {Guid.NewGuid():N}", lowLatency: true);
        // 10 s x 5: the publish outlasts joining plus 30 s of watching.
        await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 4);
        var hls = PlaybackUrls.Hls(Server, channel);
        var media = new Uri(hls, "source/index.m3u8");
        string playlist = "";
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(media);
                playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
                if (!playlist.Contains("#EXT-X-PART:", StringComparison.Ordinal)) return false;
                using var master = await Server.Viewer.GetAsync(hls);
                return master.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"{media} to list parts", () => fixture.WithLog($"publisher:{Environment.NewLine}{publisher.Log.Tail(15)}"));
        fixture.Check(playlist.Contains("#EXT-X-VERSION:9", StringComparison.Ordinal) && playlist.Contains("CAN-BLOCK-RELOAD=YES", StringComparison.Ordinal)
            && playlist.Contains("INDEPENDENT=YES", StringComparison.Ordinal) && playlist.Contains("#EXT-X-PRELOAD-HINT:TYPE=PART", StringComparison.Ordinal),
            $"not a low-latency playlist:{Environment.NewLine}{playlist}");

        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(hls.ToString());
        var samples = new List<double>();
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
            double start = await player.GetCurrentTimeAsync();
            // One sample per second of playback, 30 of them; each waits for the playhead, never a fixed sleep.
            for (int i = 1; i <= 30; i++)
            {
                await player.WaitForCurrentTimeAsync(start + i, TimeSpan.FromSeconds(20), () => fixture.WithLog(""));
                if (await player.GetWallLatencyAsync() is double latency) samples.Add(latency);
            }
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", "low-latency-hls.png"));
            throw;
        }

        string all = string.Join(" ", samples.Select(s => s.ToString("0.00", CultureInfo.InvariantCulture)));
        fixture.Check(samples.Count >= 20, $"hls.js reported a wall-clock latency only {samples.Count} times: {all}");
        // The settled latency: the median of the last 20 s (the first seconds include hls.js catching up to the live edge).
        var settled = samples.Skip(samples.Count - 20).Order().ToArray();
        double median = settled[settled.Length / 2];
        output.WriteLine($"hls.js wall-clock latency: median {median:0.00} s over the last 20 s; samples {all}");
        fixture.Check(median <= 2.5, $"wall-clock latency median {median:0.00} s over the last 20 s, above 2.5 s; samples: {all}{Environment.NewLine}{await player.DescribeAsync()}");
    }
}
