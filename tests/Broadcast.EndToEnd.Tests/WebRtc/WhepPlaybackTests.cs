using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// One server (which starts its own Janus on the first WHEP request) and one headless Chromium with host candidates
/// un-hidden (no mDNS), shared by the WHEP tests; the node's viewer cap is 1 so the cap is tested too. The platform's
/// JWKS is served on loopback, so a private channel also takes the platform's JWTs.
/// </summary>
public sealed class WhepFixture : IAsyncLifetime
{
    public ServerProcess Server { get; private set; } = null!;

    public BrowserHost Browser { get; private set; } = null!;

    /// <summary>The platform's signing keys; its P-256 key is in the JWKS the server reads.</summary>
    public PlaybackJwtSigner Platform { get; } = new();

    private LoopbackHttpEndpoint? _jwks;

    public async Task InitializeAsync()
    {
        _jwks = await LoopbackHttpEndpoint.StartAsync();
        _jwks.Answer(200, Platform.Jwks(Platform.P256), "application/jwk-set+json");
        Server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Transcode:Enabled=false", "--Whep:MaxViewersPerNode=1", "--Whep:IdleStop=00:00:02",
                "--Whep:IceServers:0:Url=stun:stun.example.net:3478", "--Whep:ConnectTimeout=00:00:06",
                $"--Playback:Jwt:JwksUrl={_jwks.Url(".well-known/jwks.json")}", $"--Playback:Jwt:Audience={PlaybackJwtSigner.Audience}",
                "--Outbound:AllowedNetworks=127.0.0.1/32"],
        });
        Browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns"]);
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.DisposeAsync();
        if (Server is not null) await Server.DisposeAsync();
        if (_jwks is not null) await _jwks.DisposeAsync();
    }
}

