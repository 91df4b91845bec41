using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.EndToEnd.Tests.Faults;
using Broadcast.EndToEnd.Tests.Programs;
using Broadcast.EndToEnd.Tests.Pull;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// What runs on an ingest node by itself, with no encoder to reconnect elsewhere, survives that node: two ingest + control
/// nodes on PostgreSQL and the S3 peer, and an origin-only node. A program (a slate composed at a small size) or a pull
/// source (a looped file of the media library) runs on one node; that node is killed (SIGKILL: its lease is left to lapse)
/// and the other node, finding the channel's lease free, starts it there (the program keeper; the pull coordinator). It
/// continues the same broadcast within the reconnect grace: the same id, the next segment numbers after one
/// discontinuity, no ENDLIST, as an encoder's publish to another node does.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class NodeDeathTakeoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killing_the_node_that_runs_a_program_moves_it_to_another_which_continues_its_broadcast()
    {
        await using var cluster = await Cluster.StartAsync("programtakeover", []);
        var (nodeA, nodeB) = (cluster.A, cluster.B);
        var channel = await nodeA.Api.CreateChannelAsync($"program takeover {Guid.NewGuid():N}");
        string slate = Convert.ToBase64String(await ProgramOutput.DecodeAsync(
            ["-f", "lavfi", "-i", "color=c=navy:size=64x36", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"]));
        using (var put = await nodeA.Http.PutAsJsonAsync($"api/channels/{channel.Id}/program", new
        {
            inputs = new[] { new { id = "slate", image = new { data = slate, width = 64, height = 36 } } },
            layout = new { kind = "single", inputs = new[] { new { id = "slate", fit = "fill" } } },
        }))
        {
            string body = await put.Content.ReadAsStringAsync();
            Assert.True(put.IsSuccessStatusCode, $"{(int)put.StatusCode} {body}{Environment.NewLine}{cluster.Logs()}");
        }
        async Task<bool> RunningOnAsync(ServerProcess node)
        {
            using var r = await node.Http.GetAsync($"api/channels/{channel.Id}/program");
            return r.IsSuccessStatusCode && JsonNode.Parse(await r.Content.ReadAsStringAsync())!["running"]!.GetValue<bool>();
        }

        var (id, last) = await cluster.KillWhileLiveAsync(channel.Slug, nodeA, async () =>
        {
            Assert.True(await RunningOnAsync(nodeA), cluster.Logs());
            Assert.False(await RunningOnAsync(nodeB), "node B runs the program while node A does: " + cluster.Logs());
        });
        await WaitFor.ConditionAsync(() => RunningOnAsync(nodeB), Bound, "node B's keeper to take the program over", cluster.Logs);
        await cluster.AssertContinuedAsync(channel.Slug, nodeB, id, last, output);
        Assert.Contains(nodeB.LogTail(400).Split('\n'), l => l.Contains($"Program of channel {channel.Id} resumed on this node", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Killing_the_node_that_runs_a_pull_moves_it_to_another_which_continues_its_broadcast()
    {
        using var library = new TempDirectory("media-library");
        File.Copy(await TestMedia.GetClipAsync(StorageFixture.Clip), Path.Combine(library.Path, "loop.mp4"));
        await using var cluster = await Cluster.StartAsync("pulltakeover", [$"--Pull:MediaRoot={library.Path}"]);
        var channel = await cluster.A.Api.CreateChannelAsync($"pull takeover {Guid.NewGuid():N}");
        await PullApi.PutSourceAsync(cluster.A, channel.Id, "file:loop.mp4", loop: true);

        // Both nodes' coordinators see the source; the channel's lease picks one, and the other one runs nothing for it.
        ServerProcess? running = null;
        await WaitFor.ConditionAsync(async () =>
        {
            foreach (var node in new[] { cluster.A, cluster.B })
            {
                if (PullApi.State(await PullApi.GetSourceAsync(node, channel.Id)) == "live") running = node;
            }
            return running is not null;
        }, Bound, "the pull live on one node", cluster.Logs);
        var standby = ReferenceEquals(running, cluster.A) ? cluster.B : cluster.A;

        var (id, last) = await cluster.KillWhileLiveAsync(channel.Slug, running!, async () =>
            Assert.True(PullApi.State(await PullApi.GetSourceAsync(standby, channel.Id)) is null, "both nodes pull the channel: " + cluster.Logs()));
        await WaitFor.ConditionAsync(async () => PullApi.State(await PullApi.GetSourceAsync(standby, channel.Id)) == "live", Bound,
            "the other node to take the pull over", cluster.Logs);
        await cluster.AssertContinuedAsync(channel.Slug, standby, id, last, output);
    }

    /// <summary>
    /// A live room's show takes its channel's lease like any other source: while node A runs the room, a WHIP publisher
    /// sent to node B is refused (409, the room is live on A). Node A is killed; the publisher reconnects to node B, as an
    /// encoder with a backup URL does, and is refused until A's lease lapses; then B's room starts the show, which
    /// continues A's broadcast: the same id, the next segment numbers after one discontinuity.
    /// </summary>
    [Fact]
    public async Task Killing_the_node_of_a_room_lets_its_publisher_rejoin_another_which_continues_its_broadcast()
    {
        await using var cluster = await Cluster.StartAsync("roomtakeover", []);
        var channel = await cluster.A.Api.CreateChannelAsync($"room takeover {Guid.NewGuid():N}");
        await using var browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]);
        async Task<(Microsoft.Playwright.IPage Page, int Status, string State)> PublishAsync(ServerProcess node)
        {
            var page = await browser.NewPageAsync();
            await page.GotoAsync(browser.Pages.Url("whip.html") + "?url=" + Uri.EscapeDataString(new Uri(node.BaseUri, "whip").ToString())
                + "&token=" + Uri.EscapeDataString(channel.StreamKey) + "&colour=red&tone=440");
            try
            {
                await page.WaitForFunctionAsync("() => window.__whip.error !== null || (window.__whip.connectionState === 'connected' "
                    + "&& window.__whip.framesEncoded > 10)", null, new() { Timeout = (float)Bound.TotalMilliseconds });
            }
            catch (TimeoutException)
            {
            }

            return (page, await page.EvaluateAsync<int>("() => window.__whip.status"), await page.EvaluateAsync<string>("() => JSON.stringify(window.__whip)"));
        }

        var (onA, status, state) = await PublishAsync(cluster.A);
        Assert.True(status == 201 && state.Contains("\"connected\"", StringComparison.Ordinal), $"{state}{Environment.NewLine}{cluster.Logs()}");
        var (id, last) = await cluster.KillWhileLiveAsync(channel.Slug, cluster.A, async () =>
        {
            var (refused, refusedStatus, refusedState) = await PublishAsync(cluster.B);
            await refused.CloseAsync();
            Assert.True(refusedStatus == 409 && refusedState.Contains("live on ingest node ingest-a", StringComparison.Ordinal),
                $"node B took a publisher into the room node A runs: {refusedState}{Environment.NewLine}{cluster.Logs()}");
        });
        await onA.CloseAsync();

        // The publisher tries node B until it is let in (A's lease lapses within 3 s of A's death).
        Microsoft.Playwright.IPage? onB = null;
        await WaitFor.ConditionAsync(async () =>
        {
            var (page, bStatus, bState) = await PublishAsync(cluster.B);
            output.WriteLine($"node B: {bState}");
            if (bStatus == 201 && bState.Contains("\"connected\"", StringComparison.Ordinal))
            {
                onB = page;
                return true;
            }

            await page.CloseAsync();
            return false;
        }, Bound, "node B to let the publisher into the room", cluster.Logs);
        try
        {
            await cluster.AssertContinuedAsync(channel.Slug, cluster.B, id, last, output);
        }
        finally
        {
            await onB!.CloseAsync();
        }
    }

    /// <summary>Two ingest + control nodes (leases of 3 s, a reconnect grace of 30 s, the program keeper every second) and an origin-only node.</summary>
    private sealed class Cluster : IAsyncDisposable
    {
        private readonly PostgresTestCluster _pg;
        private readonly ServerProcess _origin;

        private Cluster(PostgresTestCluster pg, ServerProcess a, ServerProcess b, ServerProcess origin)
        {
            _pg = pg;
            A = a;
            B = b;
            _origin = origin;
        }

        public ServerProcess A { get; }

        public ServerProcess B { get; }

        public static async Task<Cluster> StartAsync(string name, string[] extra)
        {
            var pg = new PostgresTestCluster();
            string[] database = ["--Database:Kind=postgres", $"--Database:ConnectionString={pg.CreateDatabase(name)}"];
            string url = await S3TestServer.SharedUrlAsync();
            string bucket = S3TestServer.NewBucketName(name);
            string secret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            string[] Ingest(string node, bool createBucket) =>
            [
                "--Roles=ingest,control", "--Transcode:Enabled=false", $"--Ingest:NodeId={node}", "--Ingest:LeaseSeconds=3",
                "--Ingest:ReconnectGraceSeconds=30", "--Scheduling:Clustered=false", $"--Secrets:Key={secret}", "--Program:KeeperSeconds=1",
                "--Program:Width=320", "--Program:Height=180", "--Program:FramesPerSecond=10", "--Program:VideoKilobits=300",
                .. S3Nodes.StorageArguments(url, bucket, createBucket), .. database, .. extra,
            ];
            var a = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-a", createBucket: true) });
            var b = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-b", createBucket: false) });
            var origin = await ServerProcess.StartAsync(new ServerOptions
            {
                ExtraArguments = ["--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database],
            });
            return new Cluster(pg, a, b, origin);
        }

        public string Logs() => $"--- node A ---{Environment.NewLine}{A.LogTail(25)}{Environment.NewLine}--- node B ---{Environment.NewLine}{B.LogTail(40)}"
            + $"{Environment.NewLine}--- origin ---{Environment.NewLine}{_origin.LogTail(15)}";

        public async Task<string> ReadAsync(string path)
        {
            using var r = await _origin.Viewer.GetAsync(path);
            return r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
        }

        /// <summary>
        /// Waits for two segments of the channel's broadcast, runs <paramref name="whileBoth"/> (both nodes up), kills
        /// <paramref name="victim"/> and returns the broadcast's id and the last segment number the origin had then.
        /// </summary>
        public async Task<(string Id, long Last)> KillWhileLiveAsync(string slug, ServerProcess victim, Func<Task> whileBoth)
        {
            string before = "";
            await WaitFor.ConditionAsync(async () => Segments(before = await ReadAsync(VideoPath(slug))).Count >= 2, Bound, "two segments on the origin", Logs);
            await whileBoth();
            victim.KillNode();
            await victim.WaitForExitAsync(Bound);
            return (Segments(before)[0].Id, Segments(await ReadAsync(VideoPath(slug)))[^1].Number);
        }

        /// <summary>The survivor's segments follow the dead node's in the same broadcast: same id, numbers without a hole, one discontinuity.</summary>
        public async Task AssertContinuedAsync(string slug, ServerProcess survivor, string id, long last, ITestOutputHelper output)
        {
            await WaitFor.ConditionAsync(async () => Segments(await ReadAsync(VideoPath(slug))).Any(s => s.Number > last + 1), Bound,
                $"the playlist to go on past segment {last} from the other node", Logs);
            string playlist = await ReadAsync(VideoPath(slug));
            var segments = Segments(playlist);
            Assert.All(segments, s => Assert.Equal(id, s.Id));
            Assert.Equal(Enumerable.Range(0, segments.Count).Select(i => segments[0].Number + i), segments.Select(s => s.Number));
            Assert.Equal(1, playlist.Split('\n').Count(l => l == "#EXT-X-DISCONTINUITY"));
            Assert.DoesNotContain("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
            Assert.Contains(survivor.LogTail(400).Split('\n'), l => l.Contains($"broadcast {id} continues here", StringComparison.Ordinal));
            output.WriteLine($"the dead node's last segment {last}; the playlist now ends at {segments[^1].Number}");
        }

        private static string VideoPath(string slug) => $"live/{slug}/source/index.m3u8";

        public async ValueTask DisposeAsync()
        {
            await A.DisposeAsync();
            await B.DisposeAsync();
            await _origin.DisposeAsync();
            _pg.Dispose();
        }
    }

    private static List<(string Id, long Number)> Segments(string playlist) => BroadcastSegments.Of(playlist);
}
