using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Faults;
using Broadcast.EndToEnd.Tests.Programs;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// A program survives its node: two ingest + control nodes on PostgreSQL and the S3 peer, and an origin-only node. A
/// program (a slate image composed at a small size) is set through node A and runs there; node A is killed (SIGKILL: its
/// lease is left to lapse) and node B's program keeper, finding the stored program's channel lease free, starts it there.
/// The program continues the same broadcast within the reconnect grace: the same id, the next segment numbers after one
/// discontinuity, no ENDLIST, as an encoder's publish to another node does.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed partial class ProgramTakeoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Killing_the_node_that_runs_a_program_moves_it_to_another_which_continues_its_broadcast()
    {
        using var pg = new PostgresTestCluster();
        string[] database = ["--Database:Kind=postgres", $"--Database:ConnectionString={pg.CreateDatabase("programtakeover")}"];
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("programtakeover");
        string secret = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        string[] Ingest(string node, bool createBucket) =>
        [
            "--Roles=ingest,control", "--Transcode:Enabled=false", $"--Ingest:NodeId={node}", "--Ingest:LeaseSeconds=3",
            "--Ingest:ReconnectGraceSeconds=30", "--Scheduling:Clustered=false", $"--Secrets:Key={secret}", "--Program:KeeperSeconds=1",
            "--Program:Width=320", "--Program:Height=180", "--Program:FramesPerSecond=10", "--Program:VideoKilobits=300",
            .. S3Nodes.StorageArguments(url, bucket, createBucket), .. database,
        ];
        await using var nodeA = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-a", createBucket: true) });
        await using var nodeB = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = Ingest("ingest-b", createBucket: false) });
        await using var origin = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database],
        });
        string Logs() => $"--- node A ---{Environment.NewLine}{nodeA.LogTail(25)}{Environment.NewLine}--- node B ---{Environment.NewLine}{nodeB.LogTail(40)}"
            + $"{Environment.NewLine}--- origin ---{Environment.NewLine}{origin.LogTail(15)}";

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
            Assert.True(put.IsSuccessStatusCode, $"{(int)put.StatusCode} {body}{Environment.NewLine}{Logs()}");
        }

        string videoPath = $"live/{channel.Slug}/source/index.m3u8";
        async Task<string> ReadAsync(string path)
        {
            using var r = await origin.Viewer.GetAsync(path);
            return r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
        }
        async Task<bool> RunningOnAsync(ServerProcess node)
        {
            using var r = await node.Http.GetAsync($"api/channels/{channel.Id}/program");
            return r.IsSuccessStatusCode && JsonNode.Parse(await r.Content.ReadAsStringAsync())!["running"]!.GetValue<bool>();
        }

        string before = "";
        await WaitFor.ConditionAsync(async () => Segments(before = await ReadAsync(videoPath)).Count >= 2, Bound, "node A's program playlist with two segments", Logs);
        Assert.True(await RunningOnAsync(nodeA), Logs());
        Assert.False(await RunningOnAsync(nodeB), "node B runs the program while node A does: " + Logs());
        string id = Segments(before)[0].Id;

        // Node A dies with the program on air: no ENDLIST, its lease is left to lapse.
        await Fault.SignalAsync(nodeA.ProcessId, "KILL");
        await nodeA.WaitForExitAsync(Bound);
        long last = Segments(await ReadAsync(videoPath))[^1].Number;

        await WaitFor.ConditionAsync(() => RunningOnAsync(nodeB), Bound, "node B's keeper to take the program over", Logs);
        await WaitFor.ConditionAsync(async () => Segments(await ReadAsync(videoPath)).Any(s => s.Number > last + 1), Bound,
            $"the program's playlist to go on past segment {last} from node B", Logs);

        string playlist = await ReadAsync(videoPath);
        var segments = Segments(playlist);
        Assert.All(segments, s => Assert.Equal(id, s.Id));
        Assert.Equal(Enumerable.Range(0, segments.Count).Select(i => segments[0].Number + i), segments.Select(s => s.Number));
        Assert.Equal(1, playlist.Split('\n').Count(l => l == "#EXT-X-DISCONTINUITY"));
        Assert.DoesNotContain("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
        var lines = nodeB.LogTail(400).Split('\n');
        Assert.Contains(lines, l => l.Contains($"Program of channel {channel.Id} resumed on this node", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"broadcast {id} continues here", StringComparison.Ordinal));
        output.WriteLine($"node A's last segment {last}; node B's playlist now ends at {segments[^1].Number}");
    }

    private static List<(string Id, long Number)> Segments(string playlist) =>
        [.. SegmentLine().Matches(playlist).Select(m => (m.Groups["id"].Value, long.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture)))];

    [GeneratedRegex(@"^(?<id>\d{8}T\d{6}Z)-(?<n>\d+)\.m4s$", RegexOptions.Multiline)]
    private static partial Regex SegmentLine();
}
