using Broadcast.Observability.Metrics;
using Broadcast.WebRtc.Whep;

namespace Broadcast.Observability.Tests;

public class WhepMetricsTests
{
    [Fact]
    public void Metrics_show_real_time_viewers_against_the_cap_and_whether_janus_runs()
    {
        string text = MetricsEndpoint.Render(null, null, null, null, whep: new WhepStatus(Viewers: 3, Cap: 200, JanusUp: true, SessionsStarted: 11, RefusedAtCap: 2, WarmChannels: 1,
            RelayFeeds: 2, RelayedChannels: 4, EvictedUnconnected: 7, Pending: 5));
        Assert.Contains("# TYPE broadcast_whep_viewers gauge\nbroadcast_whep_viewers 3\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_whep_viewer_cap 200\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE broadcast_whep_sessions_total counter\nbroadcast_whep_sessions_total 11\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_whep_refused_at_cap_total 2\n", text, StringComparison.Ordinal);
        Assert.Contains("broadcast_janus_up 1\n", text, StringComparison.Ordinal);
        // Sessions not connected yet, and those ended to make room for a newcomer when the node was full.
        Assert.Contains("# TYPE broadcast_whep_pending_sessions gauge\nbroadcast_whep_pending_sessions 5\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE broadcast_whep_evicted_unconnected_total counter\nbroadcast_whep_evicted_unconnected_total 7\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE broadcast_whep_warm_channels gauge\nbroadcast_whep_warm_channels 1\n", text, StringComparison.Ordinal);
        // Between nodes: feeds this ingest node sends to origin-only nodes, channels this origin-only node relays in.
        Assert.Contains("# TYPE broadcast_whep_relay_feeds gauge\nbroadcast_whep_relay_feeds 2\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE broadcast_whep_relayed_channels gauge\nbroadcast_whep_relayed_channels 4\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_without_real_time_playback_ships_no_whep_metrics()
    {
        Assert.DoesNotContain("broadcast_whep", MetricsEndpoint.Render(null, null, null, null), StringComparison.Ordinal);
    }
}
