using System.Net;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Programs;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// The live room end to end through WHIP (RFC 9725) on the shared server: a plain WHIP page (tests/players/whip.html, not
/// our studio) in Chromium publishes a red canvas with a 440 Hz tone in VP8, a second one a blue canvas with 1 kHz in
/// H.264 alone (what OBS and hardware encoders offer), both with the channel's stream key. Janus's VideoRoom takes them, forwards their RTP into the channel's program, and the program's own
/// HLS segments (decoded by ffmpeg) show red full frame, then red and blue side by side with both tones in the mix, then
/// red alone again once the blue publisher DELETEs its session; a plain WHEP page plays the show in real time too. A
/// wrong key, or none, is refused before Janus is asked.
/// </summary>
[Collection(RealTimeServerCollection.Name)]
public sealed class RoomWhipTests(ServerFixture fixture, ITestOutputHelper output)
{
    private const int CanvasWidth = 640, CanvasHeight = 360;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);


    private readonly ProgramOutput _program = new(fixture, CanvasWidth, CanvasHeight);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Two_whip_publishers_are_composed_side_by_side_and_the_show_follows_when_one_leaves()
    {
        var channel = await Server.Api.CreateChannelAsync($"room {Guid.NewGuid():N}");
        await using var browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns",
            // Two publishing pages at once: neither may be throttled as a background tab.
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]);

        // Nobody publishes into a room without the channel's key.
        using (var none = await RoomRequests.PostOfferAsync(Server, "whip", bearer: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        }

        using (var wrong = await RoomRequests.PostOfferAsync(Server, "whip", bearer: "not-a-stream-key"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("invalid_token", wrong.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var noVideo = await RoomRequests.PostOfferAsync(Server, "whip", channel.StreamKey, "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\na=sendonly\r\n"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, noVideo.StatusCode);
        }

        var red = await PublishAsync(browser, channel.StreamKey, "red", 440);
        try
        {
            await _program.WaitForPictureAsync(channel.Slug, "the first participant full frame", [(160, 180, Hue.Red), (480, 180, Hue.Red)]);
            var blue = await PublishAsync(browser, channel.StreamKey, "blue", 1000, codec: "H264");
            try
            {
                await _program.WaitForPictureAsync(channel.Slug, "both participants side by side", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);
                string master = await Server.Viewer.GetStringAsync(Server.Absolute($"/live/{channel.Slug}/master.m3u8"));
                string audio = System.Text.RegularExpressions.Regex.Match(master, @"TYPE=AUDIO[^\n]*URI=""([\w-]+)/index\.m3u8""").Groups[1].Value;
                var (redLevel, blueLevel) = await _program.WaitForTonesAsync(channel.Slug, audio, (r, b) => r > 0.02 && b > 0.02, "both participants' tones in the mix");
                output.WriteLine($"mix: 440 Hz {redLevel:0.000}, 1 kHz {blueLevel:0.000}");

                // The show is a channel like any other: a real-time (WHEP) viewer plays it too.
                var viewer = await browser.NewPageAsync();
                try
                {
                    string endpoint = new Uri(Server.BaseUri, $"live/{channel.Slug}/whep").ToString();
                    await viewer.GotoAsync(browser.Pages.Url($"whep.html?url={Uri.EscapeDataString(endpoint)}").ToString());
                    await viewer.WaitForFunctionAsync("() => window.__whep.error !== null || window.__whep.framesDecoded > 30", null, new() { Timeout = (float)Bound.TotalMilliseconds });
                    string whep = await viewer.EvaluateAsync<string>("() => JSON.stringify(window.__whep)");
                    fixture.Check(await viewer.EvaluateAsync<int>("() => window.__whep.framesDecoded") > 30, $"the show did not play over WHEP: {whep}");
                    output.WriteLine($"the show over WHEP: {whep}");
                    Assert.Equal(200, await viewer.EvaluateAsync<int>("() => window.__whepStop()"));
                }
                finally
                {
                    await viewer.CloseAsync();
                }

                Assert.Equal(200, await blue.EvaluateAsync<int>("() => window.__whipStop()"));
                await _program.WaitForPictureAsync(channel.Slug, "the remaining participant full frame again", [(160, 180, Hue.Red), (480, 180, Hue.Red)]);
                string location = await blue.EvaluateAsync<string>("() => window.__whip.location");
                using var again = await Server.Viewer.DeleteAsync(location);
                Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            }
            finally
            {
                await blue.CloseAsync();
            }

            Assert.Equal(200, await red.EvaluateAsync<int>("() => window.__whipStop()"));
            Assert.Contains("left (its publisher ended the WHIP session)", Server.LogTail(400), StringComparison.Ordinal);
        }
        finally
        {
            await red.CloseAsync();
        }
    }

    /// <summary>
    /// A publisher on a network that lets no UDP through reaches the room through TURN alone: given the TURN credentials the
    /// service hands its own publishing pages (TCP to the TURN server, relay-only), its connection settles on a relay
    /// candidate, real coturn allocated with the credentials our server issued, and its picture is in the show. The WHIP
    /// 201 carries the publisher's own TURN credentials as RFC 9725 §4.6 Links (what OBS gathers relay candidates with).
    /// </summary>
    [Fact]
    public async Task A_publisher_that_may_only_relay_through_turn_reaches_the_show()
    {
        var channel = await Server.Api.CreateChannelAsync($"room turn {Guid.NewGuid():N}");
        using var ice = JsonDocument.Parse(await Server.Http.GetStringAsync($"api/rooms/{channel.Slug}/ice-servers"));
        var tcpOnly = ice.RootElement.GetProperty("iceServers").EnumerateArray()
            .Where(s => s.GetProperty("urls").GetString()!.EndsWith("?transport=tcp", StringComparison.Ordinal)).ToList();
        Assert.Single(tcpOnly);
        // The credential expires after Turn:CredentialLifetime (24 h by default): its username starts with that Unix time.
        long expires = long.Parse(tcpOnly[0].GetProperty("username").GetString()!.Split(':')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expires - DateTimeOffset.UtcNow.AddHours(24).ToUnixTimeSeconds(), -300, 5);
        string servers = JsonSerializer.Serialize(tcpOnly);
        await using var browser = await BrowserHost.StartAsync(extraArguments: ["--disable-features=WebRtcHideLocalIpsWithMdns"]);

        var page = await PublishAsync(browser, channel.StreamKey, "red", 440, extra: "&policy=relay&iceServers=" + Uri.EscapeDataString(servers),
            moreLog: () => $"{Environment.NewLine}--- coturn ---{Environment.NewLine}{fixture.Turn.Log.Tail(40)}");
        try
        {
            await page.WaitForFunctionAsync("() => window.__whip.localCandidateType !== null", null, new() { Timeout = (float)Bound.TotalMilliseconds });
            string state = await page.EvaluateAsync<string>("() => JSON.stringify(window.__whip)");
            fixture.Check(await page.EvaluateAsync<string>("() => window.__whip.localCandidateType") == "relay", $"the publisher did not settle on a relay: {state}");
            string links = await page.EvaluateAsync<string>("() => window.__whip.links");
            Assert.Contains($"<{fixture.Turn.Url("udp")}>; rel=\"ice-server\"; username=\"", links, StringComparison.Ordinal);
            Assert.Contains($":whip.{channel.Slug}\"; credential=\"", links, StringComparison.Ordinal);
            Assert.Contains("credential-type=\"password\"", links, StringComparison.Ordinal);
            await _program.WaitForPictureAsync(channel.Slug, "the relayed publisher full frame", [(160, 180, Hue.Red), (480, 180, Hue.Red)]);
            string turnLog = fixture.Turn.Log.Tail(2000);
            Assert.True(turnLog.Contains($":room.{channel.Slug}>", StringComparison.Ordinal) && turnLog.Contains("ALLOCATE processed, success", StringComparison.Ordinal),
                $"coturn did not allocate for the publisher's credentials:{Environment.NewLine}{fixture.Turn.Log.Tail(40)}");
            Assert.Equal(200, await page.EvaluateAsync<int>("() => window.__whipStop()"));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    private async Task<IPage> PublishAsync(BrowserHost browser, string streamKey, string colour, int toneHz, string? codec = null, string extra = "",
        Func<string>? moreLog = null)
    {
        var page = await browser.NewPageAsync();
        string url = browser.Pages.Url("whip.html").ToString() + "?url=" + Uri.EscapeDataString(new Uri(Server.BaseUri, "whip").ToString())
            + "&token=" + Uri.EscapeDataString(streamKey) + "&colour=" + colour + "&tone=" + toneHz + (codec is null ? "" : "&codec=" + codec) + extra;
        await page.GotoAsync(url);
        try
        {
            await page.WaitForFunctionAsync("() => window.__whip.error !== null || (window.__whip.connectionState === 'connected' && window.__whip.framesEncoded > 10)",
                null, new() { Timeout = (float)Bound.TotalMilliseconds });
        }
        catch (TimeoutException)
        {
        }

        string? error = await page.EvaluateAsync<string?>("() => window.__whip.error");
        string state = await page.EvaluateAsync<string>("() => JSON.stringify(window.__whip)");
        fixture.Check(error is null && await page.EvaluateAsync<string>("() => window.__whip.connectionState") == "connected",
            $"the {colour} WHIP publisher did not connect: {state}{moreLog?.Invoke()}");
        output.WriteLine($"{colour}: {state}");
        if (codec is not null)
        {
            // The browser's own stats name the codec it sends once the room answered: the room took this codec.
            await page.WaitForFunctionAsync("() => window.__whip.videoCodec !== null", null, new() { Timeout = (float)Bound.TotalMilliseconds });
            Assert.Equal($"video/{codec}", await page.EvaluateAsync<string>("() => window.__whip.videoCodec"), ignoreCase: true);
        }

        return page;
    }

}
