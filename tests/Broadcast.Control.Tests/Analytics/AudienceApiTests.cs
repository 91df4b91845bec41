using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Analytics;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// <c>GET /api/channels/{id}/broadcasts/{broadcastId}/audience</c> on a real control host: the report as JSON and its series
/// as CSV, a key with channels:read allowed and one without refused, unknown channels and broadcasts 404, bad ids and
/// formats 400, and the route in the OpenAPI document; the split by rung in both.
/// </summary>
public sealed class AudienceApiTests
{
    private const string Token = "test-admin-token-audience-0123456789ab";
    private const long T0 = 1_796_000_000;

    [Fact]
    public async Task The_report_is_answered_as_json_and_csv_to_a_reader_of_the_channel()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>());
        using var created = await host.Client.PostAsJsonAsync("/api/channels", new { name = "Evening" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        string id = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var store = host.App.Services.GetRequiredService<AudienceStore>();
        // Node a's CMCD players: 2 sessions, one stalled (3 stalls), one startup of 1.2 s, 2 bitrate and 1 throughput reports, 2 switches.
        var quality = new PlaybackQualityCounts(2, 1, 3, 1, 1200, [0, 0, 1, 0, 0, 0], 2, 5000, 1, 9000, 2, 0, 0);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0, "a", 3, 2, 0, 1, 0, Quality: quality),
            [new("v1", T0, T0 + 10, "hls", Cmcd: true), new("v2", T0, T0, "hls", Cmcd: true, Stalled: true), new("v3", T0, T0, "dash")]);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0, "b", 1, 0, 1, 0, 4), [new("v4", T0, T0 + 10, "llhls")]);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0 + 10, "a", 2, 1, 1, 0, 0), [new("v1", T0 + 10, T0 + 10, "hls")]);
        string path = $"/api/channels/{id}/broadcasts/20261130T054000Z/audience";

        using var json = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var report = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;
        var series = report.GetProperty("series");
        Assert.Equal(2, series.GetArrayLength());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(T0), series[0].GetProperty("t").GetDateTimeOffset());
        Assert.Equal(4, series[0].GetProperty("viewers").GetInt64());
        Assert.Equal(4, report.GetProperty("peakViewers").GetInt64());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(T0), report.GetProperty("peakAt").GetDateTimeOffset());
        Assert.Equal(4, report.GetProperty("uniqueViewers").GetInt64());
        Assert.Equal(1.0, report.GetProperty("minutesWatched").GetDouble()); // 20 + 10 + 10 + 20 s
        Assert.Equal(15.0, report.GetProperty("averageWatchSeconds").GetDouble());
        Assert.Equal(20, report.GetProperty("medianWatchSeconds").GetInt64());
        Assert.Equal(4, report.GetProperty("uncounted").GetInt64());
        Assert.Equal(2, report.GetProperty("byDelivery").GetProperty("hls").GetProperty("viewers").GetInt64());
        Assert.Equal(1, report.GetProperty("byDelivery").GetProperty("llhls").GetProperty("peakViewers").GetInt64());
        var q = report.GetProperty("quality");
        Assert.Equal((2L, 0.006, 0.5, 3L), (q.GetProperty("peakSessions").GetInt64(), q.GetProperty("sessionHours").GetDouble(),
            q.GetProperty("stalledShare").GetDouble(), q.GetProperty("stalls").GetInt64()));
        Assert.Equal((2L, 1L, 0.5), (q.GetProperty("cmcdViewers").GetInt64(), q.GetProperty("stalledViewers").GetInt64(),
            q.GetProperty("stalledViewerShare").GetDouble()));
        Assert.Equal((1200.0, 2000L, 2500.0, 9000.0, 2L), (q.GetProperty("meanStartupMs").GetDouble(), q.GetProperty("medianStartupAtMostMs").GetInt64(),
            q.GetProperty("meanBitrateKbps").GetDouble(), q.GetProperty("meanThroughputKbps").GetDouble(), q.GetProperty("rungSwitches").GetInt64()));
        Assert.Equal([500, 1000, 2000, 4000, 8000], q.GetProperty("startupBinUpperMs").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(1, q.GetProperty("series").GetArrayLength());
        Assert.Equal(2, q.GetProperty("series")[0].GetProperty("sessions").GetInt64());

        using var csv = await host.Client.GetAsync(path + "?format=csv");
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        string[] lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["t,viewers,hls,llhls,dash,whep,uncounted,cmcd_sessions,stalled_sessions,stalls,startups,mean_startup_ms,mean_bitrate_kbps," +
            "mean_throughput_kbps,rung_switches,cmcd_malformed,not_found,unavailable", "2026-11-30T00:53:20Z,4,2,1,1,0,4,2,1,3,1,1200,2500,9000,2,0,0,0",
            "2026-11-30T00:53:30Z,2,1,1,0,0,0,0,0,0,0,,,,0,0,0,0"], lines);

        // A key that reads channels may read it; one with another scope may not.
        Assert.Equal(HttpStatusCode.OK, (await host.ClientWith(await host.CreateKeyAsync("channels:read")).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.ClientWith(await host.CreateKeyAsync("clips:read")).GetAsync(path)).StatusCode);
        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);

        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync($"/api/channels/{id}/broadcasts/20991231T000000Z/audience")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.GetAsync("/api/channels/nope/broadcasts/20261130T054000Z/audience")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.GetAsync(path + "?format=xml")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.GetAsync($"/api/channels/{id}/broadcasts/{new string('x', 65)}/audience")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await host.Client.GetAsync($"/api/channels/{id}/broadcasts/a%20b/audience")).StatusCode);

        Assert.Empty(report.GetProperty("byRung").EnumerateObject()); // no rung known: an empty split, no column
        Assert.False(series[0].TryGetProperty("rungs", out _));

        using var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var route = doc.RootElement.GetProperty("paths").GetProperty("/api/channels/{id}/broadcasts/{broadcastId}/audience").GetProperty("get");
        Assert.True(route.GetProperty("responses").GetProperty("200").GetProperty("content").TryGetProperty("text/csv", out _));
        Assert.True(doc.RootElement.GetProperty("components").GetProperty("schemas").TryGetProperty("AudienceReport", out _));
    }

    [Fact]
    public async Task The_report_splits_viewers_and_minutes_by_rung_in_json_and_appends_a_column_per_rung_to_the_csv()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>());
        string id = await host.CreateChannelAsync("Evening");
        var store = host.App.Services.GetRequiredService<AudienceStore>();
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0, "a", 3, 3, 0, 0, 0),
            [new("v1", T0, T0, "hls", Rung: "720p"), new("v2", T0, T0, "hls", Rung: "720p"), new("v3", T0, T0, "hls", Rung: "other")]);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0 + 10, "a", 2, 2, 0, 0, 0),
            [new("v1", T0, T0 + 10, "hls", Rung: "360p"), new("v2", T0, T0 + 10, "hls", Rung: "720p")]);
        string path = $"/api/channels/{id}/broadcasts/20261130T054000Z/audience";

        var report = JsonDocument.Parse(await host.Client.GetStringAsync(path)).RootElement;
        var byRung = report.GetProperty("byRung");
        Assert.Equal((2L, 0.5), (byRung.GetProperty("720p").GetProperty("peakViewers").GetInt64(), byRung.GetProperty("720p").GetProperty("minutesWatched").GetDouble()));
        Assert.Equal((1L, 0.17), (byRung.GetProperty("360p").GetProperty("peakViewers").GetInt64(), byRung.GetProperty("360p").GetProperty("minutesWatched").GetDouble()));
        Assert.Equal(1L, byRung.GetProperty("other").GetProperty("peakViewers").GetInt64());
        Assert.Equal(2L, report.GetProperty("series")[0].GetProperty("rungs").GetProperty("720p").GetInt64());

        string[] lines = (await host.Client.GetStringAsync(path + "?format=csv")).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["t,viewers,hls,llhls,dash,whep,uncounted,cmcd_sessions,stalled_sessions,stalls,startups,mean_startup_ms,mean_bitrate_kbps," +
            "mean_throughput_kbps,rung_switches,cmcd_malformed,not_found,unavailable,rung:360p,rung:720p,rung:other",
            "2026-11-30T00:53:20Z,3,3,0,0,0,0,0,0,0,0,,,,0,0,0,0,0,2,1", "2026-11-30T00:53:30Z,2,2,0,0,0,0,0,0,0,0,,,,0,0,0,0,1,1,0"], lines);
    }
}
