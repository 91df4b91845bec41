using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// infra/nginx-edge.conf in front of one origin (Roles=origin, reading the bucket an ingest node writes):
/// 200 viewers each fetch the live playlist and its newest segment every second for 20 s. The origin's own
/// request log must show at most one request per segment and at most one playlist request per cache period. The edge's
/// audience log goes to the origin (Origin:EdgeLogPort), and each viewer (a User-Agent of its own) counts there once,
/// though nearly all of its requests were answered from the edge's cache.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed partial class EdgeCacheTests(ITestOutputHelper output)
{
    private const int Clients = 200;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Two_hundred_viewers_behind_the_edge_cost_the_origin_one_request_per_segment_and_one_playlist_request_per_max_age()
    {
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("edge");
        await using var ingest = await S3Nodes.StartIngestAsync(url, bucket);
        int audienceLogPort = FreePort.Udp();
        await using var origin = await S3Nodes.StartOriginAsync(url, bucket, $"--Origin:EdgeLogPort={audienceLogPort}",
            "--Origin:EdgeLogAddress=127.0.0.1", "--Origin:EdgeLogSources=127.0.0.1");
        // Token checks go to the origin too (public-only here: every stream passes); no control node in the viewer path.
        await using var edge = await EdgeNginx.StartAsync([origin.HttpPort], audienceLogPort: audienceLogPort);
        string Logs() => $"--- origin ---{Environment.NewLine}{origin.LogTail(40)}{Environment.NewLine}--- edge ---{Environment.NewLine}{edge.LogTail(20)}";

        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip with { Seconds = 28 });
        var channel = await ingest.Api.CreateChannelAsync($"edge {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(channel.StreamKey));
        var playlistUri = new Uri(edge.BaseUri, $"live/{channel.Slug}/source/index.m3u8");

        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Clients, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        await WaitFor.ConditionAsync(async () =>
            {
                using var r = await http.GetAsync(playlistUri);
                return r.IsSuccessStatusCode && S3Nodes.ParsePlaylist(await r.Content.ReadAsStringAsync()).Segments.Count >= 2;
            }, TimeSpan.FromSeconds(40), $"{playlistUri} through the edge with two segments", Logs);

        int playlistRequestsBefore = OriginRequests(origin, channel.Slug).Count(IsPlaylist);
        var stats = new ConcurrentDictionary<string, int>();
        var latencies = new ConcurrentBag<double>();
        long failures = 0;
        var clock = Stopwatch.StartNew();
        var clients = Enumerable.Range(0, Clients).Select(i => Task.Run(async () =>
        {
            // Spread the clients over the first second, as real viewers are.
            await Task.Delay(TimeSpan.FromMilliseconds(i * 1000.0 / Clients));
            string userAgent = $"edge-viewer-{i}";
            while (clock.Elapsed < Duration)
            {
                var tick = clock.Elapsed;
                try
                {
                    var t0 = clock.Elapsed;
                    using var list = await http.SendAsync(Get(playlistUri, userAgent));
                    Count(stats, "playlist", list);
                    var segments = S3Nodes.ParsePlaylist(await list.Content.ReadAsStringAsync()).Segments;
                    using var segment = await http.SendAsync(Get(new Uri(playlistUri, segments[^1]), userAgent));
                    await segment.Content.ReadAsByteArrayAsync();
                    Count(stats, "segment", segment);
                    latencies.Add((clock.Elapsed - t0).TotalMilliseconds);
                    if (!list.IsSuccessStatusCode || !segment.IsSuccessStatusCode) Interlocked.Increment(ref failures);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IndexOutOfRangeException or ArgumentOutOfRangeException)
                {
                    Interlocked.Increment(ref failures);
                }

                var next = tick + TimeSpan.FromSeconds(1) - clock.Elapsed;
                if (next > TimeSpan.Zero) await Task.Delay(next);
            }
        })).ToList();
        await Task.WhenAll(clients);
        var elapsed = clock.Elapsed;
        // Every viewer fetched within the origin's 30 s viewer window; the set-up's requests above (no User-Agent) may add one.
        double audience = await ViewersAsync(origin, channel.Slug);

        var requests = OriginRequests(origin, channel.Slug);
        var perSegment = requests.Where(p => p.EndsWith(".m4s", StringComparison.Ordinal) || p.EndsWith(".mp4", StringComparison.Ordinal))
            .GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        int playlistRequests = requests.Count(IsPlaylist) - playlistRequestsBefore;
        int maxAge = 1; // Packager:SegmentSeconds=2 -> live playlists max-age=1
        int playlistBound = (int)Math.Ceiling(elapsed.TotalSeconds / maxAge) + 2;
        var sorted = latencies.Order().ToList();
        var result = new
        {
            clients = Clients,
            seconds = Math.Round(elapsed.TotalSeconds, 1),
            edgeRequests = stats.Values.Sum(),
            edgeCacheStatus = stats.OrderBy(k => k.Key).ToDictionary(k => k.Key, k => k.Value),
            failures,
            originSegmentRequests = perSegment.Values.Sum(),
            distinctSegments = perSegment.Count,
            maxRequestsPerSegment = perSegment.Count == 0 ? 0 : perSegment.Values.Max(),
            originPlaylistRequests = playlistRequests,
            playlistBound,
            originViewers = audience,
            p50Ms = sorted.Count == 0 ? 0 : Math.Round(sorted[sorted.Count / 2], 1),
            p99Ms = sorted.Count == 0 ? 0 : Math.Round(sorted[(int)(sorted.Count * 0.99)], 1),
        };
        string json = JsonSerializer.Serialize(result);
        output.WriteLine(json);
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts")).FullName;
        await File.WriteAllTextAsync(Path.Combine(artifacts, "edge-cache.json"), json);

        Assert.True(failures <= Clients / 100, $"{failures} failed viewer rounds: {json}{Environment.NewLine}{Logs()}");
        Assert.True(result.edgeRequests >= Clients * (int)Duration.TotalSeconds, $"the viewers made too few requests: {json}");
        Assert.True(perSegment.Count >= 5, $"the origin saw only {perSegment.Count} segments: {json}");
        Assert.True(result.maxRequestsPerSegment == 1,
            $"a segment reached the origin more than once: {string.Join(", ", perSegment.Where(p => p.Value > 1).Select(p => $"{p.Key}={p.Value}"))}; {json}");
        Assert.True(playlistRequests <= playlistBound, $"{playlistRequests} playlist requests reached the origin in {elapsed.TotalSeconds:0.0} s: {json}");
        Assert.True(audience is >= Clients and <= Clients + 1,
            $"the origin counted {audience} viewers of the {Clients} behind the edge (from its audience log): {json}{Environment.NewLine}{Logs()}");
    }

    private static HttpRequestMessage Get(Uri uri, string userAgent)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.UserAgent.ParseAdd(userAgent);
        return request;
    }

    /// <summary>The channel's viewers as the origin's /metrics tells them (0 when it lists none).</summary>
    private static async Task<double> ViewersAsync(ServerProcess origin, string slug)
    {
        string metrics = await origin.Http.GetStringAsync("metrics");
        return PrometheusSample.Read(metrics, "broadcast_viewers", $"stream=\"{slug}\"") ?? 0;
    }

    private static bool IsPlaylist(string path) => path.EndsWith("/source/index.m3u8", StringComparison.Ordinal);

    private static void Count(ConcurrentDictionary<string, int> stats, string what, HttpResponseMessage response)
    {
        string cache = EdgeNginx.CacheStatus(response);
        stats.AddOrUpdate($"{what} {(int)response.StatusCode} {cache}", 1, (_, n) => n + 1);
    }

    /// <summary>Paths of the GETs the origin logged for the channel (ASP.NET Core hosting "Request starting" lines).</summary>
    private static List<string> OriginRequests(ServerProcess origin, string slug) =>
        origin.Log.Tail(5000).Split('\n')
            .Select(l => RequestLine().Match(l))
            .Where(m => m.Success && m.Groups["path"].Value.StartsWith($"/live/{slug}/", StringComparison.Ordinal))
            .Select(m => m.Groups["path"].Value)
            .ToList();

    [GeneratedRegex(@"Request starting \S+ (?:GET|HEAD) https?://[^/\s]+(?<path>/[^\s?]*)")]
    private static partial Regex RequestLine();
}
