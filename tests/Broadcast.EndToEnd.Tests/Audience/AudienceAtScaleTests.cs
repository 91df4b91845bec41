using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>
/// The audience scenario (<see cref="AudienceScenario"/>) at the size #70's acceptance names, as a load run (bench/audience.sh,
/// not <c>./test.sh</c>): twenty browser viewers and two WHEP viewers watch one low-latency broadcast through a throttled
/// viewer's rung switch and a five-second encoder pause. hls.js in low-latency mode (three through the nginx edge, two
/// directly), hls.js with that mode off (seven, one of them throttled to 600 kb/s), Shaka on the HLS master and on the MPD
/// (one each) and dash.js on the MPD (three directly, two through the edge) send CMCD, each with its own session id; one more
/// hls.js sends none and is keyed by address and User-Agent. The hls.js players load playlists with the watch page's policy
/// (control/wwwroot/js/hls-load-policy.js). The tabs share one browser, each asking its own host name for the loopback
/// address, so each has its own connections as a viewer on its own machine has.
/// <para>
/// Twenty decoding tabs take the two cores: about 0.075 of a core each at 240p and 30 frames a second and 0.055 at 15,
/// measured in one Chromium, against 0.12 at 480p; so the source is 240p at 10 frames a second, baseline (no B-frames: WHEP
/// passes it through, with no WebRTC rung to encode), the ladder adds one 180p rung and never sheds it, and the run has a
/// server of its own (a WHEP cap above two). Even so the load average stays above 20 and a player may stop for good, so the
/// run asks each player to start, not to play through (<see cref="AudienceScenarioSetup.EveryPlayerPlaysThrough"/>); the
/// suite's <see cref="AudienceReportTests"/> asks that of its five.
/// </para>
/// </summary>
[Collection(AudienceAtScaleCollection.Name)]
[Trait("Kind", "Load")]
public sealed class AudienceAtScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_report_counts_twenty_players_and_two_whep_viewers_by_delivery_minutes_rung_and_the_stall_a_paused_encoder_caused()
    {
        int edgeLogPort = FreePort.Udp();
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Ladder:0:Name=180p", "--Transcode:Ladder:0:Height=180", "--Transcode:Ladder:0:VideoBitrate=250000",
                "--Whep:MaxViewersPerNode=4", "--Transcode:ShedBelowSpeed=0",
                $"--Origin:EdgeLogPort={edgeLogPort}", "--Origin:EdgeLogAddress=127.0.0.1", "--Origin:EdgeLogSources=127.0.0.1"],
        });
        await using var browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns", AudienceScenario.ViewerHostRule]);
        var viewers = new List<AudienceViewer>();
        void Add(int count, string name, PlayerKind kind, bool dash = false, bool edge = false)
        {
            for (int i = 1; i <= count; i++)
            {
                string label = $"{name} {i}";
                viewers.Add(new AudienceViewer(label, kind, "audience-" + label.Replace(' ', '-').Replace(".", "", StringComparison.Ordinal), dash, edge));
            }
        }
        Add(3, "hls.js LL through the edge", PlayerKind.Hls, edge: true);
        Add(2, "hls.js LL", PlayerKind.Hls);
        Add(7, "hls.js", PlayerKind.HlsWithoutLowLatency);
        // One Shaka on each manifest: Shaka 5.2's HLS parser can throw on a playlist update that finds a video stream's
        // segment index emptied (HlsParser.setProgramDateTimeRegionsFromIndex_ iterating it: "Cannot read properties of
        // null (reading 'next')") and then waits for good; three Shaka players on the HLS master met that in one run of
        // four, at the join, on a loaded machine.
        Add(1, "Shaka", PlayerKind.Shaka);
        Add(1, "Shaka DASH", PlayerKind.Shaka, dash: true);
        Add(3, "dash.js", PlayerKind.Dash, dash: true);
        Add(2, "dash.js through the edge", PlayerKind.Dash, dash: true, edge: true);
        // One viewer without CMCD: keyed by address and User-Agent, a second one here would be the same viewer.
        viewers.Add(new AudienceViewer("hls.js without CMCD", PlayerKind.HlsWithoutLowLatency, null));
        Assert.Equal(20, viewers.Count);

        await AudienceScenario.RunAsync(new AudienceScenarioSetup
        {
            Server = server,
            Browser = browser,
            HostNamePerViewer = true,
            EdgeLogPort = edgeLogPort,
            Clip = new ClipSpec { Seconds = 10, Width = 426, Height = 240, Fps = 10, GopFrames = 10, VideoBitrateKbps = 1000, Profile = "baseline", ZeroLatency = true },
            LowRung = ("180p", 180),
            // The 180p rung (250 kb/s and audio) fits, the 1 Mb/s source does not.
            ThrottledBytesPerSecond = 75_000,
            Viewers = viewers,
            ThrottledViewer = "hls.js 1",
            WhepViewers = 2,
            // On two cores a player may stop for good (Shaka after a rung came late, dash.js after the pause): it is still a
            // viewer, and the report must still match its record.
            EveryPlayerPlaysThrough = false,
            // Twenty-two tabs take longer to join than five: a minute more of source.
            PublisherLoops = 23,
            Output = output,
            WithLog = message => $"{message}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{server.LogTail()}",
        });
    }
}

/// <summary>Twenty players take the two cores: the load run runs alone (DisableParallelization), after every other collection.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AudienceAtScaleCollection
{
    public const string Name = "Audience at scale";
}
