using System.Globalization;
using System.Text;
using Broadcast.Control.Analytics;

namespace Broadcast.Control.Dashboard;

/// <summary>A tick on one of the chart's axes: where it falls (user units of the SVG) and what it says.</summary>
public sealed record ChartTick(double At, string Label);

/// <summary>One chart on a page: its geometry, the SVG's id (its title and description take it as a prefix) and its title.</summary>
public sealed record AudienceChartView(AudienceChart Chart, string Id, string Title);

/// <summary>
/// The geometry of one of a broadcast's series (its concurrent viewers, the viewers that stalled, the mean bitrate) as an
/// inline SVG line chart, made on the server (no script, no library): the plot's points in the SVG's user units (y grows
/// downwards), the polyline's <c>points</c> attribute, the time ticks (UTC) along the bottom, the value ticks up the left
/// (<see cref="ViewerTicks"/>), and a sentence for the chart's accessible description.
/// </summary>
public sealed record AudienceChart(
    int Width,
    int Height,
    IReadOnlyList<(double X, double Y)> Points,
    IReadOnlyList<ChartTick> TimeTicks,
    IReadOnlyList<ChartTick> ViewerTicks,
    long ScaleMax,
    string Description)
{
    /// <summary>The plot's margins inside the SVG: room for the viewer labels on the left and the time labels below.</summary>
    public const int Left = 48, Right = 16, Top = 12, Bottom = 32;

    /// <summary>Time tick spacings (seconds) tried in order: the first giving at most <see cref="MaxTimeTicks"/> ticks is used.</summary>
    private static readonly int[] TimeSteps = [10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];

    private const int MaxTimeTicks = 6;

    public double PlotLeft => Left;

    public double PlotRight => Width - Right;

    public double PlotTop => Top;

    public double PlotBottom => Height - Bottom;

    /// <summary>The polyline's <c>points</c> attribute: "x,y x,y …" with one decimal, invariant culture.</summary>
    public string Polyline => string.Join(' ', Points.Select(p => Number(p.X) + "," + Number(p.Y)));

    /// <summary>The chart of <paramref name="series"/>' concurrent viewers (in time order, as the report gives it) in a <paramref name="width"/> by <paramref name="height"/> SVG.</summary>
    public static AudienceChart Of(IReadOnlyList<AudiencePoint> series, int width = 720, int height = 240)
    {
        ArgumentNullException.ThrowIfNull(series);
        return Of(series.Select(p => (p.T, p.Viewers)).ToList(), "Concurrent viewers", "No viewers were recorded.", width, height);
    }

    /// <summary>
    /// The chart of one value per bucket (<paramref name="series"/>, in time order, whole non-negative numbers), described as
    /// <paramref name="subject"/> ("Concurrent viewers"), or by <paramref name="nothing"/> when the series is empty.
    /// </summary>
    public static AudienceChart Of(IReadOnlyList<(DateTimeOffset T, long Value)> series, string subject, string nothing,
        int width = 720, int height = 240)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentException.ThrowIfNullOrEmpty(subject);
        ArgumentOutOfRangeException.ThrowIfLessThan(width, Left + Right + 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(height, Top + Bottom + 1);
        double plotWidth = width - Left - Right, plotHeight = height - Top - Bottom;
        if (series.Count == 0)
            return new AudienceChart(width, height, [], [], [new ChartTick(height - Bottom, "0")], 0, nothing);

        long peak = series.Max(p => p.Value);
        long step = ViewerStep(peak);
        long scaleMax = Math.Max(step, (peak + step - 1) / step * step);
        long t0 = series[0].T.ToUnixTimeSeconds(), t1 = series[^1].T.ToUnixTimeSeconds();
        long span = t1 - t0;
        // One bucket (or one instant) has no time axis to spread over: its point stands in the middle.
        double X(long t) => span <= 0 ? Left + plotWidth / 2 : Left + plotWidth * (t - t0) / span;
        double Y(long value) => Top + plotHeight * (1 - (double)value / scaleMax);

        var points = series.Select(p => (Round(X(p.T.ToUnixTimeSeconds())), Round(Y(p.Value)))).ToList();
        var viewerTicks = new List<ChartTick>();
        for (long v = 0; v <= scaleMax; v += step) viewerTicks.Add(new ChartTick(Round(Y(v)), v.ToString(CultureInfo.InvariantCulture)));

        var timeTicks = new List<ChartTick>();
        int timeStep = TimeSteps.FirstOrDefault(s => span / s < MaxTimeTicks, TimeSteps[^1]);
        string format = timeStep < 60 ? "HH:mm:ss" : span >= 86400 ? "d MMM HH:mm" : "HH:mm";
        long first = span <= 0 ? t0 : (t0 + timeStep - 1) / timeStep * timeStep;
        for (long t = first; t <= t1; t += timeStep)
            timeTicks.Add(new ChartTick(Round(X(t)), DateTimeOffset.FromUnixTimeSeconds(t).UtcDateTime.ToString(format, CultureInfo.InvariantCulture)));

        var peakPoint = series.First(p => p.Value == peak);
        var description = new StringBuilder();
        description.Append(CultureInfo.InvariantCulture,
            $"{subject} every {AudienceReport.Bucket} s from {Clock(series[0].T)} to {Clock(series[^1].T)} UTC, {series.Count} bucket{(series.Count == 1 ? "" : "s")}; ");
        description.Append(CultureInfo.InvariantCulture, $"peak {peak} at {Clock(peakPoint.T)} UTC.");
        return new AudienceChart(width, height, points, timeTicks, viewerTicks, scaleMax, description.ToString());
    }

    /// <summary>A spacing of 1, 2 or 5 times a power of ten giving at most five steps up to <paramref name="peak"/>.</summary>
    private static long ViewerStep(long peak)
    {
        for (long magnitude = 1; ; magnitude *= 10)
        {
            foreach (long factor in (long[])[1, 2, 5])
            {
                if (peak <= factor * magnitude * 5) return factor * magnitude;
            }
        }
    }

    private static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static double Round(double value) => Math.Round(value, 1);

    public static string Number(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
