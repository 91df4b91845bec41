using System.Net;
using Broadcast.EndToEnd.Tests.Faults;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// Redundant ingest: two ingest + control nodes on PostgreSQL and the S3 peer, and an origin-only node. ffmpeg publishes
/// a low-latency channel to node A while hls.js plays it from the origin; node A is killed (SIGKILL: no ENDLIST, its
/// lease lapses after <c>Ingest:LeaseSeconds</c>) and ffmpeg publishes the same key to node B, which is refused while
/// A's lease lives and then takes the channel. B continues the same broadcast: the same id, the next media sequence
/// number after one EXT-X-DISCONTINUITY in every rendition (a gap first when A had announced parts of that segment), an
/// LL-HLS blocking request for the number after A's last segment answered 200, and hls.js plays on past the join.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class IngestTakeoverTests(StorageFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Two runs: a low-latency channel, checked through its playlists and blocking reloads (parts of the segment open at
    /// the kill), and a channel hls.js plays across the kill. hls.js is not run on the low-latency one: on this shared
    /// machine an origin-only node's LL blocking reloads over the S3 peer time out now and then (503) before any node
    /// dies, and hls.js treats a failed audio playlist load as fatal, which would say nothing about the takeover.
    /// </summary>
    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Killing_the_ingest_node_and_publishing_to_another_continues_the_same_broadcast(bool lowLatency, bool play)
    {
        using var pg = new PostgresTestCluster();
        string[] database = ["--Database:Kind=postgres", $"--Database:ConnectionString={pg.CreateDatabase("takeover")}"];
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("takeover");
        string secret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string[] Ingest(string node, bool createBucket) =>
        [
            "--Roles=ingest,control", "--Transcode:Enabled=false", $"--Ingest:NodeId={node}", "--Ingest:LeaseSeconds=3",
            "--Ingest:ReconnectGraceSeconds=30", "--Scheduling:Clustered=false", $"--Secrets:Key={secret}",
            .. S3Nodes.StorageArguments(url, bucket, createBucket), .. database,
        ];
        await using var nodeA = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-a", createBucket: true) });
        await using var nodeB = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-b", createBucket: false) });
        await using var origin = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database],
        });
        RtmpPublisher? publisher = null;
        string Logs() => $"--- node A ---{Environment.NewLine}{nodeA.LogTail(25)}{Environment.NewLine}--- node B ---{Environment.NewLine}{nodeB.LogTail(40)}"
            + $"{Environment.NewLine}--- origin ---{Environment.NewLine}{origin.LogTail(15)}{Environment.NewLine}--- ffmpeg ---{Environment.NewLine}{publisher?.Log.Tail(8)}";

        var channel = await nodeA.Api.CreateChannelAsync($"takeover {Guid.NewGuid():N}", lowLatency: lowLatency);
        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
        string videoPath = $"live/{channel.Slug}/source/index.m3u8", audioPath = $"live/{channel.Slug}/audio/index.m3u8";
        async Task<string> ReadAsync(string path)
        {
            using var r = await origin.Viewer.GetAsync(path);
            return r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
        }

        try
        {
            publisher = FfmpegPublisher.Start(clip, nodeA.RtmpUrl(channel.StreamKey), loops: 6);
            string before = "";
            await WaitFor.ConditionAsync(async () => Segments(before = await ReadAsync(videoPath)).Count >= 3, Bound, "node A's playlist with three segments", Logs);
            string id = Segments(before)[0].Id;

            await using var player = play ? await (await fixture.BrowserAsync()).OpenAsync(PlayerKind.Hls) : null;
            if (player is not null)
            {
                await player.StartAsync(origin.Absolute($"live/{channel.Slug}/master.m3u8").ToString());
                await player.WaitUntilPlayingAsync(Bound, Logs);
                await player.WaitForCurrentTimeAsync(await player.GetCurrentTimeAsync() + 2, Bound, Logs);
            }

            // Node A dies with its broadcast live: no ENDLIST, its lease is left to lapse.
            nodeA.KillNode();
            await nodeA.WaitForExitAsync(Bound);
            await publisher.DisposeAsync();
            string left = await ReadAsync(videoPath);
            long last = Segments(left)[^1].Number;
            Assert.DoesNotContain("#EXT-X-ENDLIST", left, StringComparison.Ordinal);
            double atKill = player is null ? 0 : await player.GetCurrentTimeAsync();

            // The encoder publishes the same key to node B, which refuses it while A's lease lives (ffmpeg exits; it is
            // started again), then continues the broadcast.
            int attempts = 0;
            await WaitFor.ConditionAsync(async () =>
            {
                if (publisher is null || publisher.HasExited)
                {
                    if (publisher is not null) await publisher.DisposeAsync();
                    publisher = FfmpegPublisher.Start(clip, nodeB.RtmpUrl(channel.StreamKey), loops: 6);
                    attempts++;
                }
                return Segments(await ReadAsync(videoPath)).Any(s => s.Number > last) && Segments(await ReadAsync(audioPath)).Any(s => s.Number > last);
            }, Bound, $"node B to continue the broadcast after segment {last}", Logs, TimeSpan.FromMilliseconds(250));
            output.WriteLine($"node B took the channel after {attempts} publish attempt(s)");

            foreach (var path in new[] { videoPath, audioPath })
            {
                string playlist = await ReadAsync(path);
                var segments = Segments(playlist);
                Assert.All(segments, s => Assert.Equal(id, s.Id));
                // Numbers run on without a hole, and the join is marked once, right before the first of node B's segments: the
                // one after A's last segment, or the one after that when A had announced parts of it (that number is then a gap).
                Assert.Equal(Enumerable.Range(0, segments.Count).Select(i => segments[0].Number + i), segments.Select(s => s.Number));
                var lines = playlist.Split('\n');
                // (A run read no mark at all here, once in many: the playlist and the nodes' logs say what was read.)
                Assert.True(lines.Count(l => l == "#EXT-X-DISCONTINUITY") == 1,
                    $"{path} marks the join {lines.Count(l => l == "#EXT-X-DISCONTINUITY")} times (node A's last segment {last}):{Environment.NewLine}{playlist}{Environment.NewLine}{Logs()}");
                int mark = Array.IndexOf(lines, "#EXT-X-DISCONTINUITY");
                long joined = Segments(string.Join('\n', lines[mark..]))[0].Number;
                long previous = Segments(string.Join('\n', lines[..mark]))[^1].Number;
                Assert.Equal(joined - 1, previous);
                Assert.True(joined == last + 1 || (joined == last + 2 && lines[..mark].TakeLast(3).First() == "#EXT-X-GAP"), playlist);
                Assert.DoesNotContain("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
            }

            Assert.Contains(nodeB.LogTail(400).Split('\n'), l => l.Contains($"broadcast {id} continues here", StringComparison.Ordinal));
            if (lowLatency)
            {
                // An LL-HLS client that asked for the next number before the kill gets it (a blocking reload), not a 400. A 503
                // (a store read of the shared S3 peer that timed out on this busy machine) is what a player retries, and so
                // does this check; any other answer fails it at once.
                HttpStatusCode answer = 0;
                int unavailable = 0;
                await WaitFor.ConditionAsync(async () =>
                {
                    using var next = await origin.Viewer.GetAsync($"{videoPath}?_HLS_msn={last + 1}&_HLS_part=0");
                    answer = next.StatusCode;
                    if (answer != HttpStatusCode.ServiceUnavailable) return true;
                    unavailable++;
                    return false;
                }, Bound, $"the blocking reload for segment {last + 1} to be answered", Logs, TimeSpan.FromMilliseconds(500));
                Assert.True(answer == HttpStatusCode.OK, $"the blocking reload for segment {last + 1} was answered {answer}{Environment.NewLine}{Logs()}");
                if (unavailable > 0) output.WriteLine($"the blocking reload was answered 503 {unavailable} time(s) first{Environment.NewLine}{origin.LogTail(15)}");
            }
            if (player is null) return;

            // hls.js plays on past the join.
            await player.WaitForCurrentTimeAsync(atKill + 6, Bound, Logs);
            var fatal = await player.GetFatalErrorsAsync();
            Assert.True(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            output.WriteLine($"hls.js at {await player.GetCurrentTimeAsync():0.0} s (killed at {atKill:0.0} s); stalls: {string.Join("; ", await player.GetStallsAsync())}");
        }
        finally
        {
            if (publisher is not null) await publisher.DisposeAsync();
        }
    }

    private static List<(string Id, long Number)> Segments(string playlist) => BroadcastSegments.Of(playlist);
}
