using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>One browser viewer of the scenario: its player, its CMCD session id (null: none), its manifest and its way in.</summary>
internal sealed record AudienceViewer(string Name, PlayerKind Kind, string? Session, bool Dash = false, bool ThroughEdge = false);

/// <summary>What the scenario runs against and with whom.</summary>
internal sealed record AudienceScenarioSetup
{
    public required ServerProcess Server { get; init; }

    /// <summary>The browser every viewer's tab opens in (for WHEP viewers, with host candidates without mDNS).</summary>
    public required BrowserHost Browser { get; init; }

    /// <summary>
    /// Each viewer asks its own host name for the loopback address, so that it has its own connections, as a viewer on its own
    /// machine has: a browser keeps at most six to one host, and the held reloads of a score of low-latency players in one
    /// would hold the others' requests back. The browser must be started with <see cref="AudienceScenario.ViewerHostRule"/>.
    /// </summary>
    public bool HostNamePerViewer { get; init; }

    /// <summary>The server's <c>Origin:EdgeLogPort</c>: the edge's audience log goes there.</summary>
    public required int EdgeLogPort { get; init; }

    /// <summary>The encoder's clip: its height is the source rung's.</summary>
    public required ClipSpec Clip { get; init; }

    /// <summary>The ladder's rung below the source, which the throttled viewer moves down to.</summary>
    public required (string Name, int Height) LowRung { get; init; }

    /// <summary>The throttled viewer's bandwidth: the low rung and audio fit, the source does not.</summary>
    public required int ThrottledBytesPerSecond { get; init; }

    /// <summary>The browser viewers; the one named <see cref="ThrottledViewer"/> is an hls.js player.</summary>
    public required IReadOnlyList<AudienceViewer> Viewers { get; init; }

    public required string ThrottledViewer { get; init; }

    /// <summary>Viewers over WHEP (tests/players/whep.html), beside the browser viewers.</summary>
    public int WhepViewers { get; init; }

    /// <summary>How many times the encoder sends its 10 s clip: joining, the climb to the source and the throttle, a minute of
    /// watching, the pause and the report's last bucket.</summary>
    public int PublisherLoops { get; init; } = 17;

    /// <summary>
    /// True: every player must play on through each stretch of watching (a player that stops fails the test). False, for a
    /// load run whose players may stop on a loaded machine: each must start, and then the stretches are wall-clock time; a
    /// player that stopped still asks for media and is still a viewer, and the report must still match its own record.
    /// </summary>
    public bool EveryPlayerPlaysThrough { get; init; } = true;

    public required ITestOutputHelper Output { get; init; }

    /// <summary>Appends what the server says to a failure message.</summary>
    public required Func<string, string> WithLog { get; init; }
}

/// <summary>
/// The audience report of a broadcast against what its players themselves saw (docs/play.md, control/API.md "Audience"),
/// for any number of viewers: each viewer plays one low-latency channel in its own tab (some through an nginx edge,
/// infra/nginx-edge.conf, whose audience log goes to the server, so those viewers are counted from the edge's log though the
/// edge answers most of their requests from its cache), and the WHEP viewers play it in real time. Once all play, one hls.js
/// viewer's network is throttled (Chromium's own network emulation) and it moves down to the low rung; then the encoder stops
/// sending for five seconds (SIGSTOP: its connection stays open, its viewers' buffers run dry) and goes on. The report's
/// peak and unique viewers, each viewer's delivery (as its own last manifest request gives it: an MPD, a media playlist with
/// <c>_HLS_msn</c>, which hls.js and Shaka send to a playlist that offers blocking reloads whatever their low-latency mode,
/// or one without; WHEP), the minutes watched (each player's first request to its last answer, in the report's 10 s
/// buckets), the rungs, the rung switch and the stall (in the buckets of the pause, on no more sessions than the CMCD
/// players) must match the players' own record. Nothing else asks the channel for a media playlist, an MPD or a segment: the
/// scenario waits on the admin API and reads the server's store folder, which count no viewer. Viewers without CMCD are keyed
/// by address and User-Agent, so the scenario has at most one of them.
/// </summary>
internal static class AudienceScenario
{
    private const int BucketSeconds = 10;

