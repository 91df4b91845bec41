using System.Net;
using System.Net.Http.Json;
using Broadcast.EndToEnd.Tests.Dashboard;
using Broadcast.EndToEnd.Tests.Programs;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.WebRtc;

/// <summary>
/// The live room with two people, end to end on the shared server: two headless Chromium instances with fake cameras
/// (each a solid-colour clip, so each person is recognisable: the host red, the guest blue) on loopback ICE. The host
/// joins from the studio page; a guest comes by the host's invite link, waits in the green room, and is admitted; each
/// receives the other's video; the channel's HLS shows both side by side; a screen the host shares takes the large
/// place; everybody, the share included, comes back after Janus crashes; a screen the guest shares takes the large place
/// too, and leaves with the guest: the show is one person again once the host removes the guest. Both pages are handed
/// TURN credentials of their own, which the real TURN server (coturn) takes (each offer carries relay candidates). Then a viewer presses "Request to join" on the watch page, is admitted and appears in the show.
/// Nobody publishes without a host's admission, and a banned guest cannot ask again.
/// </summary>
[Collection(RealTimeServerCollection.Name)]
public sealed class RoomStudioTests(ServerFixture fixture, ITestOutputHelper output)
{
    private const int CanvasWidth = 640, CanvasHeight = 360;
    private const float Patience = 60_000;

