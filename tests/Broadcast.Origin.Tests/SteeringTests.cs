using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Origin.Steering;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Tests;

/// <summary>The steering server's decisions, its answers to players (hostile ones included) and the manifests the origin serves with it.</summary>
public sealed class SteeringTests
{
    private static SteeringPathways Pathways(params (string Id, int Weight)[] pathways) =>
        new(Options.Create(new SteeringOptions
        {
            Pathways = pathways.Select(p => new SteeringPathwayOptions { Id = p.Id, BaseUrl = $"http://{p.Id}.example.com", Weight = p.Weight }).ToList(),
            FailuresBeforeUnhealthy = 2,
        }), TimeProvider.System);

    private static double ShareOfNewSessions(SteeringPathways pathways, string id, int sessions = 4000) =>
        Enumerable.Range(0, sessions).Count(_ => pathways.Decide(null, SteeringPathways.NewSession())[0] == id) / (double)sessions;

    [Fact]
    public void New_players_are_spread_by_weight()
    {
        Assert.InRange(ShareOfNewSessions(Pathways(("a", 1), ("b", 1)), "a"), 0.45, 0.55);
        Assert.InRange(ShareOfNewSessions(Pathways(("a", 3), ("b", 1)), "a"), 0.70, 0.80);
        // Weight 0: only when nothing else is healthy.
        Assert.Equal(0, ShareOfNewSessions(Pathways(("a", 0), ("b", 1)), "a"));
    }

    [Fact]
    public void A_session_lands_on_the_same_pathway_on_every_node()
    {
        SteeringPathways one = Pathways(("a", 1), ("b", 1), ("c", 1));
        SteeringPathways other = Pathways(("a", 1), ("b", 1), ("c", 1));
        for (int i = 0; i < 50; i++)
        {
            string session = SteeringPathways.NewSession();
            Assert.Equal(one.Decide(null, session), other.Decide(null, session));
        }
    }

    [Fact]
    public void A_player_stays_on_its_healthy_pathway_and_leaves_an_unhealthy_one()
    {
        SteeringPathways pathways = Pathways(("a", 1), ("b", 1));
        Assert.Equal(["b", "a"], pathways.Decide("b", "s1"));
        Assert.Equal(["a", "b"], pathways.Decide("a", "s1"));

        pathways.ReportProbe(0, ok: false, 0, 1500);
        Assert.Equal(["a", "b"], pathways.Decide("a", "s1")); // one failure is not yet a verdict
        pathways.ReportProbe(0, ok: false, 502, 3);
        Assert.Equal(["b", "a"], pathways.Decide("a", "s1")); // the unhealthy pathway is listed last, not dropped
        Assert.Equal(1.0, ShareOfNewSessions(pathways, "b", 200));
        PathwayStatus a = pathways.Statuses()[0];
        Assert.False(a.Healthy);
        Assert.Equal(502, a.LastStatus);
        Assert.Equal(2, a.ConsecutiveFailures);
        Assert.True(pathways.Statuses()[1].Moves >= 1);

        // One good probe brings it back: new players are spread again, players now on b stay there.
        pathways.ReportProbe(0, ok: true, 200, 2);
        Assert.Equal(["b", "a"], pathways.Decide("b", "s1"));
        Assert.InRange(ShareOfNewSessions(pathways, "a"), 0.45, 0.55);
    }

    [Fact]
    public void The_operator_drains_a_pathway_and_sets_weights()
    {
        SteeringPathways pathways = Pathways(("a", 1), ("b", 1));
        Assert.True(pathways.Override("a", weight: null, drained: true));
        Assert.Equal("b", pathways.Decide("a", "s")[0]);
        Assert.Equal(0, ShareOfNewSessions(pathways, "a", 200));
        Assert.True(pathways.Override("a", weight: 9, drained: false));
        Assert.InRange(ShareOfNewSessions(pathways, "a"), 0.85, 0.95);
        Assert.False(pathways.Override("nope", 1, null));
    }

