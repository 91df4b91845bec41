using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// An ingest node (ingest, control and origin, with the node token), an origin-only node that relays real-time channels
/// from it (the compose file's <c>origin</c> replica), infra/nginx-edge.conf in front of the origin, and one headless
/// Chromium: shared by the relay tests.
/// </summary>
public sealed class WhepRelayFixture : IAsyncLifetime
{
    public const string NodeToken = "whep-relay-node-token-0123456789abcdef0123";

    public ServerProcess Ingest { get; private set; } = null!;

    public ServerProcess Origin { get; private set; } = null!;

    public Storage.EdgeNginx Edge { get; private set; } = null!;

    public BrowserHost Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Ingest = await ServerProcess.StartAsync(new ServerOptions
        {
            // A stopped publisher ends its broadcast within 2 s: the tests wait for what follows a publish's end.
            ExtraArguments = ["--Transcode:Enabled=false", $"--Playback:NodeToken={NodeToken}", "--Ingest:ReconnectGraceSeconds=2"],
        });
        Origin = await ServerProcess.StartAsync(new ServerOptions
        {
            // The compose file's origin: no admin token, private playback from the control node, media from the shared
            // store, and the ingest node to relay real-time channels from.
            ExtraArguments =
            [
                "--Roles=origin", "--Admin:Token=", $"--Playback:ControlUrl={Ingest.BaseUri}", $"--Playback:NodeToken={NodeToken}",
                "--Playback:RefreshSeconds=1", $"--Storage:Path={Path.Combine(Ingest.DataDirectory, "media")}",
                $"--Whep:RelayFrom:0={Ingest.BaseUri}", "--Whep:IdleStop=00:00:02",
            ],
        });
        Edge = await Storage.EdgeNginx.StartAsync(Origin.HttpPort);
        Browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns"]);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        if (Edge is not null) await Edge.DisposeAsync();
        if (Origin is not null) await Origin.DisposeAsync();
        if (Ingest is not null) await Ingest.DisposeAsync();
    }
}

