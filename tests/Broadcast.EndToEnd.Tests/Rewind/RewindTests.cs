using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Rewind;

/// <summary>
/// Start-over and rewind: a channel with a rewind window keeps its whole broadcast in the live manifests (HLS and DASH)
/// while a channel's plain live window would have slid on; its long playlist is offered as delta updates; a viewer who
/// arrives late starts from the beginning (the watch page's ?from=start and its "From the start" button, hls.js, dash.js
/// and Shaka), and goes back to live at the channel's normal latency.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed partial class RewindTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 500 };

    /// <summary>Media the broadcast holds before the viewers come: far more than the 12 s live window (6 segments of 2 s).</summary>
    private const double LateBySeconds = 30;

    /// <summary>A viewer at live is this close to what its player keeps as its live edge (hls.js: three target durations).</summary>
    private const double NormalLatencyBoundSeconds = 16;

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task A_late_viewer_starts_from_the_beginning_then_goes_back_to_live()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        var channel = await Server.Api.CreateChannelAsync($"rewind {Guid.NewGuid():N}");
        using (var r = await Server.Http.PatchAsJsonAsync($"api/channels/{channel.Id}", new { rewindSeconds = 600 }))
        {
            string body = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, fixture.WithLog($"PATCH rewindSeconds answered {(int)r.StatusCode}: {body}"));
            Assert.Equal(600, JsonNode.Parse(body)!["rewindSeconds"]!.GetValue<int>());
        }
        await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 8);
        string Log(string m) => fixture.WithLog($"{m}{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}");

        // 1. The playlist still starts at the broadcast's first segment once it holds LateBySeconds of media.
        string playlistPath = $"live/{channel.Slug}/source/index.m3u8";
        string playlist = "";
        long firstSequence = -1;
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await Server.Viewer.GetAsync(playlistPath);
            if (!r.IsSuccessStatusCode) return false;
            playlist = await r.Content.ReadAsStringAsync();
            if (firstSequence < 0 && MediaSequence(playlist) is long s) firstSequence = s;
            return ListedSeconds(playlist) >= LateBySeconds;
        }, TimeSpan.FromSeconds(120), $"{LateBySeconds} s of the broadcast in its playlist", () => Log(playlist), TimeSpan.FromSeconds(1));
        Assert.True(MediaSequence(playlist) == firstSequence, Log($"the playlist slid (first sequence {firstSequence}):{Environment.NewLine}{playlist}"));
        Assert.Contains("#EXT-X-PROGRAM-DATE-TIME:", playlist, StringComparison.Ordinal);

        // 2. Its players reload only the last part of it (RFC 8216bis 6.2.5.1): a delta update skips the older segments.
        var control = ServerControl().Match(playlist);
        Assert.True(control.Success, Log(playlist));
        using (var r = await Server.Viewer.GetAsync(playlistPath + "?_HLS_skip=YES"))
        {
            string delta = await r.Content.ReadAsStringAsync();
            Assert.True(r.IsSuccessStatusCode, Log(delta));
            var skip = Skipped().Match(delta);
            Assert.True(skip.Success && int.Parse(skip.Groups[1].Value, CultureInfo.InvariantCulture) > 0, Log(delta));
            Assert.True(delta.Length < playlist.Length, Log(delta));
        }
        string mpd = await Server.Viewer.GetStringAsync($"live/{channel.Slug}/manifest.mpd");
        Assert.Contains("timeShiftBufferDepth=\"PT600S\"", mpd, StringComparison.Ordinal);
        // The channel's live status says the window this broadcast took and the space retention keeps for it.
        var live = JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{channel.Id}"))!["live"]!;
        Assert.True(live["rewindSeconds"]?.GetValue<int>() == 600, Log(live.ToJsonString()));
        Assert.True(live["keptBytes"]?.GetValue<long>() > 0, Log(live.ToJsonString()));

        // 3. The watch page: a link to the start plays from the first segment, with the seek bar; "Live" goes back to live.
        var browser = await fixture.BrowserAsync();
        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}?from=start").ToString());
            // Playing, within the first segments of the seekable range (the broadcast's start), and still there a moment later.
            const string NearStart = "() => { const w = window.__watch; return !!w && !w.video.seeking && w.video.currentTime > 1 "
                + "&& w.video.seekable.length > 0 && w.video.currentTime - w.video.seekable.start(0) < 10; }";
            await WaitFor.ConditionAsync(() => page.EvaluateAsync<bool>(NearStart), TimeSpan.FromSeconds(60), "?from=start to play the broadcast's start",
                () => Log(page.EvaluateAsync<string>(
                    "() => { const w = window.__watch; return JSON.stringify(w && { rewind: document.getElementById('watch').dataset.rewind, "
                    + "start: w.hls && w.hls.config.startPosition, returns: w.returns, sync: w.hls && w.hls.liveSyncPosition, t: w.video.currentTime, "
                    + "seekable: w.video.seekable.length ? [w.video.seekable.start(0), w.video.seekable.end(0)] : null }); }").GetAwaiter().GetResult()),
                TimeSpan.FromMilliseconds(250));
            Assert.True(await page.IsVisibleAsync("#watch-rewind"), Log("the rewind bar is hidden"));
            double at = await page.EvaluateAsync<double>("() => window.__watch.video.currentTime");
            await page.WaitForFunctionAsync($"() => window.__watch.video.currentTime > {(at + 2).ToString(CultureInfo.InvariantCulture)}", null,
                new() { Timeout = 30_000 });
            Assert.True(await page.EvaluateAsync<bool>(NearStart.Replace("< 10", "< 14", StringComparison.Ordinal)), Log("the player left the start by itself"));
            await page.WaitForFunctionAsync("() => document.getElementById('watch-behind').textContent.startsWith('−')");

            await page.ClickAsync("#watch-go-live");
            await page.WaitForFunctionAsync(
                $"() => {{ const w = window.__watch; return w.rewind.behind() < 2 && Number.isFinite(w.hls.latency) && w.hls.latency < {NormalLatencyBoundSeconds} && !w.video.paused"
                + " && document.getElementById('watch-behind').textContent === 'Live'; }",
                null, new() { Timeout = 30_000 });

            await page.ClickAsync("#watch-from-start");
            await page.WaitForFunctionAsync(
                "() => { const v = window.__watch.video; return v.currentTime - v.seekable.start(0) < 10 && !v.seeking; }", null, new() { Timeout = 30_000 });
        }
        finally
        {
            await page.CloseAsync();
        }

        // 4. hls.js, dash.js and Shaka: the seek range reaches the start; from there they play, then back to live.
        var master = Server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var manifest = Server.Absolute($"/live/{channel.Slug}/manifest.mpd");
        foreach (var (kind, url) in new[] { (PlayerKind.Hls, master), (PlayerKind.Dash, manifest), (PlayerKind.Shaka, master) })
        {
            await using var player = await browser.OpenAsync(kind);
            await player.StartAsync(url.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(kind.ToString()));
            (double Start, double End) range = default;
            await WaitFor.ConditionAsync(async () => (await player.GetSeekRangeAsync()) is { } r && (range = r).End - r.Start >= LateBySeconds,
                TimeSpan.FromSeconds(30), $"{kind}'s seek range to reach back {LateBySeconds} s",
                () => Log($"{kind} range {range}; {player.DescribeAsync().GetAwaiter().GetResult()}"));

            await player.SeekToAsync(range.Start + 1);
            await player.WaitForCurrentTimeAsync(range.Start + 4, TimeSpan.FromSeconds(30), () => Log(kind.ToString()));
            double t = await player.GetCurrentTimeAsync();
            Assert.True(t < range.Start + 12, Log($"{kind} plays at {t:0.0}, not from the start of {range}"));

            await player.GoLiveAsync();
            double? latency = null;
            // dash.js reports its own live latency (from the MPD's wall clock), the test pages of the others the PROGRAM-DATE-TIME's.
            await WaitFor.ConditionAsync(async () => (latency = await player.GetWallLatencyAsync() ?? await player.GetLatencyAsync()) is { } l && l < NormalLatencyBoundSeconds
                    && await player.GetStateAsync() == "playing",
                TimeSpan.FromSeconds(40), $"{kind} back at live", () => Log($"{kind} latency {latency}; {player.DescribeAsync().GetAwaiter().GetResult()}"));
            Assert.Empty(await player.GetFatalErrorsAsync());
        }
    }

    private static long? MediaSequence(string playlist) =>
        Sequence().Match(playlist) is { Success: true } m ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : null;

    private static double ListedSeconds(string playlist) =>
        Extinf().Matches(playlist).Sum(m => double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));

    [GeneratedRegex(@"#EXT-X-MEDIA-SEQUENCE:(\d+)")]
    private static partial Regex Sequence();

    [GeneratedRegex(@"#EXTINF:([\d.]+),")]
    private static partial Regex Extinf();

    [GeneratedRegex(@"#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=\d+\.0\n")]
    private static partial Regex ServerControl();

    [GeneratedRegex(@"#EXT-X-SKIP:SKIPPED-SEGMENTS=(\d+)")]
    private static partial Regex Skipped();
}
