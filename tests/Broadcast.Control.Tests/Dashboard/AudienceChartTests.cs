using Broadcast.Control.Analytics;
using Broadcast.Control.Dashboard;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// The geometry of the audience report's server-drawn chart (<see cref="AudienceChart"/>): no series, one bucket, a flat
/// line, the peak at its time and at the top of a rounded scale, time ticks in UTC on round instants.
/// </summary>
public sealed class AudienceChartTests
{
    private const long T0 = 1_796_000_000; // 2026-11-30T00:53:20Z

    private static AudiencePoint At(long t, long viewers) => new(DateTimeOffset.FromUnixTimeSeconds(t), viewers, viewers, 0, 0, 0);

    [Fact]
    public void An_empty_series_has_no_points_and_says_so()
    {
        var chart = AudienceChart.Of([]);
        Assert.Empty(chart.Points);
        Assert.Equal("", chart.Polyline);
        Assert.Empty(chart.TimeTicks);
        Assert.Equal("No viewers were recorded.", chart.Description);
    }

    [Fact]
    public void One_bucket_stands_in_the_middle_with_its_time_as_the_only_tick()
    {
        var chart = AudienceChart.Of([At(T0, 3)], width: 720, height: 240);
        var point = Assert.Single(chart.Points);
        // Plot: x 48..704, y 12..208; the scale rounds 3 up to 3 (steps of 1).
        Assert.Equal((376.0, 12.0), point);
        Assert.Equal("376,12", chart.Polyline);
        var tick = Assert.Single(chart.TimeTicks);
        Assert.Equal((376.0, "00:53:20"), (tick.At, tick.Label));
        Assert.Equal(3, chart.ScaleMax);
    }

    [Fact]
    public void A_flat_series_is_a_level_line_and_none_at_all_lies_on_the_axis()
    {
        var flat = AudienceChart.Of([At(T0, 4), At(T0 + 10, 4), At(T0 + 20, 4)]);
        Assert.Single(flat.Points.Select(p => p.Y).Distinct());
        Assert.Equal([48.0, 376.0, 704.0], flat.Points.Select(p => p.X));
        Assert.Equal(flat.PlotTop, flat.Points[0].Y);

        var none = AudienceChart.Of([At(T0, 0), At(T0 + 10, 0)]);
        Assert.All(none.Points, p => Assert.Equal(none.PlotBottom, p.Y));
        Assert.Equal(1, none.ScaleMax); // never a scale of zero
        Assert.Equal(["0", "1"], none.ViewerTicks.Select(t => t.Label));
    }

    [Fact]
    public void The_peak_is_the_highest_point_at_its_time_and_the_scale_and_ticks_are_round()
    {
        // An hour of buckets: 0 rising to 37 at 20 minutes, then falling.
        var series = Enumerable.Range(0, 361).Select(i => At(T0 + (i * 10), i <= 120 ? i * 37 / 120 : Math.Max(0, 37 - ((i - 120) / 7)))).ToList();
        var chart = AudienceChart.Of(series, width: 720, height: 240);

        Assert.Equal(361, chart.Points.Count);
        Assert.Equal(361, chart.Polyline.Split(' ').Length);
        double top = chart.Points.Min(p => p.Y);
        int peak = chart.Points.ToList().FindIndex(p => p.Y == top);
        Assert.Equal(120, peak);
        Assert.Equal(Math.Round(48 + (656.0 * 1200 / 3600), 1), chart.Points[peak].X);
        // 37 viewers: steps of 10 up to 40, so the peak stands below the top.
        Assert.Equal(40, chart.ScaleMax);
        Assert.Equal(["0", "10", "20", "30", "40"], chart.ViewerTicks.Select(t => t.Label));
        Assert.Equal(Math.Round(12 + (196 * (1 - (37 / 40.0))), 1), top);
        // An hour: a tick every quarter hour on the clock's round minutes (UTC), inside the plot.
        Assert.Equal(["01:00", "01:15", "01:30", "01:45"], chart.TimeTicks.Select(t => t.Label));
        Assert.All(chart.TimeTicks, t => Assert.InRange(t.At, chart.PlotLeft, chart.PlotRight));
        Assert.Contains("peak 37 at 2026-11-30 01:13:20 UTC", chart.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_series_is_described_by_its_own_subject_and_its_own_empty_sentence()
    {
        var stalled = AudienceChart.Of([(DateTimeOffset.FromUnixTimeSeconds(T0), 0L), (DateTimeOffset.FromUnixTimeSeconds(T0 + 10), 2L)],
            "CMCD sessions that stalled", "No CMCD session played.");
        Assert.StartsWith("CMCD sessions that stalled every 10 s from 2026-11-30 00:53:20 to 2026-11-30 00:53:30 UTC, 2 buckets;", stalled.Description,
            StringComparison.Ordinal);
        Assert.EndsWith("peak 2 at 2026-11-30 00:53:30 UTC.", stalled.Description, StringComparison.Ordinal);
        Assert.Equal(2, stalled.ScaleMax);
        // The zero lies on the axis, the peak at the top.
        Assert.Equal([(48.0, 208.0), (704.0, 12.0)], stalled.Points);
        Assert.Equal("No CMCD session played.", AudienceChart.Of([], "CMCD sessions that stalled", "No CMCD session played.").Description);
    }
}