    private const string ViewerHostSuffix = "viewers.test";

    /// <summary>
    /// The Chromium switch the scenario's browsers need: every viewer's own host name (<c>viewerN.viewers.test</c>, a name
    /// under the reserved <c>.test</c>) resolves to the loopback address.
    /// </summary>
    public const string ViewerHostRule = "--host-resolver-rules=MAP *." + ViewerHostSuffix + " 127.0.0.1";

    /// <summary>
    /// One test player, the instants it asked for the channel's media (what counts a viewer) and got answers: a throttled
    /// player's request reaches the origin after the page issued it, up to when its answer comes back.
    /// </summary>
    private sealed record Watcher(AudienceViewer Viewer, BrowserPlayer Player, ConcurrentQueue<DateTimeOffset> MediaRequests,
        ConcurrentQueue<DateTimeOffset> MediaAnswers, ConcurrentQueue<string> Manifests, ConcurrentQueue<string> AnsweredManifests)
    {
        public string Name => Viewer.Name;

        /// <summary>The report's delivery of the manifest this player asked for last (control/API.md "Audience").</summary>
        public string Delivery => DeliveryOf(Manifests.LastOrDefault());

        /// <summary>
        /// The deliveries the report may give this viewer: the origin keeps the delivery of the last manifest request it
        /// received, which is the last one the page asked for or, when that one had not reached the origin as the page
        /// closed (a throttled player's request waits in Chromium's emulated network), the last one answered.
        /// </summary>
        public IReadOnlySet<string> Deliveries => new HashSet<string>(StringComparer.Ordinal) { Delivery, DeliveryOf(AnsweredManifests.LastOrDefault()) };

        private static string DeliveryOf(string? manifest) => manifest is null ? "none"
            : new Uri(manifest).AbsolutePath.EndsWith(".mpd", StringComparison.Ordinal) ? "dash"
            : new Uri(manifest).Query.Contains("_HLS_msn=", StringComparison.Ordinal) ? "llhls" : "hls";
    }

    /// <summary>A WHEP viewer's tab, when it posted its offer and when its DELETE was answered.</summary>
    private sealed class WhepWatcher(string name, IPage page)
    {
        public string Name { get; } = name;

        public IPage Page { get; } = page;

        public DateTimeOffset Posted { get; set; }

        public DateTimeOffset? Stopped { get; set; }

        public Task<int> FramesDecodedAsync() => Page.EvaluateAsync<int>("() => window.__whep.framesDecoded || 0");