    [Fact]
    public void A_standby_of_weight_zero_takes_the_players_of_a_drained_or_failed_pathway()
    {
        SteeringPathways pathways = Pathways(("a", 1), ("b", 0));
        Assert.Equal(["a", "b"], pathways.Decide("a", "s"));
        Assert.Equal(1.0, ShareOfNewSessions(pathways, "a", 200));
        pathways.Override("a", null, drained: true);
        Assert.Equal(["b", "a"], pathways.Decide("a", "s"));
        Assert.Equal(1.0, ShareOfNewSessions(pathways, "b", 200));
        pathways.Override("a", null, drained: false);
        pathways.ReportProbe(0, false, 0, 0);
        pathways.ReportProbe(0, false, 0, 0);
        Assert.Equal(["b", "a"], pathways.Decide("a", "s"));
    }

    [Fact]
    public void With_every_pathway_unhealthy_players_keep_the_first_choice()
    {
        SteeringPathways pathways = Pathways(("a", 1), ("b", 1));
        for (int i = 0; i < 2; i++)
        {
            pathways.ReportProbe(0, false, 0, 0);
            pathways.ReportProbe(1, false, 0, 0);
        }

        Assert.Equal("a", pathways.Decide(null, "x")[0]);
        Assert.Equal(2, pathways.Decide("b", "x").Count);
    }