/// <summary>
/// Real-time playback end to end: ffmpeg publishes RTMP, a plain WHEP page (tests/players/whep.html, not our watch page)
/// in Chromium posts its offer, Janus (NoSIP) answers and relays our RTP, and the page reports decoded frames; DELETE
/// ends the session, and the broadcast's audience report counts it as a WHEP viewer. A B-frame source gets the WebRTC rung; a private channel needs its token (minted, or the platform's
/// JWT); the cap sends the next viewer away with 503.
/// </summary>
public sealed class WhepPlaybackTests(WhepFixture fixture, ITestOutputHelper output) : IClassFixture<WhepFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    /// <summary>Baseline x264 has no B-frames: passed through.</summary>
    private static readonly ClipSpec Baseline = new() { Seconds = 10, Width = 640, Height = 360, Fps = 30, Profile = "baseline", VideoBitrateKbps = 800 };

    /// <summary>x264's main profile at veryfast uses B-frames (3): the WebRTC rung is encoded.</summary>
    private static readonly ClipSpec WithBFrames = Baseline with { Profile = "main" };

    /// <summary>A minimal receive-only H.264 offer: enough for every check that comes before Janus.</summary>
    private const string SketchOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n"
        + "a=rtpmap:102 H264/90000\r\na=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n";

    private ServerProcess Server => fixture.Server;

    private string Diagnostics() => $"--- server log tail ---{Environment.NewLine}{Server.LogTail(120)}";

    [Fact]
    public async Task A_plain_whep_page_plays_a_published_channel_and_delete_ends_the_session()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);
        var page = await PlayAsync(channel.Id, channel.Slug, token: null);
        try
        {
            await WaitForFramesAsync(page, 30);
            Assert.Contains("passthrough", Server.LogTail(400), StringComparison.Ordinal);
            Assert.Contains("ice-server", await page.EvaluateAsync<string>("() => window.__whep.iceServers"), StringComparison.Ordinal);
            output.WriteLine($"first frame {await page.EvaluateAsync<int>("() => window.__whep.firstFrameMs")} ms after the POST, jitter buffer {await page.EvaluateAsync<int?>("() => window.__whep.jitterBufferMs")} ms, "
                + $"{await page.EvaluateAsync<int>("() => window.__whep.frameWidth")}x{await page.EvaluateAsync<int>("() => window.__whep.frameHeight")}, audio packets {await page.EvaluateAsync<int>("() => window.__whep.audioPackets")}");
            Assert.True(await page.EvaluateAsync<int>("() => window.__whep.audioPackets") > 0, "no Opus packets arrived");
            string metrics = await Server.Viewer.GetStringAsync("metrics");
            Assert.Contains("broadcast_whep_viewers 1\n", metrics, StringComparison.Ordinal);
            Assert.Contains("broadcast_janus_up 1\n", metrics, StringComparison.Ordinal);

            // The node's cap is 1: the next viewer is sent to LL-HLS.
            using (var second = await PostOfferAsync(channel.Slug, SketchOffer))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
                Assert.Contains("master.m3u8", second.Headers.GetValues("Link").Single(), StringComparison.Ordinal);
            }

            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
            // Janus closed the viewer's DTLS transport: the session is gone on its side, not only in our table.
            await page.WaitForFunctionAsync("() => window.__whep.dtlsState === 'closed' || ['failed', 'closed'].includes(window.__whep.connectionState)", null, new() { Timeout = 20_000 });
            string location = await page.EvaluateAsync<string>("() => window.__whep.location");
            using var again = await Server.Viewer.DeleteAsync(location);
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            Assert.Contains("ended by the viewer", Server.LogTail(200), StringComparison.Ordinal);

            // The audience kept for the broadcast counts the viewer as WHEP, though it left before the bucket it watched in
            // was read; the offer sent away with 503 is no viewer.
            JsonElement report = default;
            await WaitFor.ConditionAsync(async () =>
            {
                if (await Audience.AudienceReports.LatestAsync(Server.Http, channel.Id) is not { } latest) return false;
                report = latest.Report;
                return report.GetProperty("byDelivery").GetProperty("whep").GetProperty("viewers").GetInt64() > 0;
            }, TimeSpan.FromSeconds(40), "the WHEP viewer in the broadcast's audience report", Diagnostics, TimeSpan.FromSeconds(1));
            Assert.True(report.GetProperty("byDelivery").GetProperty("whep").GetProperty("viewers").GetInt64() == 1
                && report.GetProperty("uniqueViewers").GetInt64() == 1 && report.GetProperty("peakViewers").GetInt64() == 1, report.ToString());
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task A_source_with_b_frames_gets_the_webrtc_rung_and_plays()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep bframes {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(WithBFrames), Server.RtmpUrl(channel.StreamKey), loops: -1);
        var page = await PlayAsync(channel.Id, channel.Slug, token: null);
        try
        {
            await WaitForFramesAsync(page, 30);
            Assert.Contains($"re-encode: B-frames", Server.LogTail(400), StringComparison.Ordinal);
            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task A_private_channel_refuses_whep_without_its_token_and_plays_with_it()
    {
        using var create = await Server.Http.PostAsJsonAsync("api/channels", new { name = $"whep private {Guid.NewGuid():N}", privatePlayback = true });
        Assert.True(create.StatusCode == HttpStatusCode.Created, Diagnostics());
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        string id = created.RootElement.GetProperty("id").GetString()!;
        string slug = created.RootElement.GetProperty("slug").GetString()!;
        string streamKey = created.RootElement.GetProperty("streamKey").GetString()!;
        using var mint = await Server.Http.PostAsJsonAsync($"api/channels/{id}/playback-tokens", new { expiresInSeconds = 900 });
        using var minted = JsonDocument.Parse(await mint.Content.ReadAsStringAsync());
        string token = minted.RootElement.GetProperty("token").GetString()!;

        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(streamKey), loops: -1);
        using (var anonymous = await PostOfferAsync(slug, SketchOffer))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        using (var forged = await PostOfferAsync(slug, SketchOffer, bearer: token[..^4] + "AAAA"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        var page = await PlayAsync(id, slug, token);
        try
        {
            await WaitForFramesAsync(page, 10);
            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
        }
        finally
        {
            await page.CloseAsync();
        }

        // The platform's JWT (its key from the JWKS on loopback) opens WHEP too; one for another channel does not.
        string Jwt(string channel) => PlaybackJwtSigner.Sign(fixture.Platform.P256, "ES256", new Dictionary<string, object> { ["channel"] = channel });
        using (var elsewhere = await PostOfferAsync(slug, SketchOffer, bearer: Jwt("another-channel")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, elsewhere.StatusCode);
        }

        page = await PlayAsync(id, slug, Jwt(slug));
        try
        {
            await WaitForFramesAsync(page, 10);
            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whepStop()"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task A_session_ends_when_its_channel_turns_private_and_when_its_playback_token_expires()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep revoked {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);

        // Admitted while the channel was public: the channel turning private ends it, as its HLS would refuse the next request.
        var page = await PlayAsync(channel.Id, channel.Slug, token: null);
        try
        {
            await WaitForFramesAsync(page, 10);
            var turned = System.Diagnostics.Stopwatch.StartNew();
            using (var patch = await Server.Http.PatchAsync($"api/channels/{channel.Id}", JsonContent.Create(new { privatePlayback = true })))
                Assert.True(patch.IsSuccessStatusCode, $"PATCH privatePlayback: {(int)patch.StatusCode}");
            await WaitFor.ConditionAsync(() => Server.LogTail(2000).Contains($"WHEP {channel.Slug}: session ", StringComparison.Ordinal)
                && Server.LogTail(2000).Contains(": the channel turned private", StringComparison.Ordinal), Patience, "the public viewer's session to end", Diagnostics);
            output.WriteLine($"the session admitted as public ended {turned.ElapsedMilliseconds} ms after the channel turned private");
            Assert.Contains("broadcast_whep_viewers 0\n", await Server.Viewer.GetStringAsync("metrics"), StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }

        // A token that lives 8 s: the session plays, and ends within a second or two after the token's expiry, not before.
        using var mint = await Server.Http.PostAsJsonAsync($"api/channels/{channel.Id}/playback-tokens", new { expiresInSeconds = 8 });
        Assert.True(mint.IsSuccessStatusCode, $"mint: {(int)mint.StatusCode}");
        using var minted = JsonDocument.Parse(await mint.Content.ReadAsStringAsync());
        string token = minted.RootElement.GetProperty("token").GetString()!;
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(8);
        page = await PlayAsync(channel.Id, channel.Slug, token);
        try
        {
            await WaitForFramesAsync(page, 10);
            await WaitFor.ConditionAsync(() => Server.LogTail(2000).Contains(": its playback token expired or was revoked", StringComparison.Ordinal), Patience,
                "the token viewer's session to end at the token's expiry", Diagnostics);
            var endedAt = DateTimeOffset.UtcNow;
            output.WriteLine($"the token's session ended {(endedAt - expiresAt).TotalMilliseconds:0} ms after the token expired");
            // The token was minted before expiresAt was read, so the expiry is at most that; the watch looks once a second.
            Assert.True(endedAt >= expiresAt.AddSeconds(-1), $"the session ended {(expiresAt - endedAt).TotalSeconds:0.0} s before its token expired");
            Assert.True(endedAt <= expiresAt.AddSeconds(5), $"the session outlived its token by {(endedAt - expiresAt).TotalSeconds:0.0} s");
            Assert.Contains("broadcast_whep_viewers 0\n", await Server.Viewer.GetStringAsync("metrics"), StringComparison.Ordinal);
            // Janus closed the viewer's side too.
            await page.WaitForFunctionAsync("() => window.__whep.dtlsState === 'closed' || ['failed', 'closed', 'disconnected'].includes(window.__whep.connectionState)", null, new() { Timeout = 40_000 });
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task An_offer_whose_viewer_never_connects_gives_its_place_back()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep abandoned {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Patience, "the channel to be live", Diagnostics);
        var page = await fixture.Browser.NewPageAsync();
        try
        {
            // A real browser offer, answered with 201, whose answer is never applied: no ICE, no DTLS, the place held.
            await page.GotoAsync(fixture.Browser.Pages.Url("whep.html").ToString());
            int status = await page.EvaluateAsync<int>("""
                async (url) => {
                  const pc = new RTCPeerConnection();
                  pc.addTransceiver('video', { direction: 'recvonly' });
                  await pc.setLocalDescription(await pc.createOffer());
                  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
                  window.__abandoned = pc;
                  return r.status;
                }
                """, new Uri(Server.BaseUri, $"live/{channel.Slug}/whep").ToString());
            Assert.Equal(201, status);
            Assert.Contains("broadcast_whep_viewers 1\n", await Server.Viewer.GetStringAsync("metrics"), StringComparison.Ordinal);
            await WaitFor.ConditionAsync(() => SessionsEnded(channel.Slug) == 1, Patience, "the unconnected session to be ended", Diagnostics);
            Assert.Contains("no WebRTC connection within 6 s", Server.LogTail(400), StringComparison.Ordinal);
            Assert.Contains("broadcast_whep_viewers 0\n", await Server.Viewer.GetStringAsync("metrics"), StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    [Fact]
    public async Task Bad_requests_get_clear_errors_and_options_say_what_is_allowed()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep errors {Guid.NewGuid():N}");
        using (var wrongType = await Server.Viewer.PostAsync($"live/{channel.Slug}/whep", new StringContent(SketchOffer, Encoding.UTF8, "text/plain")))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, wrongType.StatusCode);
        }

        using (var malformed = await PostOfferAsync(channel.Slug, "not an sdp"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
            Assert.Contains("malformed SDP", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var noVideo = await PostOfferAsync(channel.Slug, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noVideo.StatusCode);
            Assert.Contains("H.264", await noVideo.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var huge = await PostOfferAsync(channel.Slug, SketchOffer + new string('a', 70_000)))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        }

        using (var offAir = await PostOfferAsync(channel.Slug, SketchOffer))
        {
            Assert.Equal(HttpStatusCode.NotFound, offAir.StatusCode);
        }

        using (var unknown = await PostOfferAsync("no-such-channel", SketchOffer))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }

        using var options = await Server.Viewer.SendAsync(new HttpRequestMessage(HttpMethod.Options, $"live/{channel.Slug}/whep"));
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        Assert.Equal("application/sdp", options.Headers.GetValues("Accept-Post").Single());
        Assert.Contains("POST", options.Content.Headers.Allow);
        Assert.Contains("<stun:stun.example.net:3478>; rel=\"ice-server\"", options.Headers.GetValues("Link"));
        using var patch = await Server.Viewer.PatchAsync($"live/{channel.Slug}/whep/abc", new StringContent("a=end-of-candidates", Encoding.UTF8, "application/trickle-ice-sdpfrag"));
        Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
    }

    [Fact]
    public async Task The_watch_page_plays_real_time_and_overflows_to_ll_hls_when_the_node_is_full()
    {
        var channel = await Server.Api.CreateChannelAsync($"whep watch {Guid.NewGuid():N}", lowLatency: true);
        // Marked real-time (the producer's switch): its plain watch page plays WebRTC first.
        using (var marked = await Server.Http.PatchAsync($"api/channels/{channel.Id}", System.Net.Http.Json.JsonContent.Create(new { realTime = true })))
        {
            Assert.True(marked.IsSuccessStatusCode, $"PATCH realTime: {(int)marked.StatusCode}");
        }

        await using var publisher = FfmpegPublisher.Start(await TestMedia.GetClipAsync(Baseline), Server.RtmpUrl(channel.StreamKey), loops: -1);
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Patience, "the channel to be live", Diagnostics);
        // A real-time channel is warmed when it goes live (event 8209): its first viewer finds its feed and Janus running.
        await WaitFor.ConditionAsync(() => Server.LogTail(5000).Contains($"WHEP {channel.Slug}: real-time channel live;", StringComparison.Ordinal),
            Patience, "the real-time channel to be warmed at its publish", Diagnostics);
        string watchUrl = new Uri(Server.BaseUri, $"watch/{channel.Slug}").ToString();
        var first = await fixture.Browser.NewPageAsync();
        var second = await fixture.Browser.NewPageAsync();
        try
        {
            await first.GotoAsync(watchUrl);
            await WaitForWatchAsync(first, "window.__watch.mode === 'webrtc' && window.__watch.video.currentTime > 0.5");
            Assert.Equal("Real-time", await first.TextContentAsync("#watch-playback-mode"));

            // The node's cap (1) is taken: the next viewer (here through a ?realtime=1 link, which any live channel's page takes)
            // plays LL-HLS and the page says why.
            await second.GotoAsync(watchUrl + "?realtime=1");
            await WaitForWatchAsync(second, "window.__watch.mode === 'hls' && window.__watch.video.currentTime > 0.5");
            Assert.Equal("the real-time audience is full", await second.EvaluateAsync<string>("() => window.__watch.why"));
            Assert.Contains("LL-HLS", await second.TextContentAsync("#watch-playback-mode"), StringComparison.Ordinal);

            // Leaving the page ends its WHEP session (DELETE on pagehide), which frees the node's place.
            // (Closing its PeerConnection first, Janus may report the end before the DELETE arrives: either way it ends.)
            await first.EvaluateAsync("() => window.dispatchEvent(new Event('pagehide'))");
            await WaitFor.ConditionAsync(() => SessionsEnded(channel.Slug) == 1, Patience, "the watch page's WHEP session to end", Diagnostics);
        }
        finally
        {
            await first.CloseAsync();
            await second.CloseAsync();
        }
    }

    /// <summary>WHEP sessions of <paramref name="slug"/> the server logged as ended (event 8202).</summary>
    private int SessionsEnded(string slug) => Server.LogTail(5000).Split('\n').Count(line => line.Contains($"WHEP {slug}: session ", StringComparison.Ordinal) && line.Contains(" ended (", StringComparison.Ordinal));

    private async Task WaitForWatchAsync(IPage page, string condition)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => !!window.__watch && {condition}", null, new() { Timeout = (float)Patience.TotalMilliseconds });
        }
        catch (PlaywrightException e)
        {
            Assert.Fail($"the watch page did not get there ({condition}): {e.Message}; mode {await page.EvaluateAsync<string>("() => window.__watch ? window.__watch.mode + ' ' + window.__watch.why : 'none'")}{Environment.NewLine}{Diagnostics()}");
        }
    }

    private async Task<IPage> PlayAsync(string channelId, string slug, string? token)
    {
        var page = await fixture.Browser.NewPageAsync();
        string endpoint = new Uri(Server.BaseUri, $"live/{slug}/whep").ToString();
        string url = fixture.Browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(endpoint)}{(token is null ? "" : "&token=" + Uri.EscapeDataString(token))}").ToString();
        // The publish must be live before the offer (an off-air channel answers 404).
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channelId)).Live == true, Patience, $"channel {slug} to be live", Diagnostics);
        await page.GotoAsync(url);
        return page;
    }

    private async Task WaitForFramesAsync(IPage page, int frames)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => window.__whep.error !== null || window.__whep.framesDecoded > {frames}", null, new() { Timeout = (float)Patience.TotalMilliseconds });
        }
        catch (PlaywrightException e)
        {
            Assert.Fail($"no frames decoded: {e.Message}; page state {await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)")}{Environment.NewLine}{Diagnostics()}");
        }

        string? error = await page.EvaluateAsync<string?>("() => window.__whep.error");
        Assert.True(error is null, $"WHEP failed: {error}; page state {await page.EvaluateAsync<string>("() => JSON.stringify(window.__whep)")}{Environment.NewLine}{Diagnostics()}");
    }

    private async Task<HttpResponseMessage> PostOfferAsync(string slug, string sdp, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"live/{slug}/whep") { Content = new StringContent(sdp, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/sdp");
        if (bearer is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        return await Server.Viewer.SendAsync(request);
    }
}
