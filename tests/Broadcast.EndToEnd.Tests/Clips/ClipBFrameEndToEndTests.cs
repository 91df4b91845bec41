using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Clips;

/// <summary>
/// #66: a clip of a broadcast whose encoder sends B-frames (x264 <c>-bf 2</c>, as OBS is set) plays to its end. Its
/// stored segments present their first picture two frames after they start (no edit list) and its ends, cut to the
/// frame by ffmpeg, are put on that same timeline; a clip of 4 s cut 0.7 s into a stored segment (a first piece, a
/// stored segment, a last piece) must reach <c>ended</c> in hls.js and in Shaka, having
/// played its 4 s to within two frames with no stall, and the watch page's <c>?clip=</c> player must reach <c>ended</c> too.
/// </summary>
public sealed class ClipBFrameEndToEndTests(ITestOutputHelper output)
{
    private const int Fps = 30;
    private const double ClipSeconds = 4;

    /// <summary>Two frames: the most the played span may differ from the clip's (an audio frame is 21 ms).</summary>
    private const double Tolerance = 2.0 / Fps;

    /// <summary>The longest the playhead may stand still once it has moved, before the end (hls.js stalled for good, #66).</summary>
    private const double MaxStallSeconds = 1.0;

    private static readonly ClipSpec Media = new()
    {
        Seconds = 12, Width = 320, Height = 180, Fps = Fps, VideoBitrateKbps = 300, BFrames = 2, Profile = "high",
    };

    /// <summary>
    /// Watches the element's playhead every 50 ms: where it first moved from once playing, where it stood at
    /// <c>ended</c>, and the longest it stood still in between (paused or not: the page never pauses it). Counting starts
    /// at the element's first <c>playing</c>: the clip's video starts two frames after its audio (B-frames, no edit
    /// list), and hls.js's start-up seek over that hole (0 to 0.167 s, which a loaded CI machine took 1.09 s to finish)
    /// moves the playhead before any picture is shown; that is start-up, not a stall a viewer sees mid-clip.
    /// </summary>
    private const string Monitor = """
        (video) => {
          const w = { start: null, end: null, longest: 0, last: -1, since: performance.now(), playing: !video.paused && video.readyState > 2 };
          window.__clipWatch = w;
          video.addEventListener('ended', () => { w.end = video.currentTime; });
          video.addEventListener('playing', () => { w.playing = true; });
          setInterval(() => {
            const now = performance.now();
            if (w.end !== null) return;
            if (!w.playing) { w.last = video.currentTime; w.since = now; return; }
            if (video.currentTime !== w.last) {
              if (w.start === null && w.last >= 0 && video.currentTime > w.last) w.start = video.buffered.length ? video.buffered.start(0) : w.last;
              w.last = video.currentTime;
              w.since = now;
            } else if (w.start !== null) {
              w.longest = Math.max(w.longest, (now - w.since) / 1000);
            }
          }, 50);
        }
        """;

    [Fact]
    public Task A_clip_of_a_b_frame_broadcast_cut_inside_its_segments_plays_to_its_end_in_hls_js_and_the_watch_page() =>
        PlayAsync([PlayerKind.Hls], watchPage: true);

    /// <summary>
    /// Shaka 5.2 (its default segments mode, streams synced by EXT-X-PROGRAM-DATE-TIME) ends every rendition's last
    /// segment at the least sum of EXTINFs before it places each at its program date-time. The audio's pieces start on
    /// an AAC frame 9 ms before the video's and listed 11 ms more, so its last segment ended 9 ms short of the
    /// presentation's duration, it never reached its end of stream, and playback waited at 3.958 s for good with the
    /// whole clip buffered. Every rendition now lists the video's span (<c>ClipEndsPlaylist</c>).
    /// </summary>
    [Fact]
    public Task A_clip_of_a_b_frame_broadcast_cut_inside_its_segments_plays_to_its_end_in_shaka() => PlayAsync([PlayerKind.Shaka], watchPage: false);

