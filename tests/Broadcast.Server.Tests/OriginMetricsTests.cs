using System.Net;
using Broadcast.Origin;
using Broadcast.TestSupport;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests;

/// <summary>
/// /metrics on an origin-only node: the audience is counted where viewers arrive (this node has no live stream of its
/// own), and origin requests are counted by kind and status class, with a latency histogram and cache reads.
/// </summary>
public sealed partial class OriginMetricsTests
{
    [Fact]
    public async Task An_origin_only_node_reports_its_viewers_requests_latency_and_cache()
    {
        await using var origin = await InProcessServer.StartAsync("--Roles=origin", "--Playback:PublicOnly=true", "--Admin:Token=");
        await StoreObjectsAsync(origin, "metered");
        foreach (var (agent, path) in new[] { ("viewer-a", "/live/metered/720p/index.m3u8"), ("viewer-a", "/live/metered/720p/b1-1.m4s"), ("viewer-b", "/live/metered/720p/b1-1.m4s"),
                     ("viewer-b", "/live/metered/720p/b1-404.m4s") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.UserAgent.ParseAdd(agent);
            using var response = await origin.Http.SendAsync(request);
            Assert.Equal(path.Contains("404", StringComparison.Ordinal) ? HttpStatusCode.NotFound : HttpStatusCode.OK, response.StatusCode);
        }

        using (await origin.Http.GetAsync("/time")) { }
        string metrics = await origin.Http.GetStringAsync("/metrics");

        Assert.Equal(2, Sample(metrics, "broadcast_viewers", "stream=\"metered\""));
        Assert.Equal(1, Sample(metrics, "broadcast_origin_requests_total", "kind=\"playlist\",status=\"2xx\""));
        Assert.Equal(2, Sample(metrics, "broadcast_origin_requests_total", "kind=\"segment\",status=\"2xx\""));
        Assert.Equal(1, Sample(metrics, "broadcast_origin_requests_total", "kind=\"segment\",status=\"4xx\""));
        Assert.Equal(1, Sample(metrics, "broadcast_origin_requests_total", "kind=\"time\",status=\"2xx\""));
        Assert.Equal(3, Sample(metrics, "broadcast_origin_request_seconds_count", "kind=\"segment\""));
        Assert.Equal(3, Sample(metrics, "broadcast_origin_request_seconds_bucket", "kind=\"segment\",le=\"+Inf\""));
        Assert.True(Sample(metrics, "broadcast_origin_request_seconds_bucket", "kind=\"segment\",le=\"10\"") <= 3);
        // The second read of the segment came from memory.
        Assert.True(Sample(metrics, "broadcast_origin_cache_reads_total", "result=\"hit\"") >= 1, metrics);
        Assert.True(Sample(metrics, "broadcast_origin_cache_reads_total", "result=\"miss\"") >= 2, metrics);
    }

    [Fact]
    public void Request_kinds_follow_the_object_names()
    {
        Assert.Equal(OriginRequestKind.Playlist, OriginMetrics.KindOf("a/720p/index.m3u8", blocking: false));
        Assert.Equal(OriginRequestKind.BlockingPlaylist, OriginMetrics.KindOf("a/720p/index.m3u8", blocking: true));
        Assert.Equal(OriginRequestKind.Playlist, OriginMetrics.KindOf("a/manifest.mpd", blocking: false));
        Assert.Equal(OriginRequestKind.Segment, OriginMetrics.KindOf("a/720p/b1-3.m4s", blocking: false));
        Assert.Equal(OriginRequestKind.Part, OriginMetrics.KindOf("a/720p/b1-3.2.m4s", blocking: false));
        Assert.Equal(OriginRequestKind.Other, OriginMetrics.KindOf("a/thumb.jpg", blocking: false));
    }

    private static double Sample(string metrics, string name, string labels) =>
        PrometheusSample.Read(metrics, name, labels) ?? throw new Xunit.Sdk.XunitException($"no {name}{{{labels}}} in:{Environment.NewLine}{metrics}");
}
