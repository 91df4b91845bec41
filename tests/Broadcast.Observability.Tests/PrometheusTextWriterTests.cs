using Broadcast.Observability.Metrics;

namespace Broadcast.Observability.Tests;

public class PrometheusTextWriterTests
{
    [Fact]
    public void Writes_families_once_and_escapes_label_values()
    {
        var w = new PrometheusTextWriter();
        w.Family("x_total", "counter", "Things.")
         .Sample("x_total", 3, ("stream", "a\"b\\c\nd"))
         .Family("x_total", "counter", "Things.")
         .Sample("x_total", 0.5, ("stream", "plain"));
        Assert.Equal(
            "# HELP x_total Things.\n# TYPE x_total counter\n" +
            "x_total{stream=\"a\\\"b\\\\c\\nd\"} 3\n" +
            "x_total{stream=\"plain\"} 0.5\n",
            w.ToString());
    }

    [Theory]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1e21, "1E+21")]
    public void Special_values(double value, string text) =>
        Assert.Equal($"m {text}\n", new PrometheusTextWriter().Sample("m", value).ToString());
}
