using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Storage;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>
/// The audience of one broadcast served by three nodes at once, as docker-compose deploys them (docs/scale-out.md): the
/// broadcast node (ingest, control and origin, with the database) and two origin-only nodes that hand each bucket's viewers
/// to it with the playback node token, all on one S3 bucket, and infra/nginx-edge.conf in front of both origins, whose
/// audience log goes to the broadcast node. Twelve HTTP viewers (a User-Agent each, from one address) reload the source
/// playlist and fetch its newest segment every second for half a minute: three on origin A with CMCD session ids, three on
/// origin B without CMCD, two with CMCD and two without that go to A and B in turn (both nodes see them in every bucket),
/// and two through the edge (counted from its log; the requests it forwards carry the header that keeps the origins from
/// counting them again). The broadcast's report says twelve concurrent viewers in the buckets all watched through and
/// twelve unique ones, never more, five of them CMCD sessions, and minutes watched within 5 % of the viewers' own record;
/// each origin's own count is its share only. The test waits on the bucket's listing, never on a media request, so it counts no viewer itself.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class AudienceAcrossOriginsTests(ITestOutputHelper output)
{
    private const string NodeToken = "audience-node-token-0123456789abcdef0123";
    private const int BucketSeconds = 10;
    private static readonly TimeSpan Watching = TimeSpan.FromSeconds(30);

    /// <summary>Where one test viewer sends its requests, round after round, and whether it names a CMCD session.</summary>
    private sealed record Viewer(string Name, Uri[] Nodes, bool Cmcd)
    {
        public ConcurrentQueue<DateTimeOffset> Requests { get; } = new();
        public ConcurrentQueue<DateTimeOffset> Answers { get; } = new();
        public int Failures;
    }

    [Fact]
    public async Task Viewers_of_two_origins_and_the_edge_are_summed_once_each_in_the_broadcasts_report()
    {
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("audience");
        int audienceLogPort = FreePort.Udp();
        // The source passes through (no ladder): this test is about counting viewers, not transcoding.
        await using var node = await S3Nodes.StartIngestAsync(url, bucket, alsoOrigin: true, record: false,
            "--Transcode:Enabled=false", $"--Playback:NodeToken={NodeToken}", $"--Origin:EdgeLogPort={audienceLogPort}",
            "--Origin:EdgeLogAddress=127.0.0.1", "--Origin:EdgeLogSources=127.0.0.1");
        string[] originArguments =
        [
            "--Roles=origin", "--Admin:Token=", $"--Playback:ControlUrl={node.BaseUri}", $"--Playback:NodeToken={NodeToken}",
            "--Playback:RefreshSeconds=1", .. S3Nodes.StorageArguments(url, bucket, createBucket: false),
        ];
        await using var originA = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = [.. originArguments, "--Ingest:NodeId=origin-a"] });
        await using var originB = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = [.. originArguments, "--Ingest:NodeId=origin-b"] });
        await using var edge = await EdgeNginx.StartAsync([originA.HttpPort, originB.HttpPort], audienceLogPort: audienceLogPort);
        string Logs() => $"--- broadcast node ---{Environment.NewLine}{node.LogTail(30)}{Environment.NewLine}--- origin A ---{Environment.NewLine}{originA.LogTail(20)}"
            + $"{Environment.NewLine}--- origin B ---{Environment.NewLine}{originB.LogTail(20)}{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.LogTail(10)}";

        var channel = await node.Api.CreateChannelAsync($"audience across origins {Guid.NewGuid():N}");
        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
        await using var publisher = FfmpegPublisher.Start(clip, node.RtmpUrl(channel.StreamKey), loops: 4);
        using (var store = S3Nodes.Bucket(url, bucket))
        {
            await WaitFor.ConditionAsync(async () => (await S3Nodes.ListAsync(store, $"{channel.Slug}/source/")).Count(k => k.EndsWith(".m4s", StringComparison.Ordinal)) >= 2,
                TimeSpan.FromSeconds(60), "two source segments in the bucket", Logs);
        }

        Uri a = originA.BaseUri, b = originB.BaseUri, viaEdge = edge.BaseUri;
        var viewers = new List<Viewer>();
        for (int i = 0; i < 3; i++) viewers.Add(new Viewer($"on-a-{i}", [a], Cmcd: true));
        for (int i = 0; i < 3; i++) viewers.Add(new Viewer($"on-b-{i}", [b], Cmcd: false));
        for (int i = 0; i < 2; i++) viewers.Add(new Viewer($"moving-cmcd-{i}", [a, b], Cmcd: true));
        for (int i = 0; i < 2; i++) viewers.Add(new Viewer($"moving-{i}", [b, a], Cmcd: false));
        for (int i = 0; i < 2; i++) viewers.Add(new Viewer($"edge-{i}", [viaEdge], Cmcd: false));

        using var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };
        string playlistPath = $"live/{channel.Slug}/source/index.m3u8";
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(viewers.Select((viewer, index) => Task.Run(async () =>
        {
            // Spread over the first second, as real viewers are.
            await Task.Delay(TimeSpan.FromMilliseconds(index * 1000.0 / viewers.Count));
            string session = $"{viewer.Name}-{Guid.NewGuid():N}";
            for (int round = 0; clock.Elapsed < Watching; round++)
            {
                var tick = clock.Elapsed;
                var at = viewer.Nodes[round % viewer.Nodes.Length];
                try
                {
                    string playlist = await GetAsync(http, viewer, new Uri(at, playlistPath), session);
                    var segments = S3Nodes.ParsePlaylist(playlist).Segments;
                    if (segments.Count > 0) await GetAsync(http, viewer, new Uri(new Uri(at, playlistPath), segments[^1]), session);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    Interlocked.Increment(ref viewer.Failures);
                }

                var next = tick + TimeSpan.FromSeconds(1) - clock.Elapsed;
                if (next > TimeSpan.Zero) await Task.Delay(next);
            }
        })));
        int failures = viewers.Sum(v => v.Failures);
        Assert.True(failures <= 2, $"{failures} viewer rounds failed: {string.Join(", ", viewers.Where(v => v.Failures > 0).Select(v => $"{v.Name} {v.Failures}"))}{Environment.NewLine}{Logs()}");

        // Each node's own count is its share: A serves its three and the four that move, B its three and the same four.
        double onA = await ViewersAsync(originA, channel.Slug), onB = await ViewersAsync(originB, channel.Slug);

        // The report, once the bucket the viewers left in has ended, been sampled and been handed over by both origins.
        long Bucket(DateTimeOffset t) => t.ToUnixTimeSeconds() / BucketSeconds * BucketSeconds;
        // (The bucket of the last answer: a viewer's loop ends with its wait for the next round, which can pass a bucket's end.)
        long lastBucket = Bucket(viewers.SelectMany(v => v.Answers.Concat(v.Requests)).Max());
        JsonElement report = default;
        await WaitFor.ConditionAsync(async () =>
        {
            if (DateTimeOffset.UtcNow.ToUnixTimeSeconds() < lastBucket + BucketSeconds + 5) return false;
            if (await AudienceReports.LatestAsync(node.Http, channel.Id) is not { } latest) return false;
            report = latest.Report;
            return report.GetProperty("series").EnumerateArray().Any(p => Bucket(p.GetProperty("t").GetDateTimeOffset()) == lastBucket);
        }, TimeSpan.FromSeconds(60), "the report with the bucket the viewers left in", Logs, TimeSpan.FromSeconds(1));

        // A node counts a request in the bucket it handles it in, somewhere between the viewer sending it and the answer
        // arriving: a first or last request in flight across a bucket's turn is in either bucket. So the viewers' own minutes
        // are a range, from their answered span (first answer to last request) to their asked span (first request to last answer).
        long SpanSeconds(DateTimeOffset first, DateTimeOffset last) => Bucket(last) - Bucket(first) + BucketSeconds;
        long leastSeconds = viewers.Sum(v => SpanSeconds(v.Answers.Min(), v.Requests.Max()));
        long mostSeconds = viewers.Sum(v => SpanSeconds(v.Requests.Min(), v.Answers.Concat(v.Requests).Max()));
        double minutes = report.GetProperty("minutesWatched").GetDouble();
        var series = report.GetProperty("series").EnumerateArray().ToList();
        string details = string.Create(CultureInfo.InvariantCulture,
            $"peak {report.GetProperty("peakViewers")}, unique {report.GetProperty("uniqueViewers")}, minutes {minutes:0.00} (viewers' own {leastSeconds / 60.0:0.00} to {mostSeconds / 60.0:0.00}), "
            + $"origin A counts {onA}, origin B {onB}; series {string.Join(" ", series.Select(p => $"{p.GetProperty("t").GetDateTimeOffset():HH:mm:ss}={p.GetProperty("viewers")}"))}")
            + Environment.NewLine + report;
        output.WriteLine(details);

        Assert.True(report.GetProperty("peakViewers").GetInt64() == viewers.Count, details);
        Assert.True(report.GetProperty("uniqueViewers").GetInt64() == viewers.Count, details);
        Assert.True(report.GetProperty("byDelivery").GetProperty("hls").GetProperty("viewers").GetInt64() == viewers.Count, details);
        Assert.True(minutes * 60 >= leastSeconds * 0.95 && minutes * 60 <= mostSeconds * 1.05, details);
        // Summed, never double counted: the buckets all twelve watched through say twelve, and none says more.
        Assert.True(series.Count(p => p.GetProperty("viewers").GetInt64() == viewers.Count) >= 2, details);
        Assert.All(series, p => Assert.True(p.GetProperty("viewers").GetInt64() <= viewers.Count, details));
        Assert.True(onA == 7 && onB == 7, details);
        // The CMCD sessions, the two that moved included, are as many players in the quality figures too.
        Assert.True(report.GetProperty("quality").GetProperty("cmcdViewers").GetInt64() == viewers.Count(v => v.Cmcd), details);
    }

    /// <summary>One request as a player makes it (its CMCD session in the CMCD-Session header, CTA-5004 §3.3), timed.</summary>
    private static async Task<string> GetAsync(HttpClient http, Viewer viewer, Uri uri, string session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.UserAgent.ParseAdd($"audience-viewer/{viewer.Name}");
        if (viewer.Cmcd) request.Headers.TryAddWithoutValidation("CMCD-Session", $"sid=\"{session}\"");
        viewer.Requests.Enqueue(DateTimeOffset.UtcNow);
        using var response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        viewer.Answers.Enqueue(DateTimeOffset.UtcNow);
        if (!response.IsSuccessStatusCode) Interlocked.Increment(ref viewer.Failures);
        return body;
    }

    /// <summary>The channel's viewers as a node's /metrics tells them (0 when it lists none).</summary>
    private static async Task<double> ViewersAsync(ServerProcess origin, string slug) =>
        PrometheusSample.Read(await origin.Http.GetStringAsync("metrics"), "broadcast_viewers", $"stream=\"{slug}\"") ?? 0;
}