    private readonly ProgramOutput _program = new(fixture, CanvasWidth, CanvasHeight);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Host_and_invited_guest_see_each_other_and_share_the_show_and_a_viewer_who_asks_is_admitted_into_it()
    {
        var channel = await Server.Api.CreateChannelAsync($"studio {Guid.NewGuid():N}");
        using var clips = new TempDirectory("room-cameras");
        await using var hostBrowser = await CameraBrowserAsync(clips, "red");
        await using var guestBrowser = await CameraBrowserAsync(clips, "blue");

        // The host joins from the studio: the show is the host alone.
        await using var session = await SignInAsync(hostBrowser);
        var studio = session.Page;
        await session.GotoAsync($"/dashboard/channels/{channel.Id}");
        await studio.ClickAsync("#studio-link");
        await studio.WaitForFunctionAsync("() => document.getElementById('studio-preview').videoWidth > 0", null, new() { Timeout = Patience });
        await studio.ClickAsync("#studio-join");
        await WaitAsync(studio, "window.__studio.participantId !== null || window.__studio.error !== null", "the host in the room", session);
        fixture.Check(await studio.EvaluateAsync<string?>("() => window.__studio.error") is null, session.Describe("the host could not join"));
        // A relay candidate in the host's offer: coturn allocated with the credentials our server issued for this studio.
        fixture.Check(await studio.EvaluateAsync<int>("() => window.__studio.candidates.relay") > 0,
            session.Describe($"the host's offer has no relay candidate: {await studio.EvaluateAsync<string>("() => JSON.stringify(window.__studio.candidates)")}; coturn: {fixture.Turn.Log.Tail(20)}"));
        await _program.WaitForPictureAsync(channel.Slug, "the host alone", [(160, 180, Hue.Red), (480, 180, Hue.Red)]);

        // A guest by invite: green room, admitted, each sees the other, both in the show.
        await studio.ClickAsync("#studio-invite");
        await WaitAsync(studio, "window.__studio.inviteUrl !== null", "the invite link", session);
        string invite = await studio.EvaluateAsync<string>("() => window.__studio.inviteUrl");
        var guest = await guestBrowser.NewPageAsync();
        await guest.GotoAsync(invite);
        await AskToJoinAsync(guest, "Guest Blue", session);
        await AdmitAsync(studio, session);
        await WaitAsync(guest, "window.__guest.state === 'joined' && Object.values(window.__guest.remote).some(r => r.framesDecoded > 10)", "the guest seeing the host", session);
        await WaitAsync(studio, "Object.values(window.__studio.remote).some(r => r.framesDecoded > 10)", "the host seeing the guest", session);
        fixture.Check(await guest.EvaluateAsync<int>("() => window.__guest.candidates.relay") > 0,
            session.Describe($"the admitted guest's offer has no relay candidate: {await guest.EvaluateAsync<string>("() => JSON.stringify(window.__guest.candidates)")}"));
        double joinMs = await guest.EvaluateAsync<double>("() => window.__guest.firstRemoteFrameMs - window.__guest.admittedAtMs");
        output.WriteLine($"admit to the guest's first remote frame: {joinMs:0} ms; host sees {await studio.EvaluateAsync<string>("() => JSON.stringify(window.__studio.remote)")}");
        await _program.WaitForPictureAsync(channel.Slug, "host and guest side by side", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);

        // The host shares a screen (Chromium's fake one: green, 1280x720): the share takes the large place, fitted whole
        // (480x270 in the left three quarters), and the cameras, host then guest, stack in the column beside it.
        (int X, int Y, Hue Hue)[] screenLayout = [(120, 240, Hue.Green), (120, 20, Hue.Black), (560, 60, Hue.Red), (560, 180, Hue.Blue)];
        // (An error the page met before, a subscription refused while Janus restarted say, is not this share's.)
        await studio.EvaluateAsync("() => { window.__studio.error = null; }");
        await studio.ClickAsync("#studio-share");
        await WaitAsync(studio, "window.__studio.screenId || window.__studio.error !== null", "the host's screen in the room", session);
        fixture.Check(await studio.EvaluateAsync<string?>("() => window.__studio.error") is null, session.Describe("the screen could not be shared"));
        await _program.WaitForPictureAsync(channel.Slug, "the screen large and the cameras in a column beside it", screenLayout);

        // Janus dies: it is restarted, the pages rejoin by themselves with their tokens (the host's camera and screen, the
        // guest), see each other again, and the show (which held its places meanwhile) is as it was.
        KillJanus();
        await WaitAsync(guest, "window.__guest.rejoined >= 1 && Object.values(window.__guest.remote).some(r => r.framesDecoded > 10)",
            "the guest back in the room after Janus restarted, seeing the host", session);
        await WaitAsync(studio, "window.__studio.rejoined >= 1 && window.__studio.screenRejoined >= 1 && Object.values(window.__studio.remote).some(r => r.framesDecoded > 10)",
            "the host's camera and screen back in the room after Janus restarted, seeing the guest", session);
        Assert.Contains("Janus restarts", Server.LogTail(2000), StringComparison.Ordinal);
        await _program.WaitForPictureAsync(channel.Slug, "the screen and both cameras after Janus restarted", screenLayout);

        // Stopping the share gives the room its side by side back.
        await studio.ClickAsync("#studio-share");
        await WaitAsync(studio, "!window.__studio.screenId", "the screen share stopped", session);
        await _program.WaitForPictureAsync(channel.Slug, "host and guest side by side after the share", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);

        // The host puts the guest full frame, then gives the room its own layout back.
        string guestId = await guest.EvaluateAsync<string>("() => window.__guest.participantId");
        await studio.ClickAsync($"#studio-participants li[data-participant='{guestId}'] .studio-solo");
        await _program.WaitForPictureAsync(channel.Slug, "the guest full frame by the host's choice", [(160, 180, Hue.Blue), (480, 180, Hue.Blue)]);
        await studio.ClickAsync("#studio-layouts button[data-layout=auto]");
        await _program.WaitForPictureAsync(channel.Slug, "the room's own layout again", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);

        // The invite was used: it does not let anybody else knock.
        using (var reused = await Server.Viewer.PostAsJsonAsync($"room/{channel.Slug}/knocks", new { name = "Someone", invite = new Uri(invite).Query.Split('=')[1] }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, reused.StatusCode);
        }

        // The guest shares a screen: it takes the large place as the host's did, the cameras in the column beside it.
        await guest.EvaluateAsync("() => { window.__guest.error = null; }");
        await guest.ClickAsync("#join-share");
        await WaitAsync(guest, "window.__guest.screenId || window.__guest.error !== null", "the guest's screen in the room", session);
        string? shareError = await guest.EvaluateAsync<string?>("() => window.__guest.error");
        fixture.Check(shareError is null, session.Describe($"the guest could not share a screen: {shareError}"));
        await _program.WaitForPictureAsync(channel.Slug, "the guest's screen large and the cameras beside it", screenLayout);
        string guestScreenId = await guest.EvaluateAsync<string>("() => window.__guest.screenId");
        await WaitAsync(studio, $"window.__studio.participants.some(p => p.id === '{guestScreenId}')", "the guest's screen in the host's list", session);

        // The host removes the guest: the guest's share leaves with it, the show is the host alone again, and the guest's page says so.
        await studio.ClickAsync($"#studio-participants li[data-participant='{guestId}'] .studio-remove");
        await WaitAsync(guest, "window.__guest.state === 'removed'", "the guest told it was removed", session);
        await WaitAsync(studio, $"!window.__studio.participants.some(p => p.id === '{guestScreenId}')", "the guest's screen gone with the guest", session);
        await _program.WaitForPictureAsync(channel.Slug, "the host alone after the removal", [(160, 180, Hue.Red), (480, 180, Hue.Red)]);

        // A viewer of the watch page asks to join, is admitted, and appears in the show.
        var viewer = await guestBrowser.NewPageAsync();
        await WaitFor.ConditionAsync(async () =>
        {
            await viewer.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}").ToString());
            return await viewer.IsVisibleAsync("#watch-request-join");
        }, TimeSpan.FromMilliseconds(Patience), "the watch page offering to join", () => session.Describe("watch page"));
        await viewer.ClickAsync("#watch-request-join");
        await AskToJoinAsync(viewer, "Viewer", session);
        await AdmitAsync(studio, session);
        await WaitAsync(viewer, "window.__guest.state === 'joined'", "the viewer in the room", session);
        await _program.WaitForPictureAsync(channel.Slug, "host and the viewer side by side", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);

        // Nobody publishes without a host: no grant, a made-up grant, a made-up invite; the studio's API needs a host.
        using (var noGrant = await RoomRequests.PostOfferAsync(Server, $"room/{channel.Slug}/participants", bearer: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noGrant.StatusCode);
        }

