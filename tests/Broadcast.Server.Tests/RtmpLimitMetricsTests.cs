using Broadcast.Ingest.Rtmp;
using Broadcast.Server.Metrics;

namespace Broadcast.Server.Tests;

public class RtmpLimitMetricsTests
{
    [Fact]
    public void Metrics_show_every_rtmp_limit_counter()
    {
        string text = MetricsEndpoint.Render(null, null, null, null, limits: new RtmpLimitCounters());
        Assert.Contains("# TYPE broadcast_rtmp_limit_hits_total counter\n", text);
        foreach (var limit in new[] { "connections_per_ip", "handshake_rate_per_ip", "slow_client", "publish_blocked" })
            Assert.Contains($"broadcast_rtmp_limit_hits_total{{limit=\"{limit}\"}} 0\n", text);
        Assert.Contains("broadcast_rtmp_publish_key_refused_total 0\n", text);
    }
}
