using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// Content steering across two edges running infra/nginx-edge.conf in front of the same origin, with hls.js, dash.js and
/// Shaka playing. They start on the first pathway (the second has weight 0: a standby). The operator drains the first:
/// every player moves to the second within one steering TTL plus one segment, without a failed request. Drained back,
/// the first edge then dies outright: hls.js and Shaka move to the second; dash.js 5.2 cannot (a failed live MPD refresh
/// stops its refreshes for good, steering or not), which is measured and reported, not hidden. The edge returns, the
/// operator weights the first and second 3:1, and 65-85 % of 400 new hls.js viewers (whose first request names the
/// first pathway, the master's default) go to the first; ffprobe, which knows nothing of steering, plays the steered
/// master.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class ContentSteeringEdgeTests(StorageFixture fixture, ITestOutputHelper output)
{
    private const int TtlSeconds = 4;
    private const int SegmentSeconds = 2;

    /// <summary>The specification's bound (one TTL plus one segment) plus this busy two-core machine's slack.</summary>
    private const double MoveBound = TtlSeconds + SegmentSeconds + 4;

    /// <param name="Failures">Requests the browser saw fail (no answer, or a status of 400 or more), with when.</param>
    /// <param name="Cancelled">Requests the player itself cancelled (Chromium's net::ERR_ABORTED), with when: hls.js aborts the
    /// segment it is loading from the pathway a steering answer just left and asks the new one for it. The edge did not fail
    /// them; they are reported in the summary, not counted as failures.</param>
    private sealed record Viewer(string Name, BrowserPlayer Player, ConcurrentQueue<(TimeSpan At, string Url)> Requests,
        ConcurrentQueue<(TimeSpan At, string What)> Failures, ConcurrentQueue<(TimeSpan At, string Url)> Cancelled);

    /// <param name="FailedRequests">What the viewer saw: requests that failed while it moved.</param>
    /// <param name="CancelledRequests">Requests the player cancelled while it moved, for the summary only.</param>
    /// <param name="Warnings">The player's own non-fatal reports while it moved (an append that added nothing, a retry), for the summary only: hls.js warns when it appends a segment it had already buffered from the other pathway, which no viewer sees.</param>
    private sealed record Move(string Name, double? Seconds, double LongestStall, IReadOnlyList<string> FailedRequests,
        IReadOnlyList<string> CancelledRequests, IReadOnlyList<string> Warnings);

    [Fact]
    public async Task Players_follow_the_steering_server_off_a_drained_or_dead_edge_and_new_viewers_return_by_weight()
    {
        int portA = FreePort.Tcp(), portB = FreePort.Tcp(), httpPort = FreePort.Tcp();
        // Two host names, as two CDNs have: Shaka bans a failed location by host name (its port aside), so two pathways
        // on one name would be banned together. Both edges listen on 127.0.0.1.
        string hostA = $"127.0.0.1:{portA}", hostB = $"localhost:{portB}";
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            HttpPort = httpPort,
            ExtraArguments =
            [
                "--Transcode:Enabled=false",
                "--Steering:Pathways:0:Id=edge-a", $"--Steering:Pathways:0:BaseUrl=http://{hostA}",
                // Edge B takes viewers only when A cannot (weight 0), so every player starts on A.
                "--Steering:Pathways:1:Id=edge-b", $"--Steering:Pathways:1:BaseUrl=http://{hostB}", "--Steering:Pathways:1:Weight=0",
                // The steering server is reached directly, not through either edge: a player behind the dead edge still asks it.
                $"--Steering:ServerUrl=http://127.0.0.1:{httpPort}",
                $"--Steering:TtlSeconds={TtlSeconds}",
                "--Steering:ProbeIntervalMilliseconds=500",
                "--Steering:ProbeTimeoutMilliseconds=1000",
            ],
        });
        EdgeNginx? edgeA = await EdgeNginx.StartAsync([server.HttpPort], portA);
        await using var edgeB = await EdgeNginx.StartAsync([server.HttpPort], portB);
        var viewers = new List<Viewer>();
        try
        {
            var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
            var channel = await server.Api.CreateChannelAsync($"steering {Guid.NewGuid():N}");
            await using var publisher = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 12);
            string master = $"http://{hostA}/live/{channel.Slug}/master.m3u8";
            string mpd = $"http://{hostA}/live/{channel.Slug}/manifest.mpd";
            string Logs() => $"--- server ---{Environment.NewLine}{server.LogTail(40)}{Environment.NewLine}--- edge B ---{Environment.NewLine}{edgeB.AccessLogTail(10)}";
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            await WaitFor.ConditionAsync(async () =>
            {
                using var r = await http.GetAsync($"http://{hostA}/live/{channel.Slug}/source/index.m3u8");
                return r.IsSuccessStatusCode && (await r.Content.ReadAsStringAsync()).Split("#EXTINF").Length > 3;
            }, TimeSpan.FromSeconds(60), "three segments through edge A", Logs);

            // The master and the MPD each edge serves name both pathways and the steering server.
            string steeredMaster = await http.GetStringAsync(master);
            Assert.Contains($"#EXT-X-CONTENT-STEERING:SERVER-URI=\"http://127.0.0.1:{httpPort}/steering/hls\",PATHWAY-ID=\"edge-a\"", steeredMaster, StringComparison.Ordinal);
            Assert.Contains($"http://{hostB}/live/{channel.Slug}/", steeredMaster, StringComparison.Ordinal);
            Assert.Contains("<ContentSteering defaultServiceLocation=\"edge-a\"", await http.GetStringAsync(mpd), StringComparison.Ordinal);

            // A player that knows nothing of steering plays it (the pathways are redundant variants to it).
            var probe = await FfProbe.ProbeAsync(master, timeout: TimeSpan.FromSeconds(60));
            Assert.Equal("h264", probe.Video?.CodecName);

            var browser = await fixture.BrowserAsync();
            var clock = Stopwatch.StartNew();
            // dash.js and Shaka with ten attempts per request (docs/steering.md): their defaults give up on a failed
            // pathway within a second or two, before a steering answer can move them.
            foreach (var (name, kind, url) in new[] { ("hls.js", PlayerKind.Hls, master), ("dash.js", PlayerKind.DashRetrying, mpd), ("Shaka", PlayerKind.ShakaRetrying, master) })
            {
                var player = await browser.OpenAsync(kind);
                var requests = new ConcurrentQueue<(TimeSpan, string)>();
                var failures = new ConcurrentQueue<(TimeSpan, string)>();
                var cancelled = new ConcurrentQueue<(TimeSpan, string)>();
                player.Page.Request += (_, request) => requests.Enqueue((clock.Elapsed, request.Url));
                player.Page.RequestFailed += (_, request) =>
                {
                    if (request.Failure == "net::ERR_ABORTED") cancelled.Enqueue((clock.Elapsed, request.Url));
                    else failures.Enqueue((clock.Elapsed, $"{request.Url} ({request.Failure})"));
                };
                player.Page.Response += (_, response) =>
                {
                    if (response.Status >= 400) failures.Enqueue((clock.Elapsed, $"{response.Url} ({response.Status})"));
                };
                await player.StartAsync(url);
                viewers.Add(new Viewer(name, player, requests, failures, cancelled));
            }

            async Task<string> Describe()
            {
                var parts = new List<string>();
                foreach (var v in viewers)
                    parts.Add($"--- {v.Name} ---{Environment.NewLine}{await v.Player.DescribeAsync()}{Environment.NewLine}last requests: {string.Join(", ", v.Requests.TakeLast(8).Select(r => $"{r.At.TotalSeconds:0.0}s {r.Url}"))}");
                return string.Join(Environment.NewLine, parts) + Environment.NewLine + Logs();
            }

            foreach (var v in viewers) await v.Player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(90), () => Logs());
            // Every player starts on the first pathway and has played a few seconds there.
            await WaitFor.ConditionAsync(() => Task.FromResult(viewers.All(v => SegmentsFrom(v, hostA, TimeSpan.Zero) >= 3)),
                TimeSpan.FromSeconds(40), "three segments from edge A for every player", () => Describe().GetAwaiter().GetResult());
            foreach (var v in viewers) Assert.True(SegmentsFrom(v, hostB, TimeSpan.Zero) == 0, $"{v.Name} fetched from edge B before anything changed");

            // 1. The operator drains edge A on the dashboard's pathway card (maintenance, a CDN's bill): every player moves,
            // none sees an error.
            await using (var dashboard = await Dashboard.DashboardSession.SignInAsync(browser, server))
            {
                var card = dashboard.Page.Locator("#pathways");
                Assert.Equal("Healthy", (await card.Locator("tr[data-pathway='edge-a'] [data-field=health] .badge").TextContentAsync())?.Trim());
                Assert.Equal("Healthy", (await card.Locator("tr[data-pathway='edge-b'] [data-field=health] .badge").TextContentAsync())?.Trim());
                await card.Locator("tr[data-pathway='edge-a'] button[data-action=drain]").ClickAsync();
                // The drain posts back to the dashboard the tab is already at: wait for the answer's badge, not the address.
                await dashboard.Page.Locator("#pathways tr[data-pathway='edge-a'] [data-field=health] .badge", new() { HasText = "Drained" }).WaitForAsync();
                Assert.Equal("Drained", (await dashboard.Page.Locator("#pathways tr[data-pathway='edge-a'] [data-field=health] .badge").TextContentAsync())?.Trim());
            }

            var drained = await WatchMovesAsync(viewers, clock, hostB, viewers.Select(v => v.Name).ToHashSet());
            string drainSummary = Summary("edge A drained", drained);
            output.WriteLine(drainSummary);
            string drainDetails = drainSummary + Environment.NewLine + await Describe();
            foreach (var m in drained)
            {
                Assert.True(m.Seconds is { } s && s <= MoveBound, $"{m.Name} did not move within {MoveBound} s: {drainDetails}");
                Assert.True(m.FailedRequests.Count == 0, $"{m.Name} had failed requests while moving off a drained edge: {drainDetails}");
                Assert.True(m.LongestStall <= 1.5, $"{m.Name} stalled while moving off a drained edge: {drainDetails}");
            }
            foreach (var v in viewers) Assert.Empty(await v.Player.GetFatalErrorsAsync());

            // Back to A: A undrained, B drained; then B is a standby again.
            await OverrideAsync(server, "edge-a", new { drained = false });
            await OverrideAsync(server, "edge-b", new { drained = true });
            await WatchMovesAsync(viewers, clock, hostA, viewers.Select(v => v.Name).ToHashSet());
            await OverrideAsync(server, "edge-b", new { drained = false });
            foreach (var v in viewers) Assert.True(SegmentsFrom(v, hostA, clock.Elapsed - TimeSpan.FromSeconds(3)) > 0, $"{v.Name} is not back on edge A: {await Describe()}");

            // 2. Edge A dies (the whole nginx process tree, as a crash or a pulled host).
            await edgeA.DisposeAsync();
            edgeA = null;
            var crashed = await WatchMovesAsync(viewers, clock, hostB, new HashSet<string> { "hls.js", "Shaka" });
            string crashSummary = Summary("edge A killed", crashed);
            output.WriteLine(crashSummary);
            string crashDetails = crashSummary + Environment.NewLine + await Describe();
            foreach (var m in crashed.Where(m => m.Name != "dash.js"))
            {
                Assert.True(m.Seconds is { } s && s <= MoveBound, $"{m.Name} did not move off the dead edge within {MoveBound} s: {crashDetails}");
                var v = viewers.Single(v => v.Name == m.Name);
                Assert.Empty(await v.Player.GetFatalErrorsAsync());
                double t0 = await v.Player.GetCurrentTimeAsync();
                await WaitFor.ConditionAsync(async () => await v.Player.GetCurrentTimeAsync() > t0 + 1, TimeSpan.FromSeconds(15), $"{v.Name} to play on after the move", () => crashDetails);
            }

            // The steering server saw the pathway fail, and says so in the API and on the dashboard.
            using (var status = JsonDocument.Parse(await server.Http.GetStringAsync("api/steering")))
                Assert.False(status.RootElement[0].GetProperty("healthy").GetBoolean(), status.RootElement.ToString());
            await using (var dashboard = await Dashboard.DashboardSession.SignInAsync(browser, server))
            {
                var row = dashboard.Page.Locator("#pathways tr[data-pathway='edge-a']");
                Assert.Equal("Unhealthy", (await row.Locator("[data-field=health] .badge").TextContentAsync())?.Trim());
                Assert.Contains("no answer", await row.Locator("[data-field=health]").TextContentAsync(), StringComparison.Ordinal);
            }

            // 3. Edge A returns and the operator weights A and B 3:1: new viewers are placed by weight, although a new
            // hls.js player's first request names the master's default pathway (edge-a, with no session): that is where
            // the manifest told every player to start, not a choice to keep.
            edgeA = await EdgeNginx.StartAsync([server.HttpPort], portA);
            await OverrideAsync(server, "edge-a", new { weight = 3 });
            await OverrideAsync(server, "edge-b", new { weight = 1 });
            await WaitFor.ConditionAsync(async () =>
            {
                using var status = JsonDocument.Parse(await server.Http.GetStringAsync("api/steering"));
                return status.RootElement[0].GetProperty("healthy").GetBoolean();
            }, TimeSpan.FromSeconds(20), "edge A probed healthy after it returned", Logs);
            const int newViewers = 400;
            int toA = 0;
            for (int i = 0; i < newViewers; i++)
            {
                // As hls.js 1.7 asks first: SERVER-URI with the master's PATHWAY-ID and its default bandwidth estimate.
                using var answer = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{httpPort}/steering/hls?_HLS_pathway=edge-a&_HLS_throughput=500000"));
                if (answer.RootElement.GetProperty("PATHWAY-PRIORITY")[0].GetString() == "edge-a") toA++;
            }

            double share = toA / (double)newViewers;
            output.WriteLine($"after edge A returned with weights 3:1, new hls.js viewers steered to it: {share:P1} of {newViewers}");
            Assert.InRange(share, 0.65, 0.85);
            // Players already on B stay there (no needless switch back).
            using var kept = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{httpPort}/steering/hls?session=abc&_HLS_pathway=edge-b"));
            Assert.Equal("edge-b", kept.RootElement.GetProperty("PATHWAY-PRIORITY")[0].GetString());
            // The viewers per pathway, as /metrics reports them.
            string metrics = await server.Http.GetStringAsync("metrics");
            Assert.Contains("broadcast_steering_viewers{pathway=\"edge-b\"}", metrics, StringComparison.Ordinal);
        }
        finally
        {
            foreach (var v in viewers) await v.Player.DisposeAsync();
            if (edgeA is not null) await edgeA.DisposeAsync();
        }
    }

    private static async Task OverrideAsync(ServerProcess server, string pathway, object change)
    {
        using var response = await server.Http.PutAsJsonAsync($"api/steering/pathways/{pathway}", change);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>
    /// From now, for up to a minute (and at least the move bound plus ten seconds, to see the playback after it): when
    /// each player first fetches a segment from <paramref name="toHost"/>, the longest time its picture did not move, and
    /// the requests that failed. Stops early once every player named in <paramref name="mustMove"/> has moved.
    /// </summary>
    private static async Task<List<Move>> WatchMovesAsync(List<Viewer> viewers, Stopwatch clock, string toHost, IReadOnlySet<string> mustMove)
    {
        var since = clock.Elapsed;
        var stalls = viewers.ToDictionary(v => v.Name, _ => 0.0);
        var moved = new Dictionary<string, double>();
        var warningsBefore = new Dictionary<string, int>();
        foreach (var v in viewers) warningsBefore[v.Name] = await v.Player.EvaluateAsync<int>("() => window.__player.errors.length");
        var last = new Dictionary<string, (double Time, TimeSpan At)>();
        var until = since + TimeSpan.FromSeconds(60);
        while (clock.Elapsed < until && (!mustMove.All(moved.ContainsKey) || clock.Elapsed < since + TimeSpan.FromSeconds(MoveBound + 10)))
        {
            foreach (var v in viewers)
            {
                double time = await v.Player.GetCurrentTimeAsync();
                var now = clock.Elapsed;
                if (last.TryGetValue(v.Name, out var before) && time <= before.Time + 0.01) stalls[v.Name] = Math.Max(stalls[v.Name], (now - before.At).TotalSeconds);
                else last[v.Name] = (time, now);
                if (!moved.ContainsKey(v.Name) && SegmentsFrom(v, toHost, since) > 0)
                    moved[v.Name] = (v.Requests.First(r => r.At >= since && IsSegment(r.Url) && new Uri(r.Url).Authority == toHost).At - since).TotalSeconds;
            }

            await Task.Delay(200);
        }

        var moves = new List<Move>();
        foreach (var v in viewers)
        {
            // The player keeps its last 100 reports; those after the count taken at the start are this move's.
            string[] warnings = await v.Player.Page.EvaluateAsync<string[]>(
                "from => window.__player.errors.slice(from).map(e => e.type + ' ' + e.details)", Math.Min(warningsBefore[v.Name], 100));
            var failed = v.Failures.Where(f => f.At >= since).Select(f => f.What).ToList();
            var cancelled = v.Cancelled.Where(c => c.At >= since).Select(c => c.Url).ToList();
            moves.Add(new Move(v.Name, moved.TryGetValue(v.Name, out double s) ? s : null, stalls[v.Name], failed, cancelled, warnings));
        }

        return moves;
    }

    private static string Summary(string what, List<Move> moves) =>
        $"{what} (TTL {TtlSeconds} s, segments {SegmentSeconds} s): " + string.Join("; ", moves.Select(m => string.Create(CultureInfo.InvariantCulture,
            $"{m.Name} moved after {(m.Seconds is { } s ? s.ToString("0.0", CultureInfo.InvariantCulture) + " s" : "never")}, longest stall {m.LongestStall:0.0} s, {m.FailedRequests.Count} failed requests{(m.FailedRequests.Count > 0 ? " (" + string.Join(", ", m.FailedRequests.Take(4)) + ")" : "")}, {m.CancelledRequests.Count} cancelled by the player, {m.Warnings.Count} player warnings{(m.Warnings.Count > 0 ? " (" + string.Join(", ", m.Warnings.Take(4)) + ")" : "")}")));

    private static bool IsSegment(string url) => Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && uri.AbsolutePath.EndsWith(".m4s", StringComparison.Ordinal);

    private static int SegmentsFrom(Viewer viewer, string host, TimeSpan since) =>
        viewer.Requests.Count(r => r.At >= since && IsSegment(r.Url) && new Uri(r.Url).Authority == host);
}