        using (var madeUp = await RoomRequests.PostOfferAsync(Server, $"room/{channel.Slug}/participants", bearer: "made-up-grant"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, madeUp.StatusCode);
        }

        // A screen share needs a participant's own token: none is 401, one that is no participant 403 (its offer unread).
        using (var noToken = await RoomRequests.PostOfferAsync(Server, $"room/{channel.Slug}/participants?screen=1", bearer: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        }

        using (var notParticipant = await RoomRequests.PostOfferAsync(Server, $"room/{channel.Slug}/participants?screen=1", bearer: "not-a-participant"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, notParticipant.StatusCode);
        }

        using (var noHost = await RoomRequests.PostOfferAsync(Server, $"api/rooms/{channel.Slug}/participants", bearer: null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, noHost.StatusCode);
        }

        using (var forged = await Server.Viewer.PostAsJsonAsync($"room/{channel.Slug}/knocks", new { name = "Forger", invite = "not-an-invite" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, forged.StatusCode);
        }

        // A host bans a guest who asks: the guest's address cannot ask again.
        using (var knock = await Server.Viewer.PostAsJsonAsync($"room/{channel.Slug}/knocks", new { name = "Troll" }))
        {
            Assert.Equal(HttpStatusCode.Created, knock.StatusCode);
        }

        await WaitAsync(studio, "window.__studio.knocks.some(k => k.name === 'Troll')", "the troll in the green room", session);
        await studio.ClickAsync("#studio-knocks li .studio-ban");
        await WaitAsync(studio, "!window.__studio.knocks.some(k => k.name === 'Troll')", "the troll refused and banned", session);
        using (var again = await Server.Viewer.PostAsJsonAsync($"room/{channel.Slug}/knocks", new { name = "Troll" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, again.StatusCode);
        }

        await studio.ClickAsync("#studio-leave");
        await WaitAsync(studio, "window.__studio.participantId === null", "the host out of the room", session);
    }

    /// <summary>Kills the shared server's Janus (a child of the server) as a crash would.</summary>
    private void KillJanus()
    {
        var janus = System.Diagnostics.Process.GetProcessesByName("janus")
            .Where(p => File.ReadAllText($"/proc/{p.Id}/stat").Split(") ")[1].Split(' ')[1] == Server.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        fixture.Check(janus.Count == 1, $"expected one Janus child of the server, found {janus.Count}");
        janus[0].Kill();
    }

    /// <summary>A Chromium whose camera shows a solid <paramref name="colour"/> (a y4m clip Chromium loops), ICE host candidates un-hidden.</summary>
    private static async Task<BrowserHost> CameraBrowserAsync(TempDirectory clips, string colour)
    {
        string clip = clips.Combine($"{colour}.y4m");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", $"color=c={colour}:s=640x480:r=15", "-frames:v", "15", "-pix_fmt", "yuv420p", clip);
        return await BrowserHost.StartAsync(extraArguments: ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            $"--use-file-for-fake-video-capture={clip}", "--disable-features=WebRtcHideLocalIpsWithMdns",
            "--disable-background-timer-throttling", "--disable-renderer-backgrounding", "--disable-backgrounding-occluded-windows"]);
    }

    /// <summary>
    /// Signs the host in, once more if the first try times out: the first run on a fresh server once waited past 30 s for
    /// the dashboard's load after the sign-in form (not understood; every later run took a second).
    /// </summary>
    private async Task<DashboardSession> SignInAsync(BrowserHost browser)
    {
        try
        {
            return await DashboardSession.SignInAsync(browser, Server);
        }
        catch (TimeoutException e)
        {
            output.WriteLine($"the first sign-in timed out ({e.Message.Split('\n')[0]}); signing in again");
            return await DashboardSession.SignInAsync(browser, Server);
        }
    }

    private static async Task AskToJoinAsync(IPage page, string name, DashboardSession session)
    {
        await page.WaitForFunctionAsync("() => document.getElementById('join-preview').videoWidth > 0", null, new() { Timeout = Patience });
        await page.FillAsync("#join-name", name);
        await page.ClickAsync("#join-ask");
        await WaitAsync(page, "window.__guest.state === 'waiting' || window.__guest.error !== null", $"{name} in the green room", session);
        Assert.Null(await page.EvaluateAsync<string?>("() => window.__guest.error"));
    }

    private static async Task AdmitAsync(IPage studio, DashboardSession session)
    {
        await WaitAsync(studio, "window.__studio.knocks.length > 0", "a knock in the studio's green room", session);
        await studio.ClickAsync("#studio-knocks li .studio-admit");
    }

    private static async Task WaitAsync(IPage page, string condition, string what, DashboardSession session)
    {
        try
        {
            await page.WaitForFunctionAsync($"() => {condition}", null, new() { Timeout = Patience });
        }
        catch (TimeoutException e)
        {
            string guest = await page.EvaluateAsync<string>("() => JSON.stringify(window.__guest || window.__studio || {})");
            throw new TimeoutException(session.Describe($"{what}; page state {guest}"), e);
        }
    }

}