    [Theory]
    [InlineData("", "BaseUrl")]
    [InlineData("a b", "not a pathway id")]
    public void Bad_settings_are_named(string id, string expected)
    {
        var options = new SteeringOptions { Pathways = [new SteeringPathwayOptions { Id = id, BaseUrl = id.Length == 0 ? "ftp://x" : "http://x" }] };
        if (id.Length == 0) options.Pathways[0].Id = "a";
        Assert.Contains(expected, options.Validate(), StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_ids_and_a_server_url_with_a_query_are_refused()
    {
        var twice = new SteeringOptions { Pathways = [new() { Id = "a", BaseUrl = "http://x" }, new() { Id = "a", BaseUrl = "http://y" }] };
        Assert.Contains("twice", twice.Validate(), StringComparison.Ordinal);
        var query = new SteeringOptions { Pathways = [new() { Id = "a", BaseUrl = "http://x" }], ServerUrl = "http://s/?q=1" };
        Assert.Contains("ServerUrl", query.Validate(), StringComparison.Ordinal);
    }

    private const string Master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-STREAM-INF:BANDWIDTH=2800000,CODECS=\"avc1.64001f\"\nsource/index.m3u8\n"
        + "#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS=\"avc1.64001e\"\n360p/index.m3u8\n";

    private static Dictionary<string, string?> Settings(int ttl = 7) => new()
    {
        // Nothing listens on these ports: the probes fail, which these tests do not look at.
        ["Steering:Pathways:0:Id"] = "edge-a",
        ["Steering:Pathways:0:BaseUrl"] = $"http://127.0.0.1:{FreePort.Tcp()}",
        ["Steering:Pathways:1:Id"] = "edge-b",
        ["Steering:Pathways:1:BaseUrl"] = $"http://127.0.0.1:{FreePort.Tcp()}/cdn",
        ["Steering:TtlSeconds"] = ttl.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Fact]
    public async Task The_origin_serves_steered_masters_and_mpds_and_leaves_media_playlists_alone()
    {
        var store = new InMemorySegmentStore();
        DateTimeOffset modified = DateTimeOffset.UtcNow;
        store.Seed("news/master.m3u8", Encoding.UTF8.GetBytes(Master), "", null, modified, "m1");
        store.Seed("news/source/index.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\nb-1.m4s\n"u8.ToArray(), "", null, modified, "p1");
        store.Seed("news/manifest.mpd", "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"dynamic\">\n  <Period id=\"p0\"/>\n</MPD>\n"u8.ToArray(), "", null, modified, "d1");
        await using OriginServer origin = await OriginServer.StartAsync(store, settings: Settings());

        using HttpResponseMessage master = await origin.Client.GetAsync("/live/news/master.m3u8");
        string body = await master.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        Assert.Contains("#EXT-X-CONTENT-STEERING:SERVER-URI=\"/steering/hls\",PATHWAY-ID=\"edge-a\"", body, StringComparison.Ordinal);
        Assert.Contains("/cdn/live/news/360p/index.m3u8\n", body, StringComparison.Ordinal);
        // Its own validator (a cached copy of the unsteered master must not revalidate against it), stable between requests.
        string etag = master.Headers.ETag!.Tag;
        Assert.NotEqual("\"m1\"", etag);
        using HttpResponseMessage again = await origin.Client.GetAsync("/live/news/master.m3u8");
        Assert.Equal(etag, again.Headers.ETag!.Tag);
        Assert.Contains("public", again.Headers.CacheControl!.ToString(), StringComparison.Ordinal);

        string media = await origin.Client.GetStringAsync("/live/news/source/index.m3u8");
        Assert.DoesNotContain("STEERING", media, StringComparison.Ordinal);

        string mpd = await origin.Client.GetStringAsync("/live/news/manifest.mpd");
        Assert.Contains($"<ContentSteering defaultServiceLocation=\"edge-a\" queryBeforeStart=\"false\">{origin.BaseAddress.ToString().TrimEnd('/')}/steering/dash</ContentSteering>", mpd, StringComparison.Ordinal);
        Assert.Contains("<BaseURL serviceLocation=\"edge-b\">", mpd, StringComparison.Ordinal);
        // A live MPD is refreshed through the chosen pathway.
        Assert.Matches("<Location serviceLocation=\"edge-b\">http://127.0.0.1:[0-9]+/cdn/live/news/manifest.mpd</Location>", mpd);
    }

    [Fact]
    public async Task The_operators_change_on_one_node_reaches_another_through_the_store_and_outlives_a_restart()
    {
        var store = new InMemorySegmentStore();
        var settings = Settings();
        settings["Steering:OverridesRefreshMilliseconds"] = "200";
        await using (OriginServer one = await OriginServer.StartAsync(store, settings: settings))
        await using (OriginServer other = await OriginServer.StartAsync(store, settings: settings))
        {
            Assert.True(one.Services.GetRequiredService<SteeringPathways>().Override("edge-a", weight: 7, drained: true));
            SteeringPathways elsewhere = other.Services.GetRequiredService<SteeringPathways>();
            await WaitFor.ConditionAsync(() => Task.FromResult(elsewhere.Statuses()[0] is { Drained: true, Weight: 7 }),
                TimeSpan.FromSeconds(20), "the other node to apply the drain");
            // The shared document is not media: the origin does not serve it.
            using HttpResponseMessage document = await one.Client.GetAsync("/live/" + Broadcast.Storage.StoreKeys.SteeringOverrides);
            Assert.Equal(HttpStatusCode.NotFound, document.StatusCode);
        }

        // A node started later (a restart) begins with the operator's changes, not the configured weights.
        await using OriginServer restarted = await OriginServer.StartAsync(store, settings: settings);
        SteeringPathways again = restarted.Services.GetRequiredService<SteeringPathways>();
        await WaitFor.ConditionAsync(() => Task.FromResult(again.Statuses()[0] is { Drained: true, Weight: 7 }),
            TimeSpan.FromSeconds(20), "the restarted node to apply the drain");
    }

    [Fact]
    public async Task A_pathway_that_answers_healthz_but_serves_a_frozen_playlist_is_unhealthy()
    {
        static byte[] Playlist(int newest) => Encoding.UTF8.GetBytes("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:" + (newest - 4) + "\n"
            + string.Concat(Enumerable.Range(newest - 4, 5).Select(n => $"#EXTINF:2.000,\nb-{n}.m4s\n")));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var live = new InMemorySegmentStore();
        live.Seed("news/source/index.m3u8", Playlist(10), "", null, now, "p10");
        live.Seed("news/source/b-10.m4s", [1, 2, 3], "", null, now, "s10");
        var frozen = new InMemorySegmentStore();
        frozen.Seed("news/source/index.m3u8", Playlist(5), "", null, now, "p5");
        frozen.Seed("news/source/b-5.m4s", [1, 2, 3], "", null, now, "s5");
        // Two stand-in edges: one reads the live store, one a copy frozen five segments ago. Both answer /healthz.
        await using OriginServer freshEdge = await OriginServer.StartAsync(live);
        await using OriginServer frozenEdge = await OriginServer.StartAsync(frozen);
        var settings = new Dictionary<string, string?>
        {
            ["Steering:Pathways:0:Id"] = "fresh",
            ["Steering:Pathways:0:BaseUrl"] = freshEdge.BaseAddress.ToString().TrimEnd('/'),
            ["Steering:Pathways:1:Id"] = "frozen",
            ["Steering:Pathways:1:BaseUrl"] = frozenEdge.BaseAddress.ToString().TrimEnd('/'),
            ["Steering:ProbeChannel"] = "news",
            ["Steering:ProbePath"] = "/time",
            ["Steering:ProbeIntervalMilliseconds"] = "100",
        };
        await using OriginServer node = await OriginServer.StartAsync(live, settings: settings);
        SteeringPathways pathways = node.Services.GetRequiredService<SteeringPathways>();
        await WaitFor.ConditionAsync(() => Task.FromResult(pathways.Statuses() is [{ Healthy: true, LastStatus: 200 }, { Healthy: false } frozenStatus]
                && frozenStatus.LastStatus == PathwayProber.StalePlaylistStatus),
            TimeSpan.FromSeconds(20), "the frozen pathway to be unhealthy and the fresh one healthy",
            () => string.Join("; ", pathways.Statuses()));
        Assert.Equal("a stale playlist", PathwayProber.Describe(pathways.Statuses()[1].LastStatus));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"version\":2,\"pathways\":[]}")]
    [InlineData("{\"version\":1}")]
    [InlineData("{\"version\":1,\"pathways\":[{\"id\":\"a\",\"weight\":\"1\",\"drained\":false}]}")]
    [InlineData("{\"version\":1,\"pathways\":[{\"id\":\"a\",\"weight\":1}]}")]
    [InlineData("{\"version\":1,\"pathways\":[{\"id\":\"a\",\"weight\":1,\"drained\":false}")]
    [InlineData("{\"version\":1,\"pathways\":[[[[[[1]]]]]]}")]
    public void A_damaged_overrides_document_is_refused_whole(string document) =>
        Assert.Null(SteeringOverrides.Parse(Encoding.UTF8.GetBytes(document)));

    [Fact]
    public void An_overrides_document_reads_back_what_was_written_and_a_huge_one_is_not_read()
    {
        SteeringPathways pathways = Pathways(("a", 3), ("b", 0));
        pathways.Override("b", null, drained: true);
        var read = SteeringOverrides.Parse(SteeringOverrides.Write(pathways.Statuses()));
        Assert.Equal([("a", 3, false), ("b", 0, true)], read);
        byte[] huge = Encoding.UTF8.GetBytes("{\"version\":1,\"pathways\":[" + string.Join(',', Enumerable.Repeat("{\"id\":\"a\",\"weight\":1,\"drained\":false}", 1000)) + "]}");
        Assert.Null(SteeringOverrides.Parse(huge));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_private_streams_token_reaches_every_pathway_and_that_master_is_the_viewers_alone(bool edgeValidatesTokens)
    {
        var store = new InMemorySegmentStore();
        store.Seed("secret/master.m3u8", Encoding.UTF8.GetBytes(Master), "", "public, max-age=1", DateTimeOffset.UtcNow, "m1");
        store.Seed("secret/manifest.mpd", "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"dynamic\">\n  <Period id=\"p0\"><AdaptationSet><Representation id=\"source\"><SegmentTemplate media=\"source/$Number$.m4s\"/></Representation></AdaptationSet></Period>\n</MPD>\n"u8.ToArray(),
            "", "public, max-age=1", DateTimeOffset.UtcNow, "d1");
        var settings = Settings();
        settings["Origin:EdgeValidatesPlaybackTokens"] = edgeValidatesTokens ? "true" : "false";
        await using OriginServer origin = await OriginServer.StartAsync(store, settings: settings,
            services: s => s.AddSingleton<IPlaybackAccess>(new PrivateStreamCacheControlTests.OnePrivateStream("secret")));

        using HttpResponseMessage master = await origin.Client.GetAsync("/live/secret/master.m3u8?token=good");
        string body = await master.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, master.StatusCode);
        string[] uris = body.Split('\n').Where(l => l.StartsWith("http", StringComparison.Ordinal)).ToArray();
        Assert.Equal(4, uris.Length);
        Assert.All(uris, u => Assert.EndsWith("/index.m3u8?token=good", u, StringComparison.Ordinal));
        // Even where an edge checks tokens and may cache private answers, a master naming one viewer's token is not shared.
        Assert.True(master.Headers.CacheControl!.Private, master.Headers.CacheControl.ToString());
        Assert.False(master.Headers.CacheControl.Public);

        // DASH: the token rides in the segment templates and the Locations (a BaseURL's query is lost on resolution).
        using HttpResponseMessage mpd = await origin.Client.GetAsync("/live/secret/manifest.mpd?token=good");
        string mpdBody = await mpd.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, mpd.StatusCode);
        Assert.Contains("media=\"source/$Number$.m4s?token=good\"", mpdBody, StringComparison.Ordinal);
        Assert.Matches("<Location serviceLocation=\"edge-b\">http://127.0.0.1:[0-9]+/cdn/live/secret/manifest.mpd\\?token=good</Location>", mpdBody);
        Assert.True(mpd.Headers.CacheControl!.Private, mpd.Headers.CacheControl.ToString());
    }