/// <summary>
/// Real-time viewers on an origin-only node (the compose file's <c>origin</c> service): the node runs its own Janus and
/// relays the channel from the ingest node once (<c>Whep:RelayFrom</c>, the feed asked with the node token), however
/// many viewers it serves. ffmpeg publishes to the ingest node; two plain WHEP pages in Chromium play from the origin
/// node, one directly and one through infra/nginx-edge.conf (its WHEP location: offer and DELETE to the same origin, not
/// cached); both nodes' /metrics show one feed for two viewers.
/// </summary>
public sealed class WhepRelayTests(WhepRelayFixture fixture, ITestOutputHelper output) : IClassFixture<WhepRelayFixture>
{
    private const string NodeToken = WhepRelayFixture.NodeToken;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);
    private static readonly ClipSpec Baseline = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, Profile = "baseline", VideoBitrateKbps = 800 };

    private const string SketchOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
        + "a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n";

    [Fact]
    public async Task An_origin_only_node_plays_whep_viewers_from_one_feed_of_the_ingest_node()
    {
        var (ingest, origin, edge, browser) = (fixture.Ingest, fixture.Origin, fixture.Edge, fixture.Browser);
        string Diagnostics() => $"--- ingest log tail ---{Environment.NewLine}{ingest.LogTail(60)}{Environment.NewLine}--- origin log tail ---{Environment.NewLine}{origin.LogTail(80)}";

        var channel = await ingest.Api.CreateChannelAsync($"whep relay {Guid.NewGuid():N}");
        // Off air on every ingest node: the origin says so after asking them.
        await WaitFor.ConditionAsync(async () =>
        {
            using var offAir = await PostOfferAsync(origin, channel.Slug);
            return offAir.StatusCode == HttpStatusCode.NotFound;
        }, Patience, "the origin to answer 404 for an off-air channel", Diagnostics);

        // The feed is for nodes: without the node token, or with another, the ingest node refuses it.
        using (var anonymous = await ingest.Viewer.GetAsync($"internal/realtime/{channel.Slug}/feed.flv"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, $"internal/realtime/{channel.Slug}/feed.flv"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", NodeToken[..^4] + "AAAA");
            using var refused = await ingest.Viewer.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), ingest.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await ingest.Api.GetChannelAsync(channel.Id)).Live == true, Patience, "the channel to be live", Diagnostics);

        string Player(Uri server) => browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(new Uri(server, $"live/{channel.Slug}/whep").ToString())}").ToString();
        var first = await browser.NewPageAsync();
        var second = await browser.NewPageAsync();
        try
        {
            await OpenPlayerAsync(first, Player(origin.BaseUri));
            await OpenPlayerAsync(second, Player(edge.BaseUri));
            await WaitForFramesAsync(first, 30, Diagnostics);
            await WaitForFramesAsync(second, 30, Diagnostics);
            output.WriteLine($"first viewer's first frame {await first.EvaluateAsync<int>("() => window.__whep.firstFrameMs")} ms after its POST, "
                + $"second's {await second.EvaluateAsync<int>("() => window.__whep.firstFrameMs")} ms");
            Assert.True(await first.EvaluateAsync<int>("() => window.__whep.audioPackets") > 0, "no Opus packets arrived");

            // Two viewers on the origin node, one feed from the ingest node, and no WHEP viewer on the ingest node itself.
            string originMetrics = await origin.Viewer.GetStringAsync("metrics");
            string ingestMetrics = await ingest.Viewer.GetStringAsync("metrics");
            Assert.True(originMetrics.Contains("broadcast_whep_viewers 2\n", StringComparison.Ordinal), originMetrics);
            Assert.True(originMetrics.Contains("broadcast_whep_relayed_channels 1\n", StringComparison.Ordinal), originMetrics);
            Assert.True(ingestMetrics.Contains("broadcast_whep_relay_feeds 1\n", StringComparison.Ordinal), ingestMetrics);
            // A channel not marked real-time is warmed nowhere: it was relayed for its viewers alone.
            Assert.True(originMetrics.Contains("broadcast_whep_warm_channels 0\n", StringComparison.Ordinal), originMetrics);
            Assert.True(ingestMetrics.Contains("broadcast_whep_viewers 0\n", StringComparison.Ordinal), ingestMetrics);
            Assert.Contains("passthrough", origin.LogTail(400), StringComparison.Ordinal);

            Assert.Equal(200, await first.EvaluateAsync<int>("() => window.__whepStop()"));
            // Through the edge: the DELETE reaches the origin that holds the session.
            Assert.Equal(200, await second.EvaluateAsync<int>("() => window.__whepStop()"));
            // With its last viewer gone (and Whep:IdleStop later) the origin lets the feed go: the ingest node sends none.
            await WaitFor.ConditionAsync(async () => (await ingest.Viewer.GetStringAsync("metrics")).Contains("broadcast_whep_relay_feeds 0\n", StringComparison.Ordinal),
                Patience, "the ingest node's relay feed to end after the origin's last viewer left", Diagnostics);
        }
        finally
        {
            await first.CloseAsync();
            await second.CloseAsync();
        }
    }

    [Fact]
    public async Task A_real_time_channel_is_warmed_on_the_origin_node_before_its_first_viewer_there()
    {
        var (ingest, origin, browser) = (fixture.Ingest, fixture.Origin, fixture.Browser);
        string Diagnostics() => $"--- ingest log tail ---{Environment.NewLine}{ingest.LogTail(60)}{Environment.NewLine}--- origin log tail ---{Environment.NewLine}{origin.LogTail(80)}";
        var channel = await ingest.Api.CreateChannelAsync($"whep relay warm {Guid.NewGuid():N}");
        using (var marked = await ingest.Http.PatchAsync($"api/channels/{channel.Id}", System.Net.Http.Json.JsonContent.Create(new { realTime = true })))
        {
            Assert.True(marked.IsSuccessStatusCode, $"PATCH realTime: {(int)marked.StatusCode}");
        }

        // The list origins poll is for nodes too.
        using (var anonymous = await ingest.Viewer.GetAsync("internal/realtime/live"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), ingest.RtmpUrl(channel.StreamKey), loops: -1);
        try
        {
            // No viewer anywhere: the ingest node warms it at its publish, and the origin node, asking the ingest node which
            // real-time channels are live, warms it too: its relay feeds it (event 8209 on both nodes).
            await WaitFor.ConditionAsync(() => origin.LogTail(5000).Contains($"WHEP {channel.Slug}: real-time channel live;", StringComparison.Ordinal),
                Patience, "the origin node to warm the real-time channel before any viewer", Diagnostics);
            await WaitFor.ConditionAsync(async () => (await origin.Viewer.GetStringAsync("metrics")).Contains("broadcast_whep_relayed_channels 1\n", StringComparison.Ordinal),
                Patience, "the origin node's relay to feed the warm channel", Diagnostics);
            Assert.Contains("broadcast_whep_viewers 0\n", await origin.Viewer.GetStringAsync("metrics"), StringComparison.Ordinal);

            var page = await browser.NewPageAsync();
            try
            {
                await page.GotoAsync(browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(new Uri(origin.BaseUri, $"live/{channel.Slug}/whep").ToString())}").ToString());
                await WaitForFramesAsync(page, 30, Diagnostics);
                output.WriteLine($"first viewer on the origin of a warm real-time channel: first frame {await page.EvaluateAsync<int>("() => window.__whep.firstFrameMs")} ms after its POST");
                Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
            }
            finally
            {
                await page.CloseAsync();
            }
        }
        finally
        {
            await publisher.DisposeAsync();
        }

        // The publish ended: the ingest node no longer lists it, the origin lets it go and its feed ends.
        await WaitFor.ConditionAsync(async () => (await origin.Viewer.GetStringAsync("metrics")).Contains("broadcast_whep_warm_channels 0\n", StringComparison.Ordinal),
            Patience, "the origin node to let the ended channel go", Diagnostics);
        await WaitFor.ConditionAsync(async () => (await ingest.Viewer.GetStringAsync("metrics")).Contains("broadcast_whep_relay_feeds 0\n", StringComparison.Ordinal),
            Patience, "the ingest node's relay feed to end", Diagnostics);
    }

    private static async Task<HttpResponseMessage> PostOfferAsync(ServerProcess server, string slug)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"live/{slug}/whep") { Content = new StringContent(SketchOffer, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        return await server.Viewer.SendAsync(request);
    }

    /// <summary>
    /// Opens the WHEP page, again while the origin answers 404: the origin's off-air answer above stands for
    /// <see cref="Broadcast.WebRtc.Relay.ChannelRelays.ProbeLifetime"/> (one second, so that a scan of made-up names costs
    /// the ingest nodes one probe a name a second), and a viewer who asks within it is told so, as a player that retries is.
    /// </summary>
    private static async Task OpenPlayerAsync(IPage page, string url)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            await page.GotoAsync(url);
            await page.WaitForFunctionAsync("() => !!window.__whep && (window.__whep.status !== 0 || window.__whep.error !== null)", null,
                new() { Timeout = (float)Patience.TotalMilliseconds });
            if (await page.EvaluateAsync<int>("() => window.__whep.status") != 404 || deadline.Elapsed > Patience) return;
            await Task.Delay(250);
        }
    }

    private static async Task WaitForFramesAsync(IPage page, int frames, Func<string> diagnostics)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => !!window.__whep && (window.__whep.error !== null || window.__whep.framesDecoded > {frames})", null,
                new() { Timeout = (float)Patience.TotalMilliseconds });
        }
        catch (PlaywrightException e)
        {
            Assert.Fail($"no frames decoded: {e.Message}; page state {await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)")}{Environment.NewLine}{diagnostics()}");
        }

        string? error = await page.EvaluateAsync<string?>("() => window.__whep.error");
        Assert.True(error is null, $"WHEP failed: {error}; page state {await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)")}{Environment.NewLine}{diagnostics()}");
    }
}
