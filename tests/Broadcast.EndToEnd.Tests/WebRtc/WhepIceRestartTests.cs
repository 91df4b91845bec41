using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// WHEP viewers' TURN credentials last minutes and are renewed by ICE restarts (RFC 9725 §4.3.2), on the shared server,
/// whose viewer credentials last 30 s (<c>Turn:ViewerCredentialLifetime</c>) beside real coturn on loopback. A plain WHEP
/// page that may only relay connects through an ICE restart made with its 201's TURN credential, then restarts every 8 s
/// with the credential each answer brings: long after the first credential expired it still decodes frames through a
/// relay that coturn allocated with a later one. The watch page renews its credential the same way on its own.
/// </summary>
[Collection(RealTimeServerCollection.Name)]
public sealed class WhepIceRestartTests(ServerFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private static readonly ClipSpec Baseline = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, Profile = "baseline", VideoBitrateKbps = 800 };

    private ServerProcess Server => fixture.Server;

    private string Diagnostics() => fixture.WithLog($"--- coturn ---{Environment.NewLine}{fixture.Turn.Log.Tail(30)}");

    [Fact]
    public async Task A_relay_only_viewer_renews_its_turn_credential_by_ice_restarts_and_plays_past_its_first_credentials_expiry()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep restart {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Bound, "the channel to be live", Diagnostics);
        await using var browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns"]);
        var page = await browser.NewPageAsync();
        string endpoint = new Uri(Server.BaseUri, $"live/{channel.Slug}/whep").ToString();
        await page.GotoAsync(browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(endpoint)}&policy=relay&restartEvery=8").ToString());
        try
        {
            await WaitForPageAsync(page, "window.__whep.framesDecoded > 30 && window.__whep.localCandidateType === 'relay'", "frames through a relay");
            string firstUsername = await page.EvaluateAsync<string>("() => window.__whep.turnUsernames[0]");
            // Named after the viewer's address (a keyed hash: coturn's per-user quota bounds the address), not its session.
            Assert.Matches(@"^\d+:whep\.[0-9a-f]{24}$", firstUsername);
            long firstExpiry = long.Parse(firstUsername.Split(':')[0], CultureInfo.InvariantCulture);
            Assert.InRange(firstExpiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 0, 31);

            // The session's own refusals, now that it exists: each says what is wrong and changes nothing.
            string location = await page.EvaluateAsync<string>("() => window.__whep.location");
            const string Restart = "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=end-of-candidates\r\n";
            Assert.Equal(HttpStatusCode.PreconditionRequired, await PatchAsync(location, Restart, ifMatch: null));
            Assert.Equal(HttpStatusCode.PreconditionFailed, await PatchAsync(location, Restart, ifMatch: "\"not-this-one\""));
            Assert.Equal((HttpStatusCode)422, await PatchAsync(location, "a=mid:0\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n", ifMatch: "*"));
            Assert.Equal(HttpStatusCode.BadRequest, await PatchAsync(location, "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n", ifMatch: "*"));
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, await PatchAsync(location, Restart, ifMatch: "*", contentType: "application/sdp"));
            Assert.Equal(HttpStatusCode.NotFound, await PatchAsync(location + "x", Restart, ifMatch: "*"));
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, await PatchAsync(location, Restart + new string('a', 20 * 1024), ifMatch: "*"));

            // Well past the first credential's expiry (and coturn's refusal of it), through relays made with later ones.
            await WaitFor.UntilAsync(DateTimeOffset.FromUnixTimeSeconds(firstExpiry + 13), TimeSpan.FromSeconds(50), "the first credential to be long expired");
            int frames = await page.EvaluateAsync<int>("() => window.__whep.framesDecoded");
            await WaitForPageAsync(page, $"window.__whep.framesDecoded > {frames + 60}", "frames still decoded after the first credential expired");
            string state = await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)");
            output.WriteLine(state);
            Assert.Equal("relay", await page.EvaluateAsync<string>("() => window.__whep.localCandidateType"));
            Assert.Equal(0, await page.EvaluateAsync<int>("() => window.__whep.restartErrors.length"));
            int restarts = await page.EvaluateAsync<int>("() => window.__whep.restarts");
            Assert.True(restarts >= 4, $"only {restarts} ICE restarts: {state}");
            var ufrags = await page.EvaluateAsync<string[]>("() => window.__whep.remoteUfrags");
            Assert.Equal(ufrags.Length, ufrags.Distinct(StringComparer.Ordinal).Count());
            string lastUsername = await page.EvaluateAsync<string>("() => window.__whep.turnUsernames[window.__whep.turnUsernames.length - 1]");
            Assert.True(long.Parse(lastUsername.Split(':')[0], CultureInfo.InvariantCulture) > firstExpiry + 12, $"the last restart used no renewed credential: {state}");
            string turnLog = fixture.Turn.Log.Tail(4000);
            Assert.True(turnLog.Split('\n').Any(l => l.Contains($"<{lastUsername}>", StringComparison.Ordinal) && l.Contains("ALLOCATE processed, success", StringComparison.Ordinal)),
                $"coturn allocated nothing with the renewed credential {lastUsername}:{Environment.NewLine}{Diagnostics()}");
            Assert.Contains($"WHEP {channel.Slug}: session ", Server.LogTail(2000), StringComparison.Ordinal);
            Assert.Contains("restarted its ICE", Server.LogTail(2000), StringComparison.Ordinal);
            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
            // A session that ended restarts nothing and gets no credential.
            Assert.Equal(HttpStatusCode.NotFound, await PatchAsync(location, Restart, ifMatch: "*"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task The_watch_page_renews_its_turn_credential_with_ice_restarts_while_it_plays_in_real_time()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep watch restart {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Bound, "the channel to be live", Diagnostics);
        var page = await (await fixture.BrowserAsync()).NewPageAsync();
        try
        {
            await page.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}?realtime=1").ToString());
            await WaitForPageAsync(page, "!!window.__watch && window.__watch.mode === 'webrtc' && window.__watch.video.currentTime > 0.5", "real-time playback");
            await page.EvaluateAsync(RecordConnection);
            // Credentials of 30 s are renewed every 10 s: two renewals within 35 s, and the picture goes on.
            await WaitForPageAsync(page, "window.__watch.restarts >= 2", "two ICE restarts of the watch page", TimeSpan.FromSeconds(45));
            double time = await page.EvaluateAsync<double>("() => window.__watch.video.currentTime");
            await WaitForPageAsync(page, $"window.__watch.mode === 'webrtc' && window.__watch.video.currentTime > {(time + 2).ToString(CultureInfo.InvariantCulture)}", "playback after the restarts");
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    /// <summary>
    /// The watch page's connection as a failure shows it: every state change, and each second the nominated pair's
    /// checks sent and answered (a server that stops answering after an ICE restart shows as requests without responses).
    /// </summary>
    private const string RecordConnection = """
        () => {
          const pc = window.__watch.pc, t0 = performance.now(), seen = new Set();
          window.__connection = [];
          const note = (what) => window.__connection.push(`${Math.round(performance.now() - t0)} ms ${what}`);
          for (const state of ['connectionState', 'iceConnectionState', 'iceGatheringState', 'signalingState'])
            pc.addEventListener(`${state.toLowerCase()}change`, () => note(`${state} ${pc[state]}`));
          setInterval(async () => (await pc.getStats()).forEach((r) => {
            if (r.type === 'candidate-pair' && r.nominated) note(`pair ${r.state} ${r.localCandidateId}>${r.remoteCandidateId} sent ${r.requestsSent} answered ${r.responsesReceived}`);
            if ((r.type === 'local-candidate' || r.type === 'remote-candidate') && !seen.has(r.id)) { seen.add(r.id); note(`${r.type} ${r.id} ${r.candidateType} ${r.address}:${r.port}`); }
          }), 1000);
        }
        """;

    private async Task<HttpStatusCode> PatchAsync(string location, string body, string? ifMatch, string contentType = "application/trickle-ice-sdpfrag")
    {
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        if (ifMatch is not null) request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        using var response = await Server.Viewer.SendAsync(request);
        return response.StatusCode;
    }

    private async Task WaitForPageAsync(IPage page, string condition, string what, TimeSpan? bound = null)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => {condition}", null, new() { Timeout = (float)(bound ?? Bound).TotalMilliseconds });
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException)
        {
            string state = await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep || (window.__watch && { mode: window.__watch.mode, why: window.__watch.why, "
                + "restarts: window.__watch.restarts, renewalsRetried: window.__watch.renewalsRetried, recoveries: window.__watch.recoveries }) || null)");
            string connection = await page.EvaluateAsync<string>("() => (window.__connection || []).join('\\n')");
            Assert.Fail($"{what}: {e.Message}; page state {state}{Environment.NewLine}{connection}{Environment.NewLine}{Diagnostics()}");
        }
    }
}
