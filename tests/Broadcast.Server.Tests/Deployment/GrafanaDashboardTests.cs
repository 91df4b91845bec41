using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Deployment;

/// <summary>
/// infra/grafana/broadcast-dashboard.json charts /metrics: a query naming a metric the server does not ship draws an
/// empty panel nobody notices until the day it is needed. Every metric the dashboard queries must be one the metrics
/// endpoint writes, and the operations basics (viewers, ingest bitrate, transcoder, upload backlog, RTMP limits) are there.
/// </summary>
public sealed partial class GrafanaDashboardTests
{
    private static readonly JsonDocument Dashboard = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "infra", "grafana", "broadcast-dashboard.json")));

    [Fact]
    public void Every_queried_metric_is_one_the_server_ships()
    {
        string source = File.ReadAllText(Path.Combine(RepoPaths.Root, "observability", "Metrics", "MetricsEndpoint.cs"));
        var shipped = MetricLiteral().Matches(source).Select(m => m.Groups["name"].Value).ToHashSet(StringComparer.Ordinal);
        Assert.Contains("broadcast_viewers", shipped);

        var queried = Expressions().SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(queried);
        Assert.All(queried, name => Assert.True(shipped.Contains(name), $"the dashboard queries {name}, which /metrics does not serve"));

        foreach (string needed in new[]
                 {
                     "broadcast_viewers", "broadcast_stream_bitrate_bits_per_second", "broadcast_transcode_speed",
                     "broadcast_store_pending_bytes", "broadcast_rtmp_limit_hits_total", "broadcast_streams_live",
                     "broadcast_whep_viewers", "broadcast_whep_refused_at_cap_total", "broadcast_janus_up",
                 })
        {
            Assert.Contains(needed, queried);
        }
    }

    [Fact]
    public void Panels_use_the_data_source_variable_and_have_unique_ids()
    {
        var panels = Dashboard.RootElement.GetProperty("panels").EnumerateArray().ToList();
        var ids = panels.Select(p => p.GetProperty("id").GetInt32()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            Assert.Equal("${datasource}", panel.GetProperty("datasource").GetProperty("uid").GetString());
            Assert.NotEmpty(panel.GetProperty("targets").EnumerateArray());
            var grid = panel.GetProperty("gridPos");
            Assert.InRange(grid.GetProperty("x").GetInt32() + grid.GetProperty("w").GetInt32(), 1, 24);
        }

        var variables = Dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Equal(new[] { "datasource", "instance", "stream" }, variables);
    }

    private static IEnumerable<string> Expressions()
        => Dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .Concat(Dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
                .Where(v => v.TryGetProperty("definition", out _))
                .Select(v => v.GetProperty("definition").GetString()!));

    [GeneratedRegex(@"""(?<name>broadcast_[a-z_]+)""")]
    private static partial Regex MetricLiteral();

    [GeneratedRegex(@"broadcast_[a-z_]+")]
    private static partial Regex MetricName();
}
