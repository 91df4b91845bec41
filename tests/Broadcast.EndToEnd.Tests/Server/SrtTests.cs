using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>
/// SRT ingest on the shared server (its fixture turns SRT on): ffmpeg publishes MPEG-TS to the URL the channel API gives,
/// hls.js and dash.js play the channel; a caller with a wrong key is refused during the SRT handshake.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class SrtTests(ServerFixture fixture)
{
    private static readonly ClipSpec SrtClip = new() { Seconds = 16, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Ffmpeg_publishes_over_srt_and_hls_js_and_dash_js_play_it_while_a_wrong_key_is_refused()
    {
        var clip = await TestMedia.GetClipAsync(SrtClip);
        var channel = await Server.Api.CreateChannelAsync($"srt {Guid.NewGuid():N}");
        fixture.Check(channel.SrtUrl == $"srt://127.0.0.1:{fixture.SrtPort}?streamid=#!::r=live/{channel.StreamKey},m=publish",
            $"srtUrl {channel.SrtUrl}");
        await using var publisher = SrtPublisher.StartClip(clip, channel.SrtUrl!, loops: 2);
        string Publisher() => $"srt publisher:{Environment.NewLine}{publisher.Log.Tail(20)}";

        var hls = PlaybackUrls.Hls(Server, channel);
        var dash = PlaybackUrls.Dash(Server, channel);
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(hls);
                return r.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"GET {hls} to answer 200 while publishing over SRT", () => fixture.WithLog(Publisher()));

        // A caller with an unknown key, in the plain stream id form, while the first one is live.
        await using (var wrong = SrtPublisher.StartClip(clip, $"srt://127.0.0.1:{fixture.SrtPort}?streamid=live/not-a-key"))
        {
            var exit = await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60));
            fixture.Check(exit != 0, $"the wrong key's publisher exited {exit}; expected a refusal{Environment.NewLine}{wrong.Log.Tail(20)}");
        }
        await WaitFor.ConditionAsync(() => Server.Log.Contains("refused at the handshake (reject code 1401)"),
            TimeSpan.FromSeconds(15), "the server log to say why the wrong key was refused", () => fixture.WithLog(""));
        fixture.Check(!Server.Log.Contains("not-a-key"), "the refused stream key went into the server log");
        fixture.Check(!publisher.HasExited, $"the SRT publisher stopped when a wrong key was refused{Environment.NewLine}{Publisher()}");
        string metrics = await Server.Viewer.GetStringAsync("metrics");
        fixture.Check(MetricAtLeast(metrics, "broadcast_srt_publishers", 1) && MetricAtLeast(metrics, "broadcast_srt_publish_key_refused_total", 1),
            $"/metrics while publishing over SRT after a refused key:{Environment.NewLine}{string.Join(Environment.NewLine, metrics.Split('\n').Where(l => l.Contains("srt", StringComparison.Ordinal)))}");

        var status = await Server.Api.GetChannelAsync(channel.Id);
        fixture.Check(status.Live == true && string.Equals(status.VideoCodec, "h264", StringComparison.OrdinalIgnoreCase) && status.Width == 320 && status.Height == 240,
            $"channel status while publishing over SRT: {status}");

        var browser = await fixture.BrowserAsync();
        foreach (var (kind, url) in new[] { (PlayerKind.Hls, hls), (PlayerKind.Dash, dash) })
        {
            await using var player = await browser.OpenAsync(kind);
            await player.StartAsync(url.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(Publisher()));
            var start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + 3, TimeSpan.FromSeconds(45), () => fixture.WithLog(Publisher()));
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"{kind} fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
        }
        publisher.Stop();
    }

    private static bool MetricAtLeast(string metrics, string name, long least) =>
        System.Text.RegularExpressions.Regex.Match(metrics, $@"^{name} (\d+)$", System.Text.RegularExpressions.RegexOptions.Multiline) is { Success: true } m
        && long.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) >= least;
}
