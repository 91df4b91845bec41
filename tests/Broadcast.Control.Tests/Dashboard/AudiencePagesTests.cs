using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.Control.Analytics;
using Broadcast.Control.Dashboard;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Dashboard;

/// <summary>
/// The dashboard's audience pages rendered by a real control host with the dashboard mapped: a channel's broadcasts
/// linking to their reports, a report's figures, playback quality, split by rung and inline SVG chart (one polyline point per bucket),
/// the plain empty states, and another channel's broadcast a 404.
/// </summary>
public sealed partial class AudiencePagesTests
{
    private const string Token = "test-admin-token-audience-pages-012345";
    private const long T0 = 1_796_000_000; // 2026-11-30T00:53:20Z
    private const string Broadcast = "20261130T005320Z";

    private static Task<ControlApiHost> StartAsync() => ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(),
        services => services.AddDashboard(new ConfigurationBuilder().Build()), app => app.MapDashboard());

    [Fact]
    public async Task The_report_page_shows_the_figures_quality_and_a_chart_of_every_bucket()
    {
        await using var host = await StartAsync();
        string id = await host.CreateChannelAsync("Evening");
        string other = await host.CreateChannelAsync("Morning");
        var store = host.App.Services.GetRequiredService<AudienceStore>();
        var quality = new PlaybackQualityCounts(2, 1, 3, 1, 1200, [0, 0, 1, 0, 0, 0], 2, 5000, 1, 9000, 2, 0, 0);
        // v1 and v2 sent CMCD, v1 stalled; node b answered 404 twice and 503 once.
        await store.WriteAsync(new AudienceSampleRow(Broadcast, id, T0, "a", 3, 2, 0, 1, 0, Quality: quality),
            [new("v1", T0, T0 + 10, "hls", Cmcd: true, Stalled: true, Rung: "720p"), new("v2", T0, T0, "hls", Cmcd: true, Rung: "other"),
                new("v3", T0, T0, "dash", Rung: "480p")]);
        await store.WriteAsync(new AudienceSampleRow(Broadcast, id, T0, "b", 1, 0, 1, 0, 4, NotFound: 2, Unavailable: 1),
            [new("v4", T0, T0 + 10, "llhls")]);
        await store.WriteAsync(new AudienceSampleRow(Broadcast, id, T0 + 10, "a", 2, 1, 1, 0, 0), [new("v1", T0 + 10, T0 + 10, "hls", Rung: "720p")]);
        await store.WriteAsync(new AudienceSampleRow(Broadcast, id, T0 + 20, "a", 1, 1, 0, 0, 0), [new("v1", T0 + 20, T0 + 20, "hls", Rung: "720p")]);

        using var page = await host.Client.GetAsync($"/dashboard/channels/{id}/audience/{Broadcast}");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        string html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<span class=\"kpi-value\" id=\"audience-peak\">4</span>", html, StringComparison.Ordinal);
        Assert.Contains("<span class=\"kpi-value\" id=\"audience-unique\">4</span>", html, StringComparison.Ordinal);
        // v1 30 s, v2 10 s, v3 10 s, v4 20 s: 70 s, 1.17 minutes; mean 17.5 s (0:18), median the upper middle, 20 s.
        Assert.Contains("<span class=\"kpi-value\" id=\"audience-minutes\">1.17</span>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Peak</dt><dd>4 at 2026-11-30T00:53:20Z</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Mean watch time</dt><dd>0:18</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Median watch time</dt><dd>0:20</dd>", html, StringComparison.Ordinal);
        Assert.Matches("<tr data-delivery=\"hls\"><td>HLS</td><td class=\"num\">2</td><td class=\"num\">2</td></tr>", html);
        Assert.Matches("<tr data-delivery=\"llhls\"><td>LL-HLS</td><td class=\"num\">1</td><td class=\"num\">1</td></tr>", html);
        // Quality: 2 sessions in one bucket, one stalled with 3 stalls, a 1.2 s startup (median at most 2000 ms), 2.5 and 9 Mb/s.
        Assert.Contains("<dt>Peak CMCD sessions</dt><dd>2 at 2026-11-30T00:53:20Z</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Median startup</dt><dd>at most 2000 ms</dd>", html, StringComparison.Ordinal);
        Assert.Matches("<dt>Stalled share</dt><dd title=\"[^\"]*\">50 %</dd>", html);
        Assert.Contains("<dd id=\"audience-stalled-viewers\">50 % (1 of 2 CMCD viewers)</dd>", html, StringComparison.Ordinal);
        Assert.Contains(">2 not found, 1 unavailable</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Stalls per session hour</dt><dd>540 (3 in all)</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Mean bitrate</dt><dd>2.50 Mb/s</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Mean throughput</dt><dd>9.00 Mb/s</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Rung switches</dt><dd>2 (", html, StringComparison.Ordinal);
        Assert.DoesNotContain("audience-quality-empty", html, StringComparison.Ordinal);
        // By rung (a viewer counts on a bucket's rung where it was last seen in that bucket): 720p in two buckets, 20 s;
        // most minutes watched first, "other" last.
        Assert.Contains("<tr data-rung=\"720p\"><td class=\"mono\">720p</td><td class=\"num\">1</td><td class=\"num\">0.33</td></tr>", html, StringComparison.Ordinal);
        int p720 = html.IndexOf("data-rung=\"720p\"", StringComparison.Ordinal), p480 = html.IndexOf("data-rung=\"480p\"", StringComparison.Ordinal);
        Assert.True(p720 > 0 && p480 > p720 && html.IndexOf("data-rung=\"other\"", StringComparison.Ordinal) > p480, "rungs in order");
        Assert.DoesNotContain("audience-rungs-empty", html, StringComparison.Ordinal);

        // The chart: inline SVG with a title and description, one point per bucket, the peak's bucket the highest.
        Assert.Contains("<svg class=\"audience-chart\"", html, StringComparison.Ordinal);
        Assert.Contains("<title id=\"audience-chart-title\">Concurrent viewers of broadcast " + Broadcast + "</title>", html, StringComparison.Ordinal);
        Assert.Contains("peak 4 at 2026-11-30 00:53:20 UTC", html, StringComparison.Ordinal);
        var points = PolylinePoints().Match(html);
        Assert.True(points.Success, "no polyline in the page");
        var xy = points.Groups[1].Value.Split(' ').Select(p => p.Split(',').Select(v => double.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal(3, xy.Count);
        Assert.Equal(xy.Min(p => p[1]), xy[0][1]);
        Assert.Equal(AudienceChart.Of((await store.ReportAsync(id, Broadcast))!.Series).Polyline, points.Groups[1].Value);
        Assert.Contains($"href=\"/api/channels/{id}/broadcasts/{Broadcast}/audience?format=csv\"", html, StringComparison.Ordinal);
        // With CMCD, the quality over time: the sessions that stalled (1 in the bucket) and the mean bitrate (2,500 kb/s).
        Assert.Contains("<svg class=\"audience-chart\" id=\"audience-stalled-chart\"", html, StringComparison.Ordinal);
        Assert.Contains("<title id=\"audience-stalled-chart-title\">CMCD sessions that stalled, per bucket, of broadcast " + Broadcast + "</title>",
            html, StringComparison.Ordinal);
        Assert.Contains("<desc id=\"audience-stalled-chart-desc\">CMCD sessions that stalled every 10 s from 2026-11-30 00:53:20 to 2026-11-30 00:53:20 UTC, 1 bucket; peak 1 at",
            html, StringComparison.Ordinal);
        Assert.Contains("<desc id=\"audience-bitrate-chart-desc\">Mean bitrate of CMCD sessions (kb/s) every 10 s", html, StringComparison.Ordinal);
        Assert.Contains("peak 2500 at 2026-11-30 00:53:20 UTC.</desc>", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html.Split("<svg")[1].Split("</svg>")[0], StringComparison.Ordinal);

        // Another channel's broadcast, an unknown one, a malformed id, an unknown channel: all 404.
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/dashboard/channels/{other}/audience/{Broadcast}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/dashboard/channels/{id}/audience/20991231T000000Z")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/dashboard/channels/{id}/audience/a%20b")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/dashboard/channels/nope/audience/{Broadcast}")).StatusCode);
    }

    [Fact]
    public async Task The_list_page_links_each_broadcast_and_says_plainly_when_nothing_was_kept()
    {
        await using var host = await StartAsync();
        string id = await host.CreateChannelAsync("Evening");

        string empty = await host.Client.GetStringAsync($"/dashboard/channels/{id}/audience");
        Assert.Contains("id=\"audience-empty\">No audience was kept for this channel.", empty, StringComparison.Ordinal);
        Assert.Contains("kept for 90 days", empty, StringComparison.Ordinal);
        string channelPage = await host.Client.GetStringAsync($"/dashboard/channels/{id}");
        Assert.Contains($"href=\"/dashboard/channels/{id}/audience\" id=\"audience-all\"", channelPage, StringComparison.Ordinal);

        var store = host.App.Services.GetRequiredService<AudienceStore>();
        await store.WriteAsync(new AudienceSampleRow(Broadcast, id, T0, "a", 2, 2, 0, 0, 0), [new("v1", T0, T0, "hls"), new("v2", T0, T0, "hls")]);
        await store.WriteAsync(new AudienceSampleRow("20261201T000000Z", id, T0 + 86_400, "a", 0, 0, 0, 0, 0), []);

        string list = await host.Client.GetStringAsync($"/dashboard/channels/{id}/audience");
        int newer = list.IndexOf($"href=\"/dashboard/channels/{id}/audience/20261201T000000Z\"", StringComparison.Ordinal);
        int older = list.IndexOf($"href=\"/dashboard/channels/{id}/audience/{Broadcast}\"", StringComparison.Ordinal);
        Assert.True(newer > 0 && older > newer, "both broadcasts linked, the newest first");
        Assert.DoesNotContain("audience-empty", list, StringComparison.Ordinal);

        // A broadcast no player of which sent CMCD, and one whose buckets had no viewers: said plainly, no chart lines drawn.
        string report = await host.Client.GetStringAsync($"/dashboard/channels/{id}/audience/{Broadcast}");
        Assert.Contains("id=\"audience-quality-empty\">No playback quality was kept for this broadcast: no player sent CMCD.", report, StringComparison.Ordinal);
        Assert.Contains("id=\"audience-rungs-empty\">No rung was known", report, StringComparison.Ordinal);
        Assert.Single(PolylinePoints().Match(report).Groups[1].Value.Split(' '));
        Assert.Contains("<circle class=\"chart-dot\"", report, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/dashboard/channels/nope/audience")).StatusCode);
    }

    [GeneratedRegex("<polyline class=\"chart-series\" points=\"([^\"]*)\"")]
    private static partial Regex PolylinePoints();
}
