using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>
/// The audience report of a broadcast against what its players themselves saw (docs/play.md, control/API.md "Audience").
/// Five players in Chromium watch one low-latency channel of the shared server: hls.js in low-latency mode through an
/// nginx edge (infra/nginx-edge.conf) whose audience log goes to the server, so that this viewer is counted from the
/// edge's log though the edge answers most of its requests from its cache; then, directly, hls.js with that mode off,
/// Shaka on the HLS master and dash.js on the MPD. These four send CMCD, each with its own session id; the fifth, hls.js
/// directly with no CMCD, is a viewer keyed by address and User-Agent; the hls.js players load playlists with the watch
/// page's policy (control/wwwroot/js/hls-load-policy.js), as a site's own page is told to (docs/low-latency.md). Five, not more: each decodes the picture, and with the
/// ladder's encoder the two cores are full (a sixth player made the throttled one time out, 2 runs in 5). The source is 480p, so the ladder adds a 360p rung. Once all
/// play, the second hls.js's network is throttled (Chromium's own network emulation, 1.2 Mb/s) and it moves down to 360p;
/// then the encoder stops sending for five seconds (SIGSTOP: its connection stays open, its viewers' buffers run dry) and
/// goes on. The report's peak and unique viewers, each viewer's delivery (as its own last manifest request gives it: an
/// MPD, a media playlist with <c>_HLS_msn</c>, which hls.js and Shaka send to a playlist that offers blocking reloads
/// whatever their low-latency mode, or one without), the minutes watched (each player's first request to its last answer,
/// in the report's 10 s buckets), the rungs, the rung switch and the stall (in the buckets of the pause, on no more sessions
/// than the CMCD players) match the players' own record. Nothing else asks this channel for a media
/// playlist, an MPD or a segment: the test waits on the admin API and reads the server's store folder, which count no viewer.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class AudienceReportTests(ServerFixture fixture, ITestOutputHelper output)
{
    private const int BucketSeconds = 10;

    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 854, Height = 480, Fps = 30, GopFrames = 30, VideoBitrateKbps = 2500, ZeroLatency = true };

    /// <summary>The throttled player's bandwidth: the 360p rung (700 kb/s and audio) fits, the 2.5 Mb/s source does not.</summary>
    private const int ThrottledBytesPerSecond = 150_000;

    /// <summary>
    /// One test player, the instants it asked for the channel's media (what counts a viewer) and got answers: a throttled
    /// player's request reaches the origin after the page issued it, up to when its answer comes back.
    /// </summary>
    private sealed record Watcher(string Name, PlayerKind Kind, string? Session, BrowserPlayer Player, ConcurrentQueue<DateTimeOffset> MediaRequests,
        ConcurrentQueue<DateTimeOffset> MediaAnswers, ConcurrentQueue<string> Manifests)
    {
        /// <summary>The report's delivery of the manifest this player asked for last (control/API.md "Audience").</summary>
        public string Delivery => Manifests.LastOrDefault() is not { } last ? "none"
            : new Uri(last).AbsolutePath.EndsWith(".mpd", StringComparison.Ordinal) ? "dash"
            : new Uri(last).Query.Contains("_HLS_msn=", StringComparison.Ordinal) ? "llhls" : "hls";
    }

    [Fact]
    public async Task The_report_counts_the_players_that_watched_by_delivery_minutes_and_the_stall_a_paused_encoder_caused()
    {
        var server = fixture.Server;
        var channel = await server.Api.CreateChannelAsync($"audience {Guid.NewGuid():N}", lowLatency: true);
        var clip = await TestMedia.GetClipAsync(Clip);
        // 10 s x 18: joining, the climb to the source and the throttle, a minute of watching, the pause and the report's last bucket.
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 17);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string Logs() => fixture.WithLog($"--- publisher ---{Environment.NewLine}{publisher.Log.Tail(10)}");
        // Live, and its master (with both rungs), MPD and rung playlists stored, read from the server's store folder: a
        // request for a media playlist or an MPD would count this test as a viewer.
        string stored = Path.Combine(server.MediaDirectory, channel.Slug);
        string Read(params string[] path)
        {
            try { return File.ReadAllText(Path.Combine([stored, .. path])); }
            catch (IOException) { return ""; }
        }
        await WaitFor.ConditionAsync(async () => (await server.Api.GetChannelAsync(channel.Id)).Live == true
                && Read("master.m3u8").Contains("360p/", StringComparison.Ordinal) && Read("master.m3u8").Contains("source/", StringComparison.Ordinal)
                && Read("manifest.mpd").Length > 0
                && Read("source", "index.m3u8").Contains("#EXTINF", StringComparison.Ordinal)
                && Read("360p", "index.m3u8").Contains("#EXTINF", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the channel to be live with its master, MPD and both rungs stored", Logs);

        await using var edge = await Storage.EdgeNginx.StartAsync([server.HttpPort], audienceLogPort: fixture.EdgeLogPort);
        var browser = await fixture.BrowserAsync();
        string slugPath = $"/live/{channel.Slug}/";
        var watchers = new List<Watcher>();
        try
        {
            var hls = PlaybackUrls.Hls(server, channel).ToString();
            var dash = PlaybackUrls.Dash(server, channel).ToString();
            foreach (var (name, kind, session, url) in new (string, PlayerKind, string?, string)[]
            {
                ("hls.js LL through the edge", PlayerKind.Hls, "audience-ll", new Uri(edge.BaseUri, $"live/{channel.Slug}/master.m3u8").ToString()),
                ("hls.js", PlayerKind.HlsWithoutLowLatency, "audience-hls", hls),
                ("Shaka", PlayerKind.Shaka, "audience-shaka", hls),
                ("dash.js", PlayerKind.Dash, "audience-dash", dash),
                ("hls.js without CMCD", PlayerKind.HlsWithoutLowLatency, null, hls),
            })
            {
                var player = await browser.OpenAsync(kind);
                var requests = new ConcurrentQueue<DateTimeOffset>();
                var answers = new ConcurrentQueue<DateTimeOffset>();
                var manifests = new ConcurrentQueue<string>();
                player.Page.Request += (_, request) =>
                {
                    // A media playlist, an MPD, an init segment, a segment or a part of this channel: not the master.
                    var path = new Uri(request.Url).AbsolutePath;
                    if (!path.StartsWith(slugPath, StringComparison.Ordinal) || path.EndsWith("/master.m3u8", StringComparison.Ordinal)) return;
                    requests.Enqueue(DateTimeOffset.UtcNow);
                    if (path.EndsWith(".m3u8", StringComparison.Ordinal) || path.EndsWith(".mpd", StringComparison.Ordinal)) manifests.Enqueue(request.Url);
                };
                player.Page.Response += (_, response) =>
                {
                    var path = new Uri(response.Url).AbsolutePath;
                    if (path.StartsWith(slugPath, StringComparison.Ordinal) && !path.EndsWith("/master.m3u8", StringComparison.Ordinal))
                        answers.Enqueue(DateTimeOffset.UtcNow);
                };
                await player.StartAsync(url, cmcdSession: session, watchPageLoadPolicy: true);
                watchers.Add(new Watcher(name, kind, session, player, requests, answers, manifests));
            }

            async Task<string> Describe()
            {
                var parts = new List<string>();
                foreach (var w in watchers) parts.Add($"--- {w.Name} ---{Environment.NewLine}{await w.Player.DescribeAsync()}");
                return string.Join(Environment.NewLine, parts) + Environment.NewLine + Logs()
                    + $"{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.AccessLogTail(20)}";
            }

            foreach (var w in watchers) await w.Player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), Logs);
            await WatchAsync(watchers, 15, Describe);

            // One viewer's network slows down: hls.js, on the source (its bandwidth on loopback takes it up there), moves down
            // to the 360p rung.
            var throttled = watchers.Single(w => w.Name == "hls.js");
            const string Height = "() => { const h = window.__hls; return h && h.currentLevel >= 0 ? h.levels[h.currentLevel].height : 0; }";
            await WaitFor.ConditionAsync(async () => await throttled.Player.EvaluateAsync<int>(Height) == Clip.Height,
                TimeSpan.FromSeconds(60), "hls.js to play the source rung", () => Describe().GetAwaiter().GetResult());
            var cdp = await throttled.Player.Page.Context.NewCDPSessionAsync(throttled.Player.Page);
            await cdp.SendAsync("Network.enable");
            await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
            {
                ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = ThrottledBytesPerSecond, ["uploadThroughput"] = ThrottledBytesPerSecond,
            });
            var throttledAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: all play, hls.js on the source; throttled");
            await WaitFor.ConditionAsync(async () => await throttled.Player.EvaluateAsync<int>(Height) == 360,
                TimeSpan.FromSeconds(60), "the throttled hls.js to play the 360p rung", () => Describe().GetAwaiter().GetResult());
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: hls.js on 360p");
            await WatchAsync(watchers, 10, Describe);

            // The encoder stops sending for five seconds: the players' buffers run dry (the low-latency one's is about a
            // second). The hls.js players load playlists with the watch page's policy, whose timeout retries keep a race of
            // held reloads from ending a player (control/wwwroot/js/hls-load-policy.js): with hls.js's own two, a six-second
            // pause failed one player of a CI run (audioTrackLoadTimeOut), and a twelve-second one failed none in another.
            var pausedAt = DateTimeOffset.UtcNow;
            publisher.Process.Freeze();
            try
            {
                await WaitFor.ConditionAsync(() => Task.FromResult(DateTimeOffset.UtcNow >= pausedAt.AddSeconds(5)), TimeSpan.FromSeconds(10),
                    "five seconds of a paused encoder");
            }
            finally
            {
                publisher.Process.Thaw();
            }
            var resumedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the encoder goes on");
            await WatchAsync(watchers, 20, Describe);

            // What the players saw: each one's first and last request, whether it waited for data after the pause began, and
            // whether it waited at all once it had played (the throttled one may, as it moves down): the report counts a
            // session that starved at any time of the broadcast.
            var stalledOwn = new List<string>();
            var waitedOwn = new List<string>();
            foreach (var w in watchers)
            {
                var waits = await w.Player.GetWaitsAsync();
                if (w.Session is null) continue;
                if (waits.Any(t => t >= pausedAt)) stalledOwn.Add(w.Name);
                if (waits.Count > 0) waitedOwn.Add(w.Name);
            }
            var fatal = new List<string>();
            foreach (var w in watchers) fatal.AddRange((await w.Player.GetFatalErrorsAsync()).Select(e => $"{w.Name}: {e}"));
            Assert.True(fatal.Count == 0, $"fatal player errors: {string.Join("; ", fatal)}{Environment.NewLine}{await Describe()}");
            foreach (var w in watchers) await w.Player.DisposeAsync();
            var closedAt = DateTimeOffset.UtcNow;
            Assert.True(stalledOwn.Count > 0, $"no player waited for data while the encoder was paused{Environment.NewLine}{await Describe()}");

            // The report, once the bucket the players left in has been read (a second after it ends) and written.
            long Bucket(DateTimeOffset t) => t.ToUnixTimeSeconds() / BucketSeconds * BucketSeconds;
            long lastBucket = Bucket(closedAt);
            string? broadcastId = null;
            JsonElement report = default;
            await WaitFor.ConditionAsync(async () =>
            {
                if (DateTimeOffset.UtcNow.ToUnixTimeSeconds() < lastBucket + BucketSeconds + 3) return false;
                if (await AudienceReports.LatestAsync(server.Http, channel.Id) is not { } latest) return false;
                (broadcastId, report) = latest;
                return true;
            }, TimeSpan.FromSeconds(60), "the audience report after the players left", Logs, TimeSpan.FromSeconds(1));

            // Expected from the players: each viewer's buckets from its first request's to its last answer's.
            long expectedSeconds = watchers.Sum(w => Bucket(w.MediaAnswers.Concat(w.MediaRequests).Max()) - Bucket(w.MediaRequests.Min()) + BucketSeconds);
            double minutes = report.GetProperty("minutesWatched").GetDouble();
            var quality = report.GetProperty("quality");
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"report of {broadcastId}: peak {report.GetProperty("peakViewers")}, unique {report.GetProperty("uniqueViewers")}, minutes {minutes:0.00} "
                + $"(players' own {expectedSeconds / 60.0:0.00}), by delivery {report.GetProperty("byDelivery")}, by rung {report.GetProperty("byRung")}, "
                + $"rung switches {quality.GetProperty("rungSwitches")}, CMCD viewers {quality.GetProperty("cmcdViewers")}, malformed CMCD values {quality.GetProperty("malformedValues")}, stalled {quality.GetProperty("stalledViewers")} (players that waited in the pause: {string.Join(", ", stalledOwn)}; at all: {string.Join(", ", waitedOwn)}); "
                + $"players' deliveries {string.Join(", ", watchers.Select(w => $"{w.Name} {w.Delivery}"))}; paused {pausedAt:HH:mm:ss.f}-{resumedAt:HH:mm:ss.f}, closed {closedAt:HH:mm:ss.f}");
            output.WriteLine(summary);
            string details = summary + Environment.NewLine + report;

            Assert.True(report.GetProperty("peakViewers").GetInt64() == watchers.Count, details);
            Assert.True(report.GetProperty("uniqueViewers").GetInt64() == watchers.Count, details);
            Assert.True(Math.Abs(minutes * 60 - expectedSeconds) <= expectedSeconds * 0.05, details);
            var byDelivery = report.GetProperty("byDelivery");
            foreach (var delivery in new[] { "hls", "llhls", "dash", "whep" })
            {
                int expected = watchers.Count(w => w.Delivery == delivery);
                Assert.True(byDelivery.GetProperty(delivery).GetProperty("viewers").GetInt64() == expected, $"{delivery}: {details}");
            }
            // Every viewer fetched a video rendition: in a bucket all five watched through, each is on one rung.
            var full = report.GetProperty("series").EnumerateArray().Where(p => p.GetProperty("viewers").GetInt64() == watchers.Count).ToList();
            Assert.True(full.Count >= 3, details);
            foreach (var point in full)
                Assert.True(point.GetProperty("rungs").EnumerateObject().Sum(r => r.Value.GetInt64()) == watchers.Count, $"{point}: {details}");
            // The throttled viewer on 360p after the throttle, in the series and the rung split; and the players' CMCD
            // bitrate changed at least once (that viewer's switch down).
            Assert.Contains(report.GetProperty("series").EnumerateArray(), p => Bucket(p.GetProperty("t").GetDateTimeOffset()) >= Bucket(throttledAt)
                && p.TryGetProperty("rungs", out var r) && r.TryGetProperty("360p", out var n) && n.GetInt64() >= 1);
            Assert.True(report.GetProperty("byRung").TryGetProperty("360p", out var low) && low.GetProperty("peakViewers").GetInt64() >= 1, details);
            Assert.True(quality.GetProperty("rungSwitches").GetInt64() >= 1, details);

            // The stall: the four CMCD players are the report's CMCD viewers; at least one session starved, no more than those
            // players, and a stall is reported in the buckets of the pause (its reports ride on the requests after it, so up to
            // the bucket 10 s after the encoder went on). Each player says 'starved' on its own terms: hls.js after the
            // element's 'waiting', Shaka in its buffering state (with 'su' alone, no 'bs': CmcdAudience reads it as the stall;
            // a CI run failed here when only Shaka and dash.js waited in the pause and Shaka's wait went uncounted), dash.js
            // on its buffer-empty event; so the pages' records of waits are printed, not a bound (a CI run had 3 starved
            // sessions where 1 page had waited in the pause).
            Assert.True(quality.GetProperty("cmcdViewers").GetInt64() == watchers.Count(w => w.Session is not null), details);
            // What the three players send reads whole: a value the origin drops from a real player is the reader's fault
            // (hls.js's 'st=ll' was one, counted malformed by the hundred in a CI run's report).
            Assert.True(quality.GetProperty("malformedValues").GetInt64() == 0, details);
            long stalledViewers = quality.GetProperty("stalledViewers").GetInt64();
            Assert.True(stalledViewers >= 1 && stalledViewers <= watchers.Count(w => w.Session is not null), details);
            var stallBuckets = quality.GetProperty("series").EnumerateArray()
                .Where(p => p.GetProperty("stalledSessions").GetInt64() > 0).Select(p => p.GetProperty("t").GetDateTimeOffset().ToUnixTimeSeconds()).ToList();
            Assert.True(stallBuckets.Any(b => b >= Bucket(pausedAt) && b <= Bucket(resumedAt) + BucketSeconds),
                $"no stall reported from {pausedAt:HH:mm:ss} to the bucket after {resumedAt:HH:mm:ss} (stalls in {string.Join(", ", stallBuckets.Select(b => DateTimeOffset.FromUnixTimeSeconds(b).ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}): {details}");
        }
        finally
        {
            foreach (var w in watchers) await w.Player.DisposeAsync();
        }
    }

    /// <summary>Waits until every player's clock has moved <paramref name="seconds"/> on (each keeps playing through it).</summary>
    private static async Task WatchAsync(List<Watcher> watchers, double seconds, Func<Task<string>> describe)
    {
        var from = new Dictionary<string, double>();
        foreach (var w in watchers) from[w.Name] = await w.Player.GetCurrentTimeAsync();
        foreach (var w in watchers)
            await w.Player.WaitForCurrentTimeAsync(from[w.Name] + seconds, TimeSpan.FromSeconds(seconds + 45), () => describe().GetAwaiter().GetResult());
    }
}