        public Task<string> DescribeAsync() => Page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)");
    }

    public static async Task RunAsync(AudienceScenarioSetup setup)
    {
        var server = setup.Server;
        var output = setup.Output;
        var channel = await server.Api.CreateChannelAsync($"audience {Guid.NewGuid():N}", lowLatency: true);
        var clip = await TestMedia.GetClipAsync(setup.Clip);
        await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: setup.PublisherLoops);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string Logs() => setup.WithLog($"--- publisher ---{Environment.NewLine}{publisher.Log.Tail(10)}");
        // Live, and its master (with both rungs), MPD and rung playlists stored, read from the server's store folder: a
        // request for a media playlist or an MPD would count the test as a viewer.
        string low = setup.LowRung.Name;
        string stored = Path.Combine(server.MediaDirectory, channel.Slug);
        string Read(params string[] path)
        {
            try { return File.ReadAllText(Path.Combine([stored, .. path])); }
            catch (IOException) { return ""; }
        }
        await WaitFor.ConditionAsync(async () => (await server.Api.GetChannelAsync(channel.Id)).Live == true
                && Read("master.m3u8").Contains($"{low}/", StringComparison.Ordinal) && Read("master.m3u8").Contains("source/", StringComparison.Ordinal)
                && Read("manifest.mpd").Length > 0
                && Read("source", "index.m3u8").Contains("#EXTINF", StringComparison.Ordinal)
                && Read(low, "index.m3u8").Contains("#EXTINF", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the channel to be live with its master, MPD and both rungs stored", Logs);

        await using var edge = await Storage.EdgeNginx.StartAsync([server.HttpPort], audienceLogPort: setup.EdgeLogPort);
        string slugPath = $"/live/{channel.Slug}/";
        var watchers = new List<Watcher>();
        var whep = new List<WhepWatcher>();
        try
        {
            foreach (var (viewer, index) in setup.Viewers.Select((v, i) => (v, i)))
            {
                var origin = viewer.ThroughEdge ? edge.BaseUri : server.BaseUri;
                if (setup.HostNamePerViewer) origin = new UriBuilder(origin) { Host = $"viewer{index + 1}.{ViewerHostSuffix}" }.Uri;
                string url = new Uri(origin, $"live/{channel.Slug}/{(viewer.Dash ? "manifest.mpd" : "master.m3u8")}").ToString();
                var player = await setup.Browser.OpenAsync(viewer.Kind);
                var requests = new ConcurrentQueue<DateTimeOffset>();
                var answers = new ConcurrentQueue<DateTimeOffset>();
                var manifests = new ConcurrentQueue<string>();
                var answeredManifests = new ConcurrentQueue<string>();
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
                    if (!path.StartsWith(slugPath, StringComparison.Ordinal) || path.EndsWith("/master.m3u8", StringComparison.Ordinal)) return;
                    answers.Enqueue(DateTimeOffset.UtcNow);
                    if (path.EndsWith(".m3u8", StringComparison.Ordinal) || path.EndsWith(".mpd", StringComparison.Ordinal)) answeredManifests.Enqueue(response.Url);
                };
                await player.StartAsync(url, cmcdSession: viewer.Session, watchPageLoadPolicy: true);
                watchers.Add(new Watcher(viewer, player, requests, answers, manifests, answeredManifests));
            }
            string whepEndpoint = new Uri(server.BaseUri, $"live/{channel.Slug}/whep").ToString();
            for (int i = 0; i < setup.WhepViewers; i++)
            {
                var page = await setup.Browser.NewPageAsync();
                var watcher = new WhepWatcher($"WHEP {i + 1}", page) { Posted = DateTimeOffset.UtcNow };
                whep.Add(watcher);
                await page.GotoAsync(setup.Browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(whepEndpoint)}").ToString());
            }

            async Task<string> Describe()
            {
                var parts = new List<string>();
                foreach (var w in watchers) parts.Add($"--- {w.Name} ---{Environment.NewLine}{await w.Player.DescribeAsync()}");
                foreach (var w in whep) parts.Add($"--- {w.Name} ---{Environment.NewLine}{await w.DescribeAsync()}");
                return string.Join(Environment.NewLine, parts) + Environment.NewLine + Logs()
                    + $"{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.AccessLogTail(20)}";
            }

            bool strict = setup.EveryPlayerPlaysThrough;
            foreach (var w in watchers)
            {
                if (strict) await w.Player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), Logs);
                else await WaitFor.ConditionAsync(async () => await w.Player.GetCurrentTimeAsync() > 0, TimeSpan.FromSeconds(90), $"{w.Name} to start",
                    () => Describe().GetAwaiter().GetResult());
            }
            foreach (var w in whep)
                await WaitFor.ConditionAsync(async () => await w.FramesDecodedAsync() > 15, TimeSpan.FromSeconds(60), $"{w.Name} to decode frames",
                    () => Describe().GetAwaiter().GetResult());
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {watchers.Count + whep.Count} viewers play");
            await WatchAsync(watchers, whep, 15, Describe, strict);

            // One viewer's network slows down: hls.js, on the source (its bandwidth on loopback takes it up there), moves down
            // to the low rung.
            var throttled = watchers.Single(w => w.Name == setup.ThrottledViewer);
            const string Height = "() => { const h = window.__hls; return h && h.currentLevel >= 0 ? h.levels[h.currentLevel].height : 0; }";
            await WaitFor.ConditionAsync(async () => await throttled.Player.EvaluateAsync<int>(Height) == setup.Clip.Height,
                TimeSpan.FromSeconds(60), "the throttled viewer's hls.js to play the source rung", () => Describe().GetAwaiter().GetResult());
            var cdp = await throttled.Player.Page.Context.NewCDPSessionAsync(throttled.Player.Page);
            await cdp.SendAsync("Network.enable");
            await cdp.SendAsync("Network.emulateNetworkConditions", new Dictionary<string, object>
            {
                ["offline"] = false, ["latency"] = 0, ["downloadThroughput"] = setup.ThrottledBytesPerSecond, ["uploadThroughput"] = setup.ThrottledBytesPerSecond,
            });
            var throttledAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: all play, {throttled.Name} on the source; throttled");
            await WaitFor.ConditionAsync(async () => await throttled.Player.EvaluateAsync<int>(Height) == setup.LowRung.Height,
                TimeSpan.FromSeconds(60), $"the throttled hls.js to play the {low} rung", () => Describe().GetAwaiter().GetResult());
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: {throttled.Name} on {low}");
            await WatchAsync(watchers, whep, 10, Describe, strict);

            // The encoder stops sending for five seconds: the players' buffers run dry (the low-latency one's is about a
            // second). The hls.js players load playlists with the watch page's policy, whose timeout retries keep a race of
            // held reloads from ending a player (control/wwwroot/js/hls-load-policy.js): with hls.js's own two, a six-second
            // pause failed one player of a CI run (audioTrackLoadTimeOut), and a twelve-second one failed none in another.
            var pausedAt = DateTimeOffset.UtcNow;
            publisher.Process.Freeze();
            try
            {
                await WaitFor.UntilAsync(pausedAt.AddSeconds(5), TimeSpan.FromSeconds(10), "five seconds of a paused encoder");
            }
            finally
            {
                publisher.Process.Thaw();
            }
            var resumedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"{clock.Elapsed.TotalSeconds:0.0} s: the encoder goes on");
            await WatchAsync(watchers, whep, 20, Describe, strict);

            // What the players saw: each one's first and last request, whether it waited for data after the pause began, and
            // whether it waited at all once it had played (the throttled one may, as it moves down): the report counts a
            // session that starved at any time of the broadcast.
            if (!strict)
            {
                var stopped = new List<string>();
                foreach (var w in watchers)
                {
                    string state = await w.Player.GetStateAsync();
                    if (state != "playing") stopped.Add($"{w.Name} ({state} at {await w.Player.GetCurrentTimeAsync():0.0} s)");
                }
                output.WriteLine($"players not playing at the end: {(stopped.Count == 0 ? "none" : string.Join(", ", stopped))}");
            }
            var stalledOwn = new List<string>();
            var waitedOwn = new List<string>();
            foreach (var w in watchers)
            {
                var waits = await w.Player.GetWaitsAsync();
                if (w.Viewer.Session is null) continue;
                if (waits.Any(t => t >= pausedAt)) stalledOwn.Add(w.Name);
                if (waits.Count > 0) waitedOwn.Add(w.Name);
            }
            var fatal = new List<string>();
            foreach (var w in watchers) fatal.AddRange((await w.Player.GetFatalErrorsAsync()).Select(e => $"{w.Name}: {e}"));
            foreach (var w in whep)
                if (await w.Page.EvaluateAsync<string?>("() => window.__whep.error") is { } error) fatal.Add($"{w.Name}: {error}");
            Assert.True(fatal.Count == 0, $"fatal player errors: {string.Join("; ", fatal)}{Environment.NewLine}{await Describe()}");
            foreach (var w in whep)
            {
                Assert.Equal(200, await w.Page.EvaluateAsync<int>("() => window.__whepStop()"));
                w.Stopped = DateTimeOffset.UtcNow;
            }
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

            // Expected from the players: each viewer's buckets from its first request's to its last answer's (a WHEP viewer's
            // from its offer's to its DELETE's).
            int viewers = watchers.Count + whep.Count;
            long expectedSeconds = watchers.Sum(w => Bucket(w.MediaAnswers.Concat(w.MediaRequests).Max()) - Bucket(w.MediaRequests.Min()) + BucketSeconds)
                + whep.Sum(w => Bucket(w.Stopped!.Value) - Bucket(w.Posted) + BucketSeconds);
            double minutes = report.GetProperty("minutesWatched").GetDouble();
            var quality = report.GetProperty("quality");
            string summary = string.Create(CultureInfo.InvariantCulture,
                $"report of {broadcastId}: peak {report.GetProperty("peakViewers")}, unique {report.GetProperty("uniqueViewers")}, minutes {minutes:0.00} "
                + $"(players' own {expectedSeconds / 60.0:0.00}), by delivery {report.GetProperty("byDelivery")}, by rung {report.GetProperty("byRung")}, "
                + $"rung switches {quality.GetProperty("rungSwitches")}, CMCD viewers {quality.GetProperty("cmcdViewers")}, malformed CMCD values {quality.GetProperty("malformedValues")}, stalled {quality.GetProperty("stalledViewers")} (players that waited in the pause: {string.Join(", ", stalledOwn)}; at all: {string.Join(", ", waitedOwn)}); "
                + $"players' deliveries {string.Join(", ", watchers.Select(w => $"{w.Name} {string.Join("/", w.Deliveries.Order(StringComparer.Ordinal))}"))}; paused {pausedAt:HH:mm:ss.f}-{resumedAt:HH:mm:ss.f}, closed {closedAt:HH:mm:ss.f}");
            output.WriteLine(summary);
            string details = summary + Environment.NewLine + report;

            Assert.True(report.GetProperty("peakViewers").GetInt64() == viewers, details);
            Assert.True(report.GetProperty("uniqueViewers").GetInt64() == viewers, details);
            Assert.True(Math.Abs(minutes * 60 - expectedSeconds) <= expectedSeconds * 0.05, details);
            var byDelivery = report.GetProperty("byDelivery");
            foreach (var delivery in new[] { "hls", "llhls", "dash" })
            {
                long counted = byDelivery.GetProperty(delivery).GetProperty("viewers").GetInt64();
                int surely = watchers.Count(w => w.Deliveries.SetEquals([delivery]));
                int atMost = watchers.Count(w => w.Deliveries.Contains(delivery));
                Assert.True(counted >= surely && counted <= atMost, $"{delivery}: {counted} counted, {surely} to {atMost} expected: {details}");
            }
            Assert.True(byDelivery.GetProperty("whep").GetProperty("viewers").GetInt64() == whep.Count, $"whep: {details}");
            // Every browser viewer fetched a video rendition: in a bucket all watched through, each is on one rung (a WHEP
            // viewer is on none: it gets the source over RTP).
            var full = report.GetProperty("series").EnumerateArray().Where(p => p.GetProperty("viewers").GetInt64() == viewers).ToList();
            Assert.True(full.Count >= 3, details);
            foreach (var point in full)
                Assert.True(point.GetProperty("rungs").EnumerateObject().Sum(r => r.Value.GetInt64()) == watchers.Count, $"{point}: {details}");
            // The throttled viewer on the low rung after the throttle, in the series and the rung split; and the players' CMCD
            // bitrate changed at least once (that viewer's switch down).
            Assert.Contains(report.GetProperty("series").EnumerateArray(), p => Bucket(p.GetProperty("t").GetDateTimeOffset()) >= Bucket(throttledAt)
                && p.TryGetProperty("rungs", out var r) && r.TryGetProperty(low, out var n) && n.GetInt64() >= 1);
            Assert.True(report.GetProperty("byRung").TryGetProperty(low, out var lowRung) && lowRung.GetProperty("peakViewers").GetInt64() >= 1, details);
            Assert.True(quality.GetProperty("rungSwitches").GetInt64() >= 1, details);

            // The stall: the CMCD players are the report's CMCD viewers; at least one session starved, no more than those
            // players, and a stall is reported in the buckets of the pause (its reports ride on the requests after it, so up to
            // the bucket 10 s after the encoder went on). Each player says 'starved' on its own terms: hls.js after the
            // element's 'waiting', Shaka in its buffering state (with 'su' alone, no 'bs': CmcdAudience reads it as the stall;
            // a CI run failed here when only Shaka and dash.js waited in the pause and Shaka's wait went uncounted), dash.js
            // on its buffer-empty event; so the pages' records of waits are printed, not a bound (a CI run had 3 starved
            // sessions where 1 page had waited in the pause).
            int cmcdViewers = watchers.Count(w => w.Viewer.Session is not null);
            Assert.True(quality.GetProperty("cmcdViewers").GetInt64() == cmcdViewers, details);
            // What the three players send reads whole: a value the origin drops from a real player is the reader's fault
            // (hls.js's 'st=ll' was one, counted malformed by the hundred in a CI run's report).
            Assert.True(quality.GetProperty("malformedValues").GetInt64() == 0, details);
            long stalledViewers = quality.GetProperty("stalledViewers").GetInt64();
            Assert.True(stalledViewers >= 1 && stalledViewers <= cmcdViewers, details);
            var stallBuckets = quality.GetProperty("series").EnumerateArray()
                .Where(p => p.GetProperty("stalledSessions").GetInt64() > 0).Select(p => p.GetProperty("t").GetDateTimeOffset().ToUnixTimeSeconds()).ToList();
            Assert.True(stallBuckets.Any(b => b >= Bucket(pausedAt) && b <= Bucket(resumedAt) + BucketSeconds),
                $"no stall reported from {pausedAt:HH:mm:ss} to the bucket after {resumedAt:HH:mm:ss} (stalls in {string.Join(", ", stallBuckets.Select(b => DateTimeOffset.FromUnixTimeSeconds(b).ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}): {details}");
        }
        finally
        {
            foreach (var w in watchers) await w.Player.DisposeAsync();
            foreach (var w in whep) await w.Page.CloseAsync();
        }
    }

    /// <summary>
    /// Waits until every player's clock has moved <paramref name="seconds"/> on (each keeps playing through it), and every
    /// WHEP viewer decodes on.
    /// </summary>
    private static async Task WatchAsync(List<Watcher> watchers, List<WhepWatcher> whep, double seconds, Func<Task<string>> describe, bool strict)
    {
        if (!strict)
        {
            var until = DateTimeOffset.UtcNow.AddSeconds(seconds);
            await WaitFor.UntilAsync(until, TimeSpan.FromSeconds(seconds + 5), $"{seconds} s of watching");
            return;
        }
        var from = new Dictionary<string, double>();
        foreach (var w in watchers) from[w.Name] = await w.Player.GetCurrentTimeAsync();
        var frames = new Dictionary<string, int>();
        foreach (var w in whep) frames[w.Name] = await w.FramesDecodedAsync();
        foreach (var w in watchers)
            await w.Player.WaitForCurrentTimeAsync(from[w.Name] + seconds, TimeSpan.FromSeconds(seconds + 45), () => describe().GetAwaiter().GetResult());
        foreach (var w in whep)
            await WaitFor.ConditionAsync(async () => await w.FramesDecodedAsync() > frames[w.Name], TimeSpan.FromSeconds(30), $"{w.Name} to decode on",
                () => describe().GetAwaiter().GetResult());
    }
}
