using Broadcast.Ingest.Rtmp;
using Broadcast.Observability.Metrics;

namespace Broadcast.Observability.Tests;

public class RtmpLimitMetricsTests
{
    [Fact]
    public void Metrics_show_every_rtmp_limit_counter()
    {
        string text = MetricsEndpoint.Render(null, null, null, null, limits: new RtmpLimitCounters());
        Assert.Contains("# TYPE broadcast_rtmp_limit_hits_total counter\n", text);
        foreach (var limit in new[] { "connections_per_ip", "handshake_rate_per_ip", "slow_client", "publish_blocked", "memory_budget" })
            Assert.Contains($"broadcast_rtmp_limit_hits_total{{limit=\"{limit}\"}} 0\n", text);
        Assert.Contains("broadcast_rtmp_publish_key_refused_total 0\n", text);
    }

    [Fact]
    public void Metrics_show_what_rtmp_connections_hold_against_the_total()
    {
        var memory = new RtmpMemoryBudget(512L * 1024 * 1024);
        string text = MetricsEndpoint.Render(null, null, null, null, memory: memory);
        Assert.Contains("# TYPE broadcast_rtmp_memory_held_bytes gauge\n", text);
        Assert.Contains("broadcast_rtmp_memory_held_bytes 0\n", text);
        Assert.Contains("broadcast_rtmp_memory_budget_bytes 536870912\n", text);
    }
}
