using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Audience;

/// <summary>
/// The audience report of a broadcast against what its players themselves saw (<see cref="AudienceScenario"/>). Five players
/// in Chromium watch one low-latency channel of the shared server: hls.js in low-latency mode through the nginx edge; then,
/// directly, hls.js with that mode off, Shaka on the HLS master and dash.js on the MPD. These four send CMCD, each with its own
/// session id; the fifth, hls.js directly with no CMCD, is a viewer keyed by address and User-Agent; the hls.js players load
/// playlists with the watch page's policy (control/wwwroot/js/hls-load-policy.js), as a site's own page is told to
/// (docs/low-latency.md). Five, not more, beside the other tests: each decodes the picture, and with the ladder's encoder the
/// two cores are full (a sixth player made the throttled one time out, 2 runs in 5); <see cref="AudienceAtScaleTests"/> runs
/// twenty and two WHEP viewers on a server of their own, outside the suite (bench/audience.sh). The source is 480p, so the
/// ladder adds a 360p rung, to which the throttled hls.js (1.2 Mb/s) moves down.
/// </summary>
[Collection(ViewerServerCollection.Name)]
public sealed class AudienceReportTests(ServerFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task The_report_counts_the_players_that_watched_by_delivery_minutes_and_the_stall_a_paused_encoder_caused()
    {
        await AudienceScenario.RunAsync(new AudienceScenarioSetup
        {
            Server = fixture.Server,
            Browser = await fixture.BrowserAsync(),
            EdgeLogPort = fixture.EdgeLogPort,
            Clip = new ClipSpec { Seconds = 10, Width = 854, Height = 480, Fps = 30, GopFrames = 30, VideoBitrateKbps = 2500, ZeroLatency = true },
            LowRung = ("360p", 360),
            // The 360p rung (700 kb/s and audio) fits, the 2.5 Mb/s source does not.
            ThrottledBytesPerSecond = 150_000,
            Viewers =
            [
                new("hls.js LL through the edge", PlayerKind.Hls, "audience-ll", ThroughEdge: true),
                new("hls.js", PlayerKind.HlsWithoutLowLatency, "audience-hls"),
                new("Shaka", PlayerKind.Shaka, "audience-shaka"),
                new("dash.js", PlayerKind.Dash, "audience-dash", Dash: true),
                new("hls.js without CMCD", PlayerKind.HlsWithoutLowLatency, null),
            ],
            ThrottledViewer = "hls.js",
            Output = output,
            WithLog = fixture.WithLog,
        });
    }
}