    private async Task PlayAsync(PlayerKind[] kinds, bool watchPage)
    {
        var media = await TestMedia.GetClipAsync(Media);
        await using var server = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = ["--Transcode:Enabled=false"] });
        var channel = await server.Api.CreateChannelAsync($"clip b-frames {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(media, server.RtmpUrl(channel.StreamKey), loops: 3);
        string Log(string m) => $"{m}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{server.LogTail()}"
            + $"{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}";

        // 1. 8 s stored; the clip starts 0.7 s into the second segment and ends 4 s later, inside another segment.
        var segments = await ClipFrameEndToEndTests.StoredSegmentsAsync(server, channel.Slug, 3, 1, 6, Log);
        var from = segments[1].Start.AddMilliseconds(700);
        var to = from.AddSeconds(ClipSeconds);
        using var created = await server.Http.PostAsJsonAsync($"api/channels/{channel.Id}/clips",
            new { from = Iso(from), to = Iso(to), title = "B-frames" });
        string body = await created.Content.ReadAsStringAsync();
        Assert.True(created.StatusCode == HttpStatusCode.Created, Log($"POST clips answered {(int)created.StatusCode}: {body}"));
        string clipId = JsonDocument.Parse(body).RootElement.GetProperty("id").GetString()!;
        string clipApi = $"api/channels/{channel.Id}/clips/{clipId}";
        string answer = "";
        await WaitFor.ConditionAsync(async () =>
        {
            answer = await server.Http.GetStringAsync(clipApi);
            var now = JsonDocument.Parse(answer).RootElement;
            return now.GetProperty("frameAccurate").GetBoolean() && now.TryGetProperty("downloadUrl", out _);
        }, TimeSpan.FromSeconds(180), "the clip finished: its ends cut and its MP4 made", () => Log(answer), TimeSpan.FromMilliseconds(500));
        var clip = JsonDocument.Parse(answer).RootElement;
        Assert.Equal((long)(ClipSeconds * 1000), clip.GetProperty("durationMs").GetInt64());
        var url = new Uri(clip.GetProperty("hlsUrl").GetString()!);
        string source = await server.Viewer.GetStringAsync(url.AbsolutePath.Replace("master.m3u8", "source.m3u8", StringComparison.Ordinal));
        Assert.Contains("\nsource/first.m4s\n", source, StringComparison.Ordinal);
        Assert.Contains("\nsource/last.m4s\n", source, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", source, StringComparison.Ordinal);
        output.WriteLine(source);
        string masterText = await server.Viewer.GetStringAsync(url);
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(masterText, "URI=\"([^\"]+)\""))
            output.WriteLine(await server.Viewer.GetStringAsync(new Uri(url, m.Groups[1].Value)));

        // 2. The players play it to its end.
        await using var browser = await BrowserHost.StartAsync();
        foreach (var kind in kinds)
        {
            await using var player = await browser.OpenAsync(kind);
            await player.StartAsync(url.ToString());
            await player.Page.EvaluateAsync($"({Monitor})", await player.Page.QuerySelectorAsync("#video"));
            output.WriteLine(await WaitEndedAsync(player.Page, "#video", $"{kind} to reach ended", Log));
            var (played, longest, start, end) = await PlayedAsync(player.Page);
            string seen = $"{kind}: played {start:0.000} .. {end:0.000} s = {played:0.000} s of {ClipSeconds} s, longest stall {longest:0.000} s, "
                + $"stalls reported {(await player.GetStallsAsync()).Count}";
            output.WriteLine(seen);
            Assert.Empty(await player.GetFatalErrorsAsync());
            string described = $"{seen}{Environment.NewLine}{await player.DescribeAsync()}";
            Assert.True(Math.Abs(played - ClipSeconds) <= Tolerance, described);
            Assert.True(longest <= MaxStallSeconds, described);
        }

        // 3. The share link's player (the watch page's own hls.js) reaches its end too.
        if (!watchPage) return;
        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync(new Uri(server.BaseUri, $"watch/{channel.Slug}?clip={clipId}").ToString());
            await PageNavigation.WaitForUrlAsync(page, u => u.Contains($"clip={clipId}", StringComparison.Ordinal), "the clip's watch page");
            await page.EvaluateAsync($"({Monitor})", await page.QuerySelectorAsync("#player"));
            output.WriteLine(await WaitEndedAsync(page, "#player", "the watch page's clip player to reach ended", Log));
            var (played, longest, start, end) = await PlayedAsync(page);
            output.WriteLine($"watch page: played {start:0.000} .. {end:0.000} s = {played:0.000} s, longest stall {longest:0.000} s");
            Assert.True(Math.Abs(played - ClipSeconds) <= Tolerance, $"watch page played {played:0.000} s");
            Assert.True(longest <= MaxStallSeconds, $"watch page stood still {longest:0.000} s");
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    /// <summary>
    /// Until the element fires <c>ended</c> (60 s: the clip lasts 4). What the page saw last (its playhead, its
    /// buffered ranges per track where the library says them, the monitor's figures) goes in the failure.
    /// </summary>
    private static async Task<string> WaitEndedAsync(Microsoft.Playwright.IPage page, string video, string what, Func<string, string> log)
    {
        string seen = "";
        string snapshot = $$"""
            () => {
              const v = document.querySelector('{{video}}');
              const ranges = (r) => Array.from({ length: r.length }, (_, i) => r.start(i).toFixed(3) + '-' + r.end(i).toFixed(3)).join(' ');
              const tracks = window.__shaka ? window.__shaka.getBufferedInfo() : null;
              const each = tracks ? ['audio', 'video'].map(k => k + ' ' + tracks[k].map(r => r.start.toFixed(3) + '-' + r.end.toFixed(3)).join(' ')).join(', ') : '';
              const q = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {};
              return JSON.stringify({ t: v.currentTime, duration: v.duration, ready: v.readyState, ended: v.ended, buffered: ranges(v.buffered), each,
                frames: q.totalVideoFrames, dropped: q.droppedVideoFrames, watch: window.__clipWatch,
                shaka: window.__shaka && window.__shaka.getManifest() ? { duration: window.__shaka.getManifest().presentationTimeline.getDuration(), seek: window.__shaka.seekRange() } : null });
            }
            """;
        await WaitFor.ConditionAsync(async () =>
            {
                seen = await page.EvaluateAsync<string>(snapshot);
                return JsonDocument.Parse(seen).RootElement.GetProperty("ended").GetBoolean();
            },
            TimeSpan.FromSeconds(60), what, () => log($"{what}: last seen {seen}"), TimeSpan.FromMilliseconds(200));
        return seen;
    }

    private static async Task<(double Played, double Longest, double Start, double End)> PlayedAsync(Microsoft.Playwright.IPage page)
    {
        var w = await page.EvaluateAsync<double[]>("() => { const w = window.__clipWatch; return [w.start ?? -1, w.end ?? -1, w.longest]; }");
        return (w[1] - w[0], w[2], w[0], w[1]);
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