    [Fact]
    public async Task Players_get_a_session_then_keep_it_and_hostile_requests_are_answered_cheaply()
    {
        await using OriginServer origin = await OriginServer.StartAsync(new InMemorySegmentStore(), settings: Settings(ttl: 7));

        using HttpResponseMessage first = await origin.Client.GetAsync("/steering/hls");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("*", first.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal("no-store", first.Headers.CacheControl!.ToString());
        using JsonDocument answer = JsonDocument.Parse(await first.Content.ReadAsStringAsync());
        Assert.Equal(7, answer.RootElement.GetProperty("TTL").GetInt32());
        string reload = answer.RootElement.GetProperty("RELOAD-URI").GetString()!;
        Assert.StartsWith(origin.BaseAddress + "steering/hls?session=", reload, StringComparison.Ordinal);
        Assert.Equal(2, answer.RootElement.GetProperty("PATHWAY-PRIORITY").GetArrayLength());

        // The player's next request: the session and its pathway (RFC 8216bis 7.2 query parameters).
        string first0 = answer.RootElement.GetProperty("PATHWAY-PRIORITY")[0].GetString()!;
        using JsonDocument next = JsonDocument.Parse(await origin.Client.GetStringAsync(reload + "&_HLS_pathway=" + first0 + "&_HLS_throughput=5000000"));
        Assert.Equal(reload, next.RootElement.GetProperty("RELOAD-URI").GetString());

        using JsonDocument dash = JsonDocument.Parse(await origin.Client.GetStringAsync("/steering/dash?_DASH_pathway=nope&_DASH_throughput=1"));
        Assert.Equal(2, dash.RootElement.GetProperty("SERVICE-LOCATION-PRIORITY").GetArrayLength());
        // dash.js names its pathway as a quoted list, one entry per media type: "edge-b,edge-b".
        string dashReload = dash.RootElement.GetProperty("RELOAD-URI").GetString()!;
        for (int i = 0; i < 5; i++)
        {
            using JsonDocument onB = JsonDocument.Parse(await origin.Client.GetStringAsync(dashReload + "&_DASH_pathway=%22edge-b%2Cedge-b%22&_DASH_throughput=%2C"));
            Assert.Equal("edge-b", onB.RootElement.GetProperty("SERVICE-LOCATION-PRIORITY")[0].GetString());
        }

        // Unknown pathway, malformed session, repeated parameters: a new player's answer, not an error.
        foreach (string query in new[] { "?_HLS_pathway=%00%ff", "?session=" + new string('x', 200), "?session=a&session=b", "?_HLS_pathway=a&_HLS_pathway=b" })
        {
            using HttpResponseMessage odd = await origin.Client.GetAsync("/steering/hls" + query);
            Assert.Equal(HttpStatusCode.OK, odd.StatusCode);
            using JsonDocument oddAnswer = JsonDocument.Parse(await odd.Content.ReadAsStringAsync());
            string session = oddAnswer.RootElement.GetProperty("RELOAD-URI").GetString()!.Split("session=")[1];
            Assert.Equal(16, session.Length); // a new one, not the malformed one echoed
        }

        using HttpResponseMessage huge = await origin.Client.GetAsync("/steering/hls?session=" + new string('a', 4000));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, huge.StatusCode);
        Assert.Empty(await huge.Content.ReadAsByteArrayAsync());
    }
}
