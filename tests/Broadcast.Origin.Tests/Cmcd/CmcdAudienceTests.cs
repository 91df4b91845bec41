using System.Net;
using Broadcast.Origin.Cmcd;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Tests.Cmcd;

public sealed class CmcdAudienceTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);

    private static CmcdData Data(string text)
    {
        var data = new CmcdData();
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read(text, ref data));
        return data;
    }

    [Fact]
    public void Sessions_stalls_switches_and_startup_come_from_what_the_players_said()
    {
        var clock = new ManualClock(Start);
        var audience = new CmcdAudience(Options.Create(new OriginOptions()), clock);

        // Session a: the playlist, then media 1.2 s later; a switch 800 -> 2500 and one stall.
        audience.Record("ch", Data("ot=m,sf=h,sid=\"a\",st=l,su"), 1, isMedia: false);
        clock.Advance(TimeSpan.FromMilliseconds(1200));
        audience.Record("ch", Data("bl=0,br=800,mtp=5000,ot=v,sid=\"a\",su"), 1, isMedia: true);
        clock.Advance(TimeSpan.FromSeconds(2));
        audience.Record("ch", Data("bl=4000,br=2500,mtp=9000,ot=v,sid=\"a\""), 1, isMedia: true);
        audience.Record("ch", Data("bl=3900,br=128,ot=a,sid=\"a\""), 1, isMedia: true); // audio: no switch, not the bitrate
        clock.Advance(TimeSpan.FromSeconds(2));
        audience.Record("ch", Data("bl=0,br=2500,bs,ot=v,sid=\"a\""), 1, isMedia: true);
        // Session b: no sid, so the client key; one media request, with 6 s buffered and no 'su': it was playing before it
        // reached this node (another origin counted its startup).
        audience.Record("ch", Data("bl=6000,br=800,ot=v"), 77, isMedia: true);
        // Another channel's figures stay its own.
        audience.Record("other", Data("bl=100,bs,br=400,ot=v,sid=\"a\""), 1, isMedia: true);

        var q = audience.Quality("ch")!;
        Assert.Equal(2, q.Sessions);
        Assert.Equal(1, q.StalledSessions);
        Assert.Equal(1, q.Stalls);
        Assert.Equal(1, q.RungSwitches);
        Assert.Equal(1200, q.MedianStartupMs); // a's alone: b's first media here was no startup
        Assert.Equal((2500 + 800) / 2, q.MeanBitrateKbps);
        Assert.Equal(6000, q.MedianBufferMs); // of 0 (a) and 6000 (b), the upper median
        Assert.Equal(9000, q.MedianThroughputKbps);
        Assert.Null(audience.Quality("nobody"));
        Assert.Equal(1, audience.Quality("other")!.Sessions);

        // Past the window the channel has no sessions left and its stalls are history.
        clock.Advance(TimeSpan.FromSeconds(31));
        var later = audience.Quality("ch")!;
        Assert.Equal((0, 0, 0), (later.Sessions, later.Stalls, later.RungSwitches));
    }

    /// <summary>
    /// A viewer moved between origins (a load balancer, an edge's upstream) starts on the first node only: on the second
    /// its first media comes with media buffered and without 'su'. A player that starts asks for its first media with
    /// 'su' or with an empty buffer, and one that sends neither key is counted as before.
    /// </summary>
    [Theory]
    [InlineData("bl=4000,br=800,ot=v", false)]
    [InlineData("bl=4000,br=800,ot=v,su", true)] // a seek or a stall on arrival: a wait the viewer sees
    [InlineData("bl=0,br=800,ot=v,su", true)]
    [InlineData("bl=0,br=800,ot=v", true)]
    [InlineData("br=800,ot=v", true)]
    public void A_session_that_arrives_playing_counts_no_second_startup(string firstMedia, bool startup)
    {
        var clock = new ManualClock(Start);
        var audience = new CmcdAudience(Options.Create(new OriginOptions()), clock);
        audience.Record("ch", Data("ot=m,sf=h,st=l"), 1, isMedia: false);
        clock.Advance(TimeSpan.FromMilliseconds(300));
        audience.Record("ch", Data(firstMedia), 1, isMedia: true);

        var sample = Assert.Single(audience.Sample(Start.ToUnixTimeSeconds()));
        Assert.Equal(startup ? 1L : 0L, sample.Startups);
        Assert.Equal(startup ? 300 : -1, audience.Quality("ch")!.MedianStartupMs);
    }

    /// <summary>
    /// Each player's way of saying it waited, as it sends it in query mode (hls.js 1.7, dash.js 5.2, Shaka 5.2 with CMCD
    /// version 1): one stall per wait, none for its startup.
    /// </summary>
    [Theory]
    [InlineData("shaka", 2)] // no 'bs' at all: 'su' on every request while it rebuffers
    [InlineData("dash.js", 2)] // 'bs' and 'su' on each media kind's next request, 'su' on each kind's first
    [InlineData("hls.js", 2)] // 'bs' and 'su' on the next video request, then 'su' until it plays
    public void A_stall_counts_once_for_each_wait_whichever_way_the_player_says_it(string player, int waits)
    {
        var clock = new ManualClock(Start);
        var audience = new CmcdAudience(Options.Create(new OriginOptions()), clock);
        int counted = 0;
        void Say(string text, bool isMedia)
        {
            if (audience.Record("ch", Data(text + ",sid=\"" + player + "\""), 1, isMedia)) counted++;
            clock.Advance(TimeSpan.FromMilliseconds(500));
        }

        // Startup: the playlist or MPD, then the first media of each kind (audio may come before any video plays).
        Say("ot=m,su", isMedia: false);
        Say("ot=v,br=800,su", isMedia: true);
        Say("ot=a,br=128,su", isMedia: true);
        if (player == "shaka") Say("ot=v,br=800,su", isMedia: true); // Shaka says 'su' until its state is playing
        Say("ot=v,br=800", isMedia: true);
        Say("ot=a,br=128", isMedia: true);
        Say("ot=m", isMedia: false);
        Assert.Equal(0, counted);

        for (int wait = 0; wait < waits; wait++)
        {
            switch (player)
            {
                case "shaka":
                    Say("ot=m,su", isMedia: false);
                    Say("ot=v,br=800,su", isMedia: true);
                    Say("ot=a,br=128,su", isMedia: true);
                    Say("ot=v,br=800,su", isMedia: true);
                    break;
                case "dash.js":
                    Say("ot=v,br=800,bs,su", isMedia: true);
                    Say("ot=a,br=128,bs,su", isMedia: true);
                    Say("ot=i,su", isMedia: false);
                    break;
                default:
                    Say("ot=v,br=800,bs,su", isMedia: true);
                    Say("ot=a,br=128,su", isMedia: true);
                    Say("ot=v,br=800,su", isMedia: true);
                    break;
            }

            Assert.Equal(wait + 1, counted);
            Say("ot=v,br=800", isMedia: true);
            Say("ot=a,br=128", isMedia: true);
            Say("ot=v,br=800", isMedia: true);
            Assert.Equal(wait + 1, counted);
        }

        var q = audience.Quality("ch")!;
        Assert.Equal((1, waits), (q.StalledSessions, q.Stalls));
    }

    [Fact]
    public void A_flood_of_invented_sessions_fills_only_its_own_channels_table()
    {
        var clock = new ManualClock(Start);
        var audience = new CmcdAudience(Options.Create(new OriginOptions { CmcdMaxSessionsPerChannel = 100 }), clock);
        audience.Record("show", Data("bl=5000,br=2500,ot=v,sid=\"real\""), 1, isMedia: true);
        for (int i = 0; i < 10_000; i++) audience.Record("show", Data($"bl=0,bs,br=1,ot=v,sid=\"fake-{i}\""), 2, isMedia: true);
        audience.Record("quiet", Data("bl=8000,br=800,ot=v,sid=\"q\""), 3, isMedia: true);

        var show = audience.Quality("show")!;
        Assert.Equal(100, show.Sessions);
        Assert.Equal(10_000 - 99, show.SessionsRefused);
        // The real session is still there and still counted.
        audience.Record("show", Data("bl=6000,br=2500,ot=v,sid=\"real\""), 1, isMedia: true);
        Assert.Equal(100, audience.Quality("show")!.Sessions);
        var quiet = audience.Quality("quiet")!;
        Assert.Equal((1, 0, 8000, 0L), (quiet.Sessions, quiet.Stalls, quiet.MedianBufferMs, quiet.SessionsRefused));
    }

    [Fact]
    public async Task Requests_with_the_cmcd_query_argument_or_headers_reach_the_channels_quality()
    {
        var clock = new ManualClock(Start);
        var store = new InMemorySegmentStore();
        foreach (string key in new[] { "ch/master.m3u8", "ch/v0/index.m3u8", "ch/v0/seg_1.m4s" }) store.Seed(key, [1], "", null, Start, "e");
        await using var server = await OriginServer.StartAsync(store, clock);
        var audience = server.Services.GetRequiredService<CmcdAudience>();

        // hls.js's query mode, percent-encoded as encodeURIComponent writes it.
        using (var r = await server.Client.GetAsync("/live/ch/master.m3u8?CMCD=ot%3Dm%2Csf%3Dh%2Csid%3D%22q-1%22%2Cst%3Dl%2Csu"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        clock.Advance(TimeSpan.FromMilliseconds(700));
        using (var r = await server.Client.GetAsync("/live/ch/v0/seg_1.m4s?CMCD=bl%3D0%2Cbr%3D800%2Cbs%2Cot%3Dv%2Csid%3D%22q-1%22"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        // Shaka's header mode.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/live/ch/v0/seg_1.m4s"))
        {
            request.Headers.TryAddWithoutValidation("CMCD-Object", "br=2500,ot=v");
            request.Headers.TryAddWithoutValidation("CMCD-Request", "bl=3000");
            request.Headers.TryAddWithoutValidation("CMCD-Session", "sf=h,sid=\"h-1\",st=l");
            using var r = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }

        // Malformed CMCD is counted and dropped; the request is served as any other.
        using (var r = await server.Client.GetAsync("/live/ch/v0/seg_1.m4s?CMCD=br%3D-5%2Csid%3Dunquoted"))
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);

        var q = audience.Quality("ch")!;
        Assert.Equal(2, q.Sessions);
        Assert.Equal((1, 1), (q.StalledSessions, q.Stalls));
        Assert.Equal(700, q.MedianStartupMs);
        Assert.Equal((800 + 2500) / 2, q.MeanBitrateKbps);
        Assert.Equal(2, q.MalformedValues);
    }
}
