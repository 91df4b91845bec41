using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Analytics;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// <c>POST /api/playback/audience</c> on a real control host: refused without the playback node token (and with the admin
/// token), a body over the limit 413, malformed or out-of-bounds bodies a 400 problem, and a good body written through the
/// sampler's door: a viewer the control node already counted in the bucket counts once.
/// </summary>
public sealed class AudienceNodeEndpointTests
{
    private const string AdminToken = "test-admin-token-audience-node-0123456789";
    private const string NodeToken = "test-playback-node-token-audience-0123456789";

    private static Task<ControlApiHost> StartAsync() =>
        ControlApiHost.StartAsync(AdminToken, new Dictionary<string, string?> { ["Playback:NodeToken"] = NodeToken, ["Ingest:NodeId"] = "control-a" });

    private static long Bucket()
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        return now - (now % 10) - 10;
    }

    private static HttpRequestMessage Post(string? token, HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, AudienceNodeEndpoint.Path) { Content = content };
        if (token is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private static StringContent Raw(string json) => new(json, Encoding.UTF8, "application/json");

    private static JsonContent Body(string node, long bucket, params AudienceNodeBroadcast[] broadcasts) =>
        JsonContent.Create(new AudienceNodePost(node, bucket, broadcasts));

    /// <summary>Two CMCD sessions, one stalled once, one startup of 700 ms, two bitrate and one throughput report.</summary>
    private static readonly PlaybackQualityCounts GoodQuality = new(2, 1, 1, 1, 700, [0, 1, 0, 0, 0, 0], 2, 3000, 1, 8000, 1, 0, 0);

    [Fact]
    public async Task Only_the_playback_node_token_may_post()
    {
        await using var host = await StartAsync();
        await host.CreateChannelAsync("Show");
        var good = new AudienceNodeBroadcast("show", "b1", 1, 1, 0, 0, 0, 0, [new AudienceNodeViewer(1, Bucket(), Bucket(), "hls")]);
        foreach (string? token in new[] { null, "not-the-token", AdminToken })
        {
            using var request = Post(token, Body("origin-1", Bucket(), good));
            using var refused = await new HttpClient { BaseAddress = host.BaseAddress }.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        Assert.Empty(await Rows(host));
    }

    [Fact]
    public async Task Bad_bodies_are_refused_with_a_problem_and_write_nothing()
    {
        await using var host = await StartAsync();
        await host.CreateChannelAsync("Show");
        long t = Bucket();
        var viewer = new AudienceNodeViewer(1, t, t, "hls");
        AudienceNodeBroadcast Show(string channel = "show", string id = "b1", params AudienceNodeViewer[] viewers) =>
            new(channel, id, viewers.Length, viewers.Length, 0, 0, 0, 0, viewers);
        var cases = new (string Why, HttpContent Content, string Field)[]
        {
            ("not JSON", new StringContent("{\"node\":", Encoding.UTF8, "application/json"), ""),
            ("no node", Body("", t, Show(viewers: viewer)), "node"),
            ("the control node's own name", Body("control-a", t, Show(viewers: viewer)), "node"),
            ("a bucket not on a 10 s boundary", Body("origin-1", t + 3, Show(viewers: viewer)), "bucket"),
            ("a bucket from the future", Body("origin-1", t + 3600, Show(viewers: viewer)), "bucket"),
            ("a bucket of yesterday", Body("origin-1", t - 86_400, Show(viewers: viewer)), "bucket"),
            ("a bad slug", Body("origin-1", t, Show(channel: "../x", viewers: viewer)), "broadcasts[0].channel"),
            ("a bad broadcast id", Body("origin-1", t, Show(id: "a/b", viewers: viewer)), "broadcasts[0].broadcastId"),
            ("an unknown delivery", Body("origin-1", t, Show(viewers: viewer with { Delivery = "rtmp" })), "broadcasts[0].sessions[0]"),
            ("last after the bucket", Body("origin-1", t, Show(viewers: viewer with { Last = t + 10 })), "broadcasts[0].sessions[0]"),
            ("negative CMCD sessions", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { Sessions = -1 } }), "broadcasts[0].quality.sessions"),
            ("more stalled sessions than sessions", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { StalledSessions = 3 } }),
                "broadcasts[0].quality.stalledSessions"),
            ("a count beyond any node's", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { SessionsRefused = PlaybackQualityCounts.MaxCount + 1 } }),
                "broadcasts[0].quality.sessionsRefused"),
            ("no startup bins", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { StartupBins = null } }), "broadcasts[0].quality.startupBins"),
            ("too few startup bins", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { StartupBins = [1, 0, 0] } }),
                "broadcasts[0].quality.startupBins"),
            ("bins that do not add up to the startups", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { StartupBins = [1, 1, 0, 0, 0, 0] } }),
                "broadcasts[0].quality.startupBins"),
            ("a bitrate sum beyond its count", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { BitrateKbpsSum = 3 * PlaybackQualityCounts.MaxValue } }),
                "broadcasts[0].quality.bitrateKbpsSum"),
            ("a negative throughput sum", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { ThroughputKbpsSum = -5 } }),
                "broadcasts[0].quality.throughputKbpsSum"),
            ("a negative startup sum", Body("origin-1", t, Show(viewers: viewer) with { Quality = GoodQuality with { StartupMsSum = -1 } }),
                "broadcasts[0].quality.startupMsSum"),
            ("negative 404s", Body("origin-1", t, Show(viewers: viewer) with { NotFound = -1 }), "broadcasts[0].notFound"),
            ("503s beyond any node's", Body("origin-1", t, Show(viewers: viewer) with { Unavailable = PlaybackQualityCounts.MaxCount + 1 }),
                "broadcasts[0].unavailable"),
            // A viewer's CMCD flags are JSON booleans: any other value names the field that holds the viewers.
            ("a string for cmcd", Raw($"{{\"node\":\"origin-1\",\"bucket\":{t},\"broadcasts\":[{{\"channel\":\"show\",\"broadcastId\":\"b1\"," +
                $"\"viewers\":1,\"sessions\":[{{\"key\":1,\"first\":{t},\"last\":{t},\"delivery\":\"hls\",\"cmcd\":\"yes\"}}]}}]}}"), "broadcasts"),
            ("a number for stalled", Raw($"{{\"node\":\"origin-1\",\"bucket\":{t},\"broadcasts\":[{{\"channel\":\"show\",\"broadcastId\":\"b1\"," +
                $"\"viewers\":1,\"sessions\":[{{\"key\":1,\"first\":{t},\"last\":{t},\"delivery\":\"hls\",\"stalled\":1}}]}}]}}"), "broadcasts"),
            ("null for cmcd", Raw($"{{\"node\":\"origin-1\",\"bucket\":{t},\"broadcasts\":[{{\"channel\":\"show\",\"broadcastId\":\"b1\"," +
                $"\"viewers\":1,\"sessions\":[{{\"key\":1,\"first\":{t},\"last\":{t},\"delivery\":\"hls\",\"cmcd\":null}}]}}]}}"), "broadcasts"),
            // A broadcast's rungs: at most 17 distinct store names; a viewer's rung an index into them.
            ("more rungs than the origin keeps", Body("origin-1", t, Show(viewers: viewer) with
                { Rungs = [.. Enumerable.Range(0, AudienceRungs.MaxValues + 1).Select(i => $"r{i}")] }), "broadcasts[0].rungs"),
            ("a rung name with a slash", Body("origin-1", t, Show(viewers: viewer) with { Rungs = ["720p/x"] }), "broadcasts[0].rungs"),
            ("a rung name too long", Body("origin-1", t, Show(viewers: viewer) with { Rungs = [new string('r', AudienceRungs.MaxNameLength + 1)] }),
                "broadcasts[0].rungs"),
            ("a rung named twice", Body("origin-1", t, Show(viewers: viewer) with { Rungs = ["720p", "720p"] }), "broadcasts[0].rungs"),
            ("a null rung name", Body("origin-1", t, Show(viewers: viewer) with { Rungs = [null] }), "broadcasts[0].rungs"),
            ("a rung index past the rungs", Body("origin-1", t, Show(viewers: viewer with { Rung = 1 }) with { Rungs = ["720p"] }),
                "broadcasts[0].sessions[0].rung"),
            ("a rung index without rungs", Body("origin-1", t, Show(viewers: viewer with { Rung = 0 })), "broadcasts[0].sessions[0].rung"),
            ("a negative rung index", Body("origin-1", t, Show(viewers: viewer with { Rung = -1 }) with { Rungs = ["720p"] }),
                "broadcasts[0].sessions[0].rung"),
            ("a string for a rung", Raw($"{{\"node\":\"origin-1\",\"bucket\":{t},\"broadcasts\":[{{\"channel\":\"show\",\"broadcastId\":\"b1\"," +
                $"\"viewers\":1,\"rungs\":[\"720p\"],\"sessions\":[{{\"key\":1,\"first\":{t},\"last\":{t},\"delivery\":\"hls\",\"rung\":\"720p\"}}]}}]}}"), "broadcasts"),
            ("more viewers than the cap", Body("origin-1", t, Show(viewers: [.. Enumerable.Range(0, AudienceSampler.MaxSessionsPerFlush + 1)
                .Select(i => new AudienceNodeViewer((ulong)i, t, t, "hls"))])), "broadcasts"),
        };
        foreach (var (why, content, field) in cases)
        {
            using var request = Post(NodeToken, content);
            using var refused = await host.Client.SendAsync(request);
            Assert.True(refused.StatusCode == HttpStatusCode.BadRequest, $"{why}: {(int)refused.StatusCode}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            if (field.Length > 0)
                Assert.True(JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _), why);
        }

        // Over the body limit: refused before it is read.
        using (var huge = Post(NodeToken, new ByteArrayContent(new byte[AudienceNodeEndpoint.MaxRequestBytes + 1])))
        {
            huge.Content!.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            // The answer comes from the declared length, before the body: the client waits for it rather than sending 8 MiB.
            huge.Headers.ExpectContinue = true;
            using var tooLarge = await host.Client.SendAsync(huge);
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        }

        Assert.Empty(await Rows(host));
    }

    [Fact]
    public async Task A_good_post_is_written_beside_the_control_nodes_own_and_a_shared_viewer_counts_once()
    {
        await using var host = await StartAsync();
        string id = await host.CreateChannelAsync("Show");
        long t = Bucket();
        // The control node's own sampler wrote viewers 1 and 2 of this bucket (its loop, through the same door).
        var sampler = host.App.Services.GetRequiredService<AudienceSampler>();
        await sampler.WriteAsync(t, sampler.NodeId, [new LiveAudienceSample("show", "b1", 2, 2, 0, 0,
            [new LiveViewer(1, t, t, "hls", Cmcd: true, Rung: "720p"), new LiveViewer(2, t, t, "hls", Rung: "720p")], 0)], CancellationToken.None);

        // The origin saw viewer 1 too, stalling there, and viewer 3 sending CMCD.
        using var request = Post(NodeToken, Body("origin-1", t, new AudienceNodeBroadcast("show", "b1", 2, 1, 0, 1, 0, 4,
            [new AudienceNodeViewer(1, t, t, "hls", Cmcd: true, Stalled: true, Rung: 1), new AudienceNodeViewer(3, t - 10, t, "dash", Cmcd: true, Rung: 0)],
            GoodQuality, NotFound: 2, Unavailable: 1, Rungs: ["480p", "720p"])));
        using var taken = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, taken.StatusCode);

        Assert.Equal(["control-a", "origin-1"], await Rows(host));
        var report = (await host.App.Services.GetRequiredService<AudienceStore>().ReportAsync(id, "b1"))!;
        var point = Assert.Single(report.Series);
        Assert.Equal((3L, 2L, 1L, 4L), (point.Viewers, point.Hls, point.Dash, point.Uncounted));
        Assert.Equal(3, report.UniqueViewers);
        Assert.Equal((2L, 1L), (point.NotFound, point.Unavailable)); // the origin's failed requests, as it counted them
        // The rungs by name: viewer 1's 720p counted once, on the node that wrote the bucket first.
        Assert.Equal(new Dictionary<string, long> { ["720p"] = 2, ["480p"] = 1 }, point.Rungs);
        // The origin's CMCD quality is kept as it said it.
        var quality = Assert.Single(report.Quality!.Series);
        Assert.Equal((2L, 1L, 1L, 1L, 700.0, 1500.0, 8000.0, 1L), (quality.Sessions, quality.StalledSessions, quality.Stalls, quality.Startups,
            quality.MeanStartupMs!.Value, quality.MeanBitrateKbps!.Value, quality.MeanThroughputKbps!.Value, quality.RungSwitches));
        Assert.Equal(1000L, report.Quality.MedianStartupAtMostMs);
        // Viewer 1, on both nodes and stalled on one, is one CMCD viewer and one stalled viewer.
        Assert.Equal((2L, 1L, 0.5), (report.Quality.CmcdViewers, report.Quality.StalledViewers, report.Quality.StalledViewerShare!.Value));
    }

    [Fact]
    public async Task A_post_without_the_cmcd_flags_from_an_older_node_is_taken_as_viewers_without_cmcd()
    {
        await using var host = await StartAsync();
        string id = await host.CreateChannelAsync("Show");
        long t = Bucket();
        // Written as an older node writes it: no cmcd or stalled on its viewers; one viewer's stalled alone still means CMCD.
        using var request = Post(NodeToken, Raw($"{{\"node\":\"origin-1\",\"bucket\":{t},\"broadcasts\":[{{\"channel\":\"show\"," +
            $"\"broadcastId\":\"b1\",\"viewers\":2,\"hls\":2,\"sessions\":[{{\"key\":1,\"first\":{t},\"last\":{t},\"delivery\":\"hls\"}}," +
            $"{{\"key\":2,\"first\":{t},\"last\":{t},\"delivery\":\"hls\",\"stalled\":true}}]}}]}}"));
        using var taken = await host.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, taken.StatusCode);

        var report = (await host.App.Services.GetRequiredService<AudienceStore>().ReportAsync(id, "b1"))!;
        Assert.Equal(2, report.UniqueViewers);
        Assert.Equal((1L, 1L, 1.0), (report.Quality!.CmcdViewers, report.Quality.StalledViewers, report.Quality.StalledViewerShare!.Value));
    }

    private static async Task<List<string>> Rows(ControlApiHost host)
    {
        var database = host.App.Services.GetRequiredService<Broadcast.Control.Persistence.ControlDatabase>();
        return await Broadcast.Control.Persistence.Sql.QueryAsync(database, "SELECT node_id FROM audience_samples ORDER BY node_id", _ => { },
            r => r.GetString(0), CancellationToken.None);
    }
}
