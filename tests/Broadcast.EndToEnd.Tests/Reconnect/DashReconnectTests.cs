using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>
/// dash.js across an encoder reconnect on the shared server: the MPD gains a second Period at the join (the default
/// 30 s grace covers the 5 s gap) and dash.js, playing throughout, keeps advancing past it without a fatal error.
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed partial class DashReconnectTests(ServerFixture fixture)
{
    // 320x240 stays below every ladder rung: the source and audio are packaged as published.
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Dashjs_keeps_playing_across_a_join_into_a_new_period()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"dash reconnect {Guid.NewGuid():N}");
        var mpdUrl = Server.Absolute($"/live/{channel.Slug}/manifest.mpd");
        string mpd = "";
        async Task<string> MpdAsync()
        {
            using var r = await Server.Viewer.GetAsync(mpdUrl);
            mpd = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return mpd;
        }

        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Dash);
        var first = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5);
        try
        {
            // A viewer joins a running stream: dash.js starts its presentation delay (6 s) behind the live edge with that
            // much buffered. Started on the first segment it would sit at the very edge, starved every segment, which no
            // viewer does and which once left it waiting on Period p0's last segment across the drop.
            await WaitFor.ConditionAsync(async () => FirstTimelineSegments(await MpdAsync()) >= 4, TimeSpan.FromSeconds(60),
                "four segments in the MPD while publishing", () => fixture.WithLog($"{mpd}\n{first.Log.Tail(15)}"));
            await player.StartAsync(mpdUrl.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(mpd));
            var playing = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(playing + 3, TimeSpan.FromSeconds(45), () => fixture.WithLog(mpd));
        }
        finally
        {
            // Killed: the connection drops without an unpublish.
            first.Stop();
            await first.DisposeAsync();
        }
        await WaitFor.ConditionAsync(async () => await Playlists.IsReconnectingAsync(Server, channel.Id),
            TimeSpan.FromSeconds(30), "the channel to show as reconnecting", () => fixture.WithLog(""));

        // The scenario's gap (the encoder is away 5 s), not a synchronisation wait.
        await Task.Delay(TimeSpan.FromSeconds(5));
        await using var second = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 5);
        await WaitFor.ConditionAsync(async () => Regex.Matches(await MpdAsync(), "<Period ").Count >= 2, TimeSpan.FromSeconds(60),
            "a second Period at the join", () => fixture.WithLog($"{mpd}\n{second.Log.Tail(10)}"));
        var join = PeriodStarts(mpd)[^1];
        fixture.Check(mpd.Contains("type=\"dynamic\"", StringComparison.Ordinal), $"the MPD is not live:\n{mpd}");

        // dash.js plays into the new Period and on.
        await player.WaitForCurrentTimeAsync(join + 4, TimeSpan.FromSeconds(90),
            () => fixture.WithLog($"{MpdAsync().GetAwaiter().GetResult()}\n{player.DescribeAsync().GetAwaiter().GetResult()}"));
        var fatal = await player.GetFatalErrorsAsync();
        fixture.Check(fatal.Count == 0, $"dash.js fatal errors: {string.Join("; ", fatal)}\n{await player.DescribeAsync()}");
        second.Stop();
    }

    /// <summary>Segments in the MPD's first SegmentTimeline (S elements and their repeats).</summary>
    private static int FirstTimelineSegments(string mpd)
    {
        int start = mpd.IndexOf("<SegmentTimeline>", StringComparison.Ordinal);
        int end = start < 0 ? -1 : mpd.IndexOf("</SegmentTimeline>", start, StringComparison.Ordinal);
        if (end < 0) return 0;
        return TimelineEntry().Matches(mpd[start..end]).Sum(m => RepeatCount().Match(m.Value) is { Success: true } r
            ? 1 + int.Parse(r.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)
            : 1);
    }

    [GeneratedRegex(@"<S\b[^>]*/>")]
    private static partial Regex TimelineEntry();

    [GeneratedRegex(@"\br=""(\d+)""")]
    private static partial Regex RepeatCount();

    /// <summary>Period@start values in seconds (PT…S).</summary>
    private static List<double> PeriodStarts(string mpd) =>
        PeriodStart().Matches(mpd).Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    [GeneratedRegex(@"<Period [^>]*start=""PT([\d.]+)S""")]
    private static partial Regex PeriodStart();
}
