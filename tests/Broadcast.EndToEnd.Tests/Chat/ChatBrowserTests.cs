using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Chat;

/// <summary>
/// Chat with two anonymous viewers and a moderator in real browsers (Debian's Chromium) against the real server:
/// delivery to the other viewer, markup shown as text, hold-for-review, a ban that silences a viewer, and a
/// recording's page replaying its chat in order at the moments it was shown.
/// </summary>
public sealed class ChatBrowserTests(ChatServerFixture fixture) : IClassFixture<ChatServerFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly LineRingBuffer _console = new(200);
    private ChatBrowsers? _browsers;

    private ServerProcess Server => fixture.Server;

    public async Task InitializeAsync() => _browsers = await ChatBrowsers.StartAsync();

    public async Task DisposeAsync()
    {
        if (_browsers is not null) await _browsers.DisposeAsync();
    }

    [Fact]
    public async Task A_message_reaches_the_other_viewer_as_text_and_runs_no_script()
    {
        var channel = await Server.Api.CreateChannelAsync($"chat {Guid.NewGuid():N}");
        var alice = await OpenViewerAsync(channel.Slug, "alice");
        var bob = await OpenViewerAsync(channel.Slug, "bob");

        const string markup = "<img src=x onerror=\"window.__pwned=1\"><script>window.__pwned=2</script><b>hi</b> see https://example.com";
        await SendAsync(alice, "Alice", markup);
        await WaitInPageAsync(bob, "bob to receive alice's message",
            "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", markup);

        // Shown as the characters typed: no element made from it, no script run, the link not clickable (default).
        foreach (var page in new[] { alice, bob })
        {
            Assert.Equal(0, await page.Locator("#chat-messages img, #chat-messages script, #chat-messages b, #chat-messages a").CountAsync());
            Assert.True(await page.EvaluateAsync<bool>("() => window.__pwned === undefined"), Describe("a chat message ran script"));
        }

        Assert.Equal("Alice", await bob.Locator("#chat-messages .chat-name").Last.TextContentAsync());
        await ScreenshotAsync(bob, "watch-chat.png");

        // A burst: the server sends events that follow one another within Chat:DeliveryBatchMilliseconds together as one
        // 'batch' (when the machine keeps up, the second and third here); the page shows each, in the order sent.
        await bob.EvaluateAsync("() => Promise.all(['burst 1', 'burst 2', 'burst 3'].map(t => window.__chat.connection.invoke('Send', 'Bob', t)))");
        await WaitInPageAsync(alice, "alice to receive bob's burst in order",
            "() => [...document.querySelectorAll('#chat-messages .chat-text')].map(e => e.textContent).filter(t => t.startsWith('burst ')).join('|') === 'burst 1|burst 2|burst 3'");

        // The display name and the viewer id are remembered by the browser.
        var viewerId = await alice.EvaluateAsync<string>("() => localStorage.getItem('broadcast.chat.viewer')");
        await alice.ReloadAsync();
        await WaitReadyAsync(alice, "alice after reload");
        Assert.Equal("Alice", await alice.InputValueAsync("#chat-name"));
        Assert.Equal(viewerId, await alice.EvaluateAsync<string>("() => window.__chat.joined.viewerId"));

        // A channel that allows links: an http(s) URL becomes a link that opens apart from the page; nothing else does.
        using (var put = await Server.Http.PutAsJsonAsync($"api/channels/{channel.Id}/chat", new { links = "clickable" }))
        {
            Assert.True(put.IsSuccessStatusCode, Describe($"PUT chat answered {(int)put.StatusCode}"));
        }

        await WaitInPageAsync(bob, "bob to see clickable links", "() => window.__chat.settings.links === 'clickable'");
        const string linked = "slides at https://example.com/deck?x=1 and javascript:window.__pwned=3";
        await SendAsync(alice, "Alice", linked);
        await WaitInPageAsync(bob, "bob to receive the linked message",
            "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", linked);
        var anchor = bob.Locator("#chat-messages li", new() { HasText = "slides at" }).Locator("a");
        Assert.Equal(1, await anchor.CountAsync());
        Assert.Equal("https://example.com/deck?x=1", await anchor.GetAttributeAsync("href"));
        Assert.Equal("nofollow noopener noreferrer ugc", await anchor.GetAttributeAsync("rel"));
        Assert.Equal("_blank", await anchor.GetAttributeAsync("target"));

        // A bad setting is refused naming the field, and changes nothing.
        using (var bad = await Server.Http.PutAsJsonAsync($"api/channels/{channel.Id}/chat", new { links = "sometimes", slowModeSeconds = -3 }))
        {
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
            var problem = await bad.Content.ReadAsStringAsync();
            Assert.Contains("\"links\"", problem, StringComparison.Ordinal);
            Assert.Contains("\"slowModeSeconds\"", problem, StringComparison.Ordinal);
        }

        Assert.Contains("\"links\":\"clickable\"", await Server.Http.GetStringAsync($"api/channels/{channel.Id}/chat"), StringComparison.Ordinal);

        // A malformed message gets a clear error and is not sent.
        await SendAsync(alice, "Alice", new string('x', 501));
        await WaitInPageAsync(alice, "the too-long error", "() => document.getElementById('chat-error').textContent.includes('at most 500')");
    }

    [Fact]
    public async Task Hold_for_review_shows_a_message_only_after_approval_and_a_banned_viewer_reaches_nobody()
    {
        var channel = await Server.Api.CreateChannelAsync($"moderated {Guid.NewGuid():N}");
        var alice = await OpenViewerAsync(channel.Slug, "alice");
        var bob = await OpenViewerAsync(channel.Slug, "bob");
        var moderator = await _browsers!.NewModeratorAsync(Server, _console);
        await moderator.GotoAsync(new Uri(Server.BaseUri, $"dashboard/channels/{channel.Id}").ToString());
        await WaitReadyAsync(moderator, "the moderator's chat");
        Assert.True(await moderator.EvaluateAsync<bool>("() => window.__chat.joined.moderator"), Describe("the dashboard did not join as moderator"));

        // Hold for review, set from the dashboard; viewers are told.
        await moderator.SelectOptionAsync("#chat-mode", "hold");
        await moderator.ClickAsync("#chat-save-settings");
        await WaitInPageAsync(bob, "bob to see hold mode", "() => window.__chat.settings.mode === 'hold'");

        await SendAsync(alice, "Alice", "first, waiting for review");
        await WaitInPageAsync(alice, "alice to be told it waits", "() => document.getElementById('chat-error').textContent.includes('waits for a moderator')");
        var held = moderator.Locator("#chat-held li", new() { HasText = "first, waiting for review" });
        await held.WaitForAsync();
        // The moderator had it as held: viewers were never sent it, and the moderator's own list does not show it yet.
        Assert.False(await HasMessageAsync(bob, "first, waiting for review"), Describe("bob saw a held message"));
        Assert.False(await HasMessageAsync(alice, "first, waiting for review"), Describe("alice saw her held message as shown"));
        Assert.False(await HasMessageAsync(moderator, "first, waiting for review"), Describe("a held message was shown"));

        await ScreenshotAsync(moderator, "dashboard-chat-held.png");
        await held.Locator("button.chat-approve").ClickAsync();
        await WaitInPageAsync(bob, "bob to receive the approved message",
            "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", "first, waiting for review");
        await WaitInPageAsync(moderator, "the held list to empty", "() => document.querySelectorAll('#chat-held li').length === 0");

        // The moderator's session cookie alone cannot change the settings through the API (a forged cross-site request
        // would carry it): without the antiforgery header it is refused and nothing changes.
        var forged = await moderator.EvaluateAsync<int>(@"async (id) => (await fetch(`/api/channels/${id}/chat`, {
            method: 'PUT', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ mode: 'off' }) })).status",
            channel.Id);
        Assert.Equal(400, forged);
        Assert.Contains("\"mode\":\"hold\"", await Server.Http.GetStringAsync($"api/channels/{channel.Id}/chat"), StringComparison.Ordinal);

        // Back to open; alice misbehaves and is banned (by viewer id: every browser here shares 127.0.0.1).
        await moderator.SelectOptionAsync("#chat-mode", "open");
        await moderator.ClickAsync("#chat-save-settings");
        await WaitInPageAsync(alice, "alice to see open mode", "() => window.__chat.settings.mode === 'open'");
        await SendAsync(alice, "Alice", "buy followers now");
        var offending = moderator.Locator("#chat-messages li", new() { HasText = "buy followers now" });
        await offending.WaitForAsync();
        await moderator.FillAsync("#chat-ban-reason", "spam");
        await moderator.UncheckAsync("#chat-ban-address");
        await offending.Locator("button.chat-ban").ClickAsync();
        await moderator.Locator("#chat-bans li", new() { HasText = "spam" }).WaitForAsync();
        Assert.Contains("Alice", await moderator.Locator("#chat-bans li").First.TextContentAsync() ?? "", StringComparison.Ordinal);
        // The banned message is removed for everyone.
        await WaitInPageAsync(bob, "the banned message to disappear for bob",
            "(t) => ![...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", "buy followers now");

        await SendAsync(alice, "Alice", "am I still here?");
        await WaitInPageAsync(alice, "alice to be told she is banned", "() => document.getElementById('chat-error').textContent.includes('banned')");
        // A later message from bob reaches everyone; alice's, sent before it, reached nobody.
        await SendAsync(bob, "Bob", "bob after the ban");
        foreach (var (page, who) in new[] { (moderator, "moderator"), (bob, "bob"), (alice, "alice") })
        {
            await WaitInPageAsync(page, $"{who} to receive bob's message",
                "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", "bob after the ban");
            Assert.False(await HasMessageAsync(page, "am I still here?"), Describe($"{who} received a banned viewer's message"));
        }

        // The ban list through the API names the reason; lifting it lets alice talk again.
        using var bans = JsonDocument.Parse(await Server.Http.GetStringAsync($"api/channels/{channel.Id}/chat/bans"));
        var ban = Assert.Single(bans.RootElement.EnumerateArray());
        Assert.Equal("spam", ban.GetProperty("reason").GetString());
        await moderator.Locator("#chat-bans li button.chat-unban").ClickAsync();
        await WaitInPageAsync(moderator, "the ban list to empty", "() => document.querySelectorAll('#chat-bans li').length === 0");
        await WaitFor.ConditionAsync(async () =>
        {
            await SendAsync(alice, "Alice", "back again");
            return await HasMessageAsync(bob, "back again");
        }, Bound, "alice to be heard after the ban is lifted", () => Describe("unban"), TimeSpan.FromSeconds(2.5));
    }

    [Fact]
    public async Task A_recording_replays_its_chat_in_order_at_the_moments_it_was_shown()
    {
        var clip = await TestMedia.GetClipAsync(new ClipSpec { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 });
        var channel = await Server.Api.CreateChannelAsync($"replay {Guid.NewGuid():N}");
        string[] lines = ["one: kick-off", "two: what a save", "three: half time"];
        // The clip twice (32 s in real time): the messages are all posted well before the broadcast ends.
        await using (var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 1))
        {
            await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, TimeSpan.FromSeconds(60),
                "the channel to go live", () => fixture.WithLog(publisher.Log.Tail(15)));
            // Opened once live, and used once it plays: the watch page reloads itself when the channel's state changes
            // and when the player gives up early (the first playlist not there yet), so wait across reloads first.
            var alice = await _browsers!.NewPersonAsync(_console, "alice");
            await alice.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}").ToString());
            await WaitAcrossReloadsAsync(alice, "alice's live page to play with its chat joined",
                "() => document.getElementById('watch').dataset.mode === 'live' && !!window.__watch && window.__watch.video.currentTime > 0 && !!window.__chat && window.__chat.ready === true");
            // Three messages about three seconds apart (by the server's clock, which stamps them), while the broadcast runs.
            long previous = 0;
            foreach (var line in lines)
            {
                if (previous > 0)
                {
                    await alice.WaitForFunctionAsync("(t) => Date.now() >= t", previous + 3000, new() { Timeout = 10_000 });
                }

                await SendAsync(alice, "Alice", line);
                await WaitInPageAsync(alice, $"'{line}' to be shown",
                    "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", line);
                previous = await alice.EvaluateAsync<long>("(t) => window.__chat.received.find(m => m.text === t).at", line);
            }
        }

        RecordingInfo? recording = null;
        await WaitFor.ConditionAsync(async () => (recording = (await Server.Api.ListRecordingsAsync(channel.Id)).FirstOrDefault()) is not null,
            TimeSpan.FromSeconds(90), "the recording to be finalised", () => fixture.WithLog(""));

        var viewer = await _browsers!.NewPersonAsync(_console, "replay");
        await viewer.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}?recording={recording!.Id}").ToString());
        await WaitInPageAsync(viewer, "the replay to show all three messages", "(n) => window.__chat && window.__chat.shown.length === n", lines.Length,
            TimeSpan.FromSeconds(60));
        var shown = JsonDocument.Parse(await viewer.EvaluateAsync<string>("() => JSON.stringify(window.__chat.shown)")).RootElement.EnumerateArray().ToList();
        var texts = await viewer.Locator("#chat-messages .chat-text").AllTextContentsAsync();
        Assert.Equal(lines, texts);
        var replay = JsonDocument.Parse(await viewer.EvaluateAsync<string>("() => JSON.stringify(window.__chat.replay)")).RootElement;
        var start = replay.GetProperty("start").GetInt64();
        for (var i = 0; i < shown.Count; i++)
        {
            var at = shown[i].GetProperty("at").GetInt64();
            var playingAt = shown[i].GetProperty("playingAt").GetDouble();
            Assert.Equal("program-date-time", shown[i].GetProperty("clock").GetString());
            // Each appeared when the recording's program date-time reached the moment it was shown live (the page looks
            // every 100 ms; a second of slack for a busy machine), and not before.
            Assert.True(playingAt >= at && playingAt - at < 1000,
                Describe($"message {i} ('{lines[i]}', shown live at {at}, {at - start} ms into the broadcast) appeared at program time {playingAt}"));
        }

        Assert.True(shown[1].GetProperty("at").GetInt64() - shown[0].GetProperty("at").GetInt64() >= 2900, Describe("messages were not spaced"));
    }

    /// <summary>
    /// A viewer who joined while the channel was public reads no longer once it turns private: its connection is closed
    /// within a second or so, and rejoining without a token is refused like an unknown channel.
    /// </summary>
    [Fact]
    public async Task A_viewer_of_a_public_chat_is_closed_when_the_channel_turns_private()
    {
        var channel = await Server.Api.CreateChannelAsync($"turns private {Guid.NewGuid():N}");
        var viewer = await OpenViewerAsync(channel.Slug, "early viewer");
        var turned = System.Diagnostics.Stopwatch.StartNew();
        using (var patch = await Server.Http.PatchAsync($"api/channels/{channel.Id}", System.Net.Http.Json.JsonContent.Create(new { privatePlayback = true })))
            Assert.True(patch.IsSuccessStatusCode, $"PATCH privatePlayback: {(int)patch.StatusCode}");
        await WaitFor.ConditionAsync(() => Task.FromResult(Server.LogTail(2000).Contains("closed: the channel turned private", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the early viewer's chat connection to be closed", () => fixture.WithLog(""));
        Assert.True(turned.Elapsed < TimeSpan.FromSeconds(30), $"closed {turned.ElapsedMilliseconds} ms after the channel turned private");
        // The page reconnects and asks to join again, without a token: refused, as for a channel that does not exist; or its
        // state poll has already turned it into the private channel's page, which has no chat at all.
        await WaitInPageAsync(viewer, "the rejoin to be refused or the page to turn private",
            "() => !document.getElementById('chat') || (document.getElementById('chat-state')?.textContent || '').includes('There is no such channel')",
            null, TimeSpan.FromSeconds(60));
        Assert.False(await viewer.EvaluateAsync<bool>("() => !!window.__chat && window.__chat.ready === true"));
    }

    [Fact]
    public async Task A_private_channels_chat_needs_its_viewing_token()
    {
        using var create = await Server.Http.PostAsJsonAsync("api/channels", new { name = $"private chat {Guid.NewGuid():N}", privatePlayback = true });
        using var created = JsonDocument.Parse(await create.Content.ReadAsStringAsync());
        var id = created.RootElement.GetProperty("id").GetString()!;
        var slug = created.RootElement.GetProperty("slug").GetString()!;
        using var mint = await Server.Http.PostAsJsonAsync($"api/channels/{id}/playback-tokens", new { expiresInSeconds = 900 });
        using var minted = JsonDocument.Parse(await mint.Content.ReadAsStringAsync());
        var token = minted.RootElement.GetProperty("token").GetString()!;

        // The page without a token has no chat at all.
        var stranger = await _browsers!.NewPersonAsync(_console, "stranger");
        await stranger.GotoAsync(new Uri(Server.BaseUri, $"watch/{slug}").ToString());
        Assert.Equal(0, await stranger.Locator("#chat").CountAsync());

        // Straight to the hub (from a public channel's page, which loads the SignalR client): refused like an unknown
        // channel, with a wrong token too; nothing of the channel's messages comes back.
        var insider = await OpenViewerAsync(slug + "?token=" + Uri.EscapeDataString(token), "insider");
        await SendAsync(insider, "Insider", "secret plans");
        var publicChannel = await Server.Api.CreateChannelAsync($"public {Guid.NewGuid():N}");
        await stranger.GotoAsync(new Uri(Server.BaseUri, $"watch/{publicChannel.Slug}").ToString());
        await WaitReadyAsync(stranger, "the stranger's public chat");
        foreach (var presented in new[] { (string?)null, "bpt2.forged", token[..^2] + (token[^2..] == "AA" ? "BB" : "AA") })
        {
            var outcome = await stranger.EvaluateAsync<string>(@"async ([slug, token]) => {
                const c = new signalR.HubConnectionBuilder().withUrl('/chat/hub').build();
                await c.start();
                try { const j = await c.invoke('Join', slug, null, token); return 'joined ' + JSON.stringify(j.messages); }
                catch (e) { return 'refused ' + e.message; }
                finally { await c.stop(); }
            }", new[] { slug, presented });
            Assert.StartsWith("refused", outcome, StringComparison.Ordinal);
            Assert.Contains("There is no such channel.", outcome, StringComparison.Ordinal);
            Assert.DoesNotContain("secret plans", outcome, StringComparison.Ordinal);
        }

        var joined = await stranger.EvaluateAsync<string>(@"async ([slug, token]) => {
            const c = new signalR.HubConnectionBuilder().withUrl('/chat/hub').build();
            await c.start();
            try { const j = await c.invoke('Join', slug, null, token); return JSON.stringify(j.messages.map(m => m.text)); }
            finally { await c.stop(); }
        }", new[] { slug, token });
        Assert.Equal("[\"secret plans\"]", joined);
    }

    [Fact]
    public async Task Reactions_float_over_the_video_for_every_viewer_summed_by_the_server()
    {
        var channel = await Server.Api.CreateChannelAsync($"reactions {Guid.NewGuid():N}");
        var alice = await OpenViewerAsync(channel.Slug, "alice");
        var bob = await OpenViewerAsync(channel.Slug, "bob");
        // Alice sends a burst of 200 hearts; bob counts the hearts and the "reactions" messages that carried them.
        await alice.EvaluateAsync("() => { const b = [...document.querySelectorAll('#chat-reactions button')].find(x => x.textContent === '❤️'); for (let i = 0; i < 200; i++) b.click(); }");
        // The server takes at most Chat:ReactionsPerSecond × 2 from one connection at once (20 by default) and sums them.
        await WaitInPageAsync(bob, "bob to receive alice's hearts", "() => (window.__chat.reactions['❤️'] || 0) >= 10");
        // Both pages show the same count once the burst's last flush reached both (read one after the other, a flush can
        // fall between the two reads: a CI run read bob's 20 and then alice's 21): the same, and unchanged for a second.
        int hearts = -1, aliceHearts = -2;
        var settledSince = DateTimeOffset.UtcNow;
        await WaitFor.ConditionAsync(async () =>
        {
            int b = await bob.EvaluateAsync<int>("() => window.__chat.reactions['❤️'] || 0");
            int a = await alice.EvaluateAsync<int>("() => window.__chat.reactions['❤️'] || 0");
            if (a != aliceHearts || b != hearts) (hearts, aliceHearts, settledSince) = (b, a, DateTimeOffset.UtcNow);
            return a == b && DateTimeOffset.UtcNow - settledSince >= TimeSpan.FromSeconds(1);
        }, TimeSpan.FromSeconds(20), "alice's and bob's pages to show the same count of hearts, settled",
            () => $"bob {hearts}, alice {aliceHearts}", TimeSpan.FromMilliseconds(200));
        // 20 at once, plus what the bucket refills (10/s) while the server works through the burst on a busy machine.
        Assert.InRange(hearts, 10, 60);
        // Summed: a handful of "reactions" messages (one per 250 ms flush while the burst lasts), not one per heart.
        Assert.InRange(await bob.EvaluateAsync<int>("() => window.__chat.reactionMessages"), 1, 10);
    }

    [Fact]
    public async Task Questions_are_upvoted_by_viewers_and_marked_answering_by_the_host()
    {
        var channel = await Server.Api.CreateChannelAsync($"qa {Guid.NewGuid():N}");
        var alice = await OpenViewerAsync(channel.Slug, "alice");
        var bob = await OpenViewerAsync(channel.Slug, "bob");
        var host = await _browsers!.NewModeratorAsync(Server, _console);
        await host.GotoAsync(new Uri(Server.BaseUri, $"dashboard/channels/{channel.Id}").ToString());
        await WaitReadyAsync(host, "the host's chat");

        await alice.FillAsync("#chat-name", "Alice");
        await alice.FillAsync("#chat-text", "Will the slides be shared?");
        await alice.ClickAsync("#chat-ask");
        await alice.FillAsync("#chat-text", "Is there a break?");
        await alice.ClickAsync("#chat-ask");
        var slides = bob.Locator("#chat-questions li", new() { HasText = "Will the slides be shared?" });
        await slides.WaitForAsync();
        await bob.Locator("#chat-questions li", new() { HasText = "Is there a break?" }).WaitForAsync();

        // Bob upvotes the second question: it moves to the top for everyone, with one vote.
        await bob.Locator("#chat-questions li", new() { HasText = "Is there a break?" }).Locator("button.q-upvote").ClickAsync();
        foreach (var (page, who) in new[] { (alice, "alice"), (bob, "bob"), (host, "host") })
        {
            await WaitInPageAsync(page, $"{who} to see the upvoted question first with 1 vote",
                "() => { const li = document.querySelector('#chat-questions li'); return !!li && li.querySelector('.chat-text').textContent === 'Is there a break?' && li.querySelector('.q-votes').textContent === '1'; }");
        }

        // The host answers the other one: it goes first, marked for every viewer; the chat itself is not touched.
        await host.Locator("#chat-questions li", new() { HasText = "Will the slides be shared?" }).Locator("button.q-answer").ClickAsync();
        foreach (var (page, who) in new[] { (alice, "alice"), (bob, "bob") })
        {
            await WaitInPageAsync(page, $"{who} to see the question being answered",
                "() => { const li = document.querySelector('#chat-questions li'); return !!li && li.classList.contains('q-answering') && li.querySelector('.chat-text').textContent === 'Will the slides be shared?'; }");
            Assert.Equal(0, await page.Locator("#chat-questions button.q-answer").CountAsync());
        }

        await ScreenshotAsync(host, "dashboard-chat-questions.png");
        await ScreenshotAsync(bob, "watch-chat-questions.png");

        // A viewer joining later gets the same order and state.
        var carol = await OpenViewerAsync(channel.Slug, "carol");
        Assert.Equal(["Will the slides be shared?", "Is there a break?"], await carol.Locator("#chat-questions li .chat-text").AllTextContentsAsync());
        Assert.Contains("q-answering", await carol.Locator("#chat-questions li").First.GetAttributeAsync("class") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_moderator_account_made_on_the_accounts_page_approves_held_messages_from_the_watch_page()
    {
        var channel = await Server.Api.CreateChannelAsync($"mod account {Guid.NewGuid():N}");
        string name = $"mod-{Guid.NewGuid():N}"[..12];
        const string password = "moderator-password-1";

        // An admin makes the account in the dashboard.
        var admin = await _browsers!.NewModeratorAsync(Server, _console);
        await admin.GotoAsync(new Uri(Server.BaseUri, "dashboard/accounts").ToString());
        await admin.FillAsync("#Input_Name", name);
        await admin.FillAsync("#Input_Password", password);
        await admin.SelectOptionAsync("#Input_Role", "moderator");
        await admin.ClickAsync("#create-account button[type=submit]");
        await admin.Locator($"#accounts tr[data-account='{name}']", new() { HasText = "moderator" }).WaitForAsync();

        // The moderator signs in through the same form and lands on the moderation page, not the admin's.
        var moderator = await _browsers.NewPersonAsync(_console, "moderator account");
        await moderator.GotoAsync(new Uri(Server.BaseUri, "dashboard").ToString());
        await moderator.FillAsync("#UserName", name);
        await moderator.FillAsync("#Password", password);
        await moderator.ClickAsync("#signin");
        await PageNavigation.WaitForUrlAsync(moderator, url => new Uri(url).AbsolutePath == "/dashboard/moderate", "the moderation page after signing in");
        Assert.Equal(0, await moderator.Locator("nav a[href='/dashboard/events']").CountAsync());
        await moderator.Locator($"#moderate-channels tr[data-channel-slug='{channel.Slug}'] a").ClickAsync();
        await WaitReadyAsync(moderator, "the moderator account's chat");
        Assert.True(await moderator.EvaluateAsync<bool>("() => window.__chat.joined.moderator"), Describe("the watch page did not join as moderator"));

        // It holds the chat for review and approves a viewer's message.
        var viewer = await OpenViewerAsync(channel.Slug, "carol");
        await moderator.SelectOptionAsync("#chat-mode", "hold");
        await moderator.ClickAsync("#chat-save-settings");
        await WaitInPageAsync(viewer, "carol to see hold mode", "() => window.__chat.settings.mode === 'hold'");
        await SendAsync(viewer, "Carol", "held until a moderator says yes");
        var held = moderator.Locator("#chat-held li", new() { HasText = "held until a moderator says yes" });
        await held.WaitForAsync();
        await held.Locator("button.chat-approve").ClickAsync();
        await WaitInPageAsync(viewer, "carol's approved message to show",
            "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", "held until a moderator says yes");

        // The admin API stays closed to it, cookie and all.
        var status = await moderator.EvaluateAsync<int>("async () => (await fetch('/api/channels', { credentials: 'same-origin' })).status");
        Assert.Equal(403, status);
    }

    private async Task<IPage> OpenViewerAsync(string slug, string who)
    {
        var page = await _browsers!.NewPersonAsync(_console, who);
        await page.GotoAsync(new Uri(Server.BaseUri, $"watch/{slug}").ToString());
        await WaitReadyAsync(page, who);
        return page;
    }

    private Task WaitReadyAsync(IPage page, string who)
        => WaitInPageAsync(page, $"{who}'s chat to join", "() => !!window.__chat && window.__chat.ready === true");

    private static async Task SendAsync(IPage page, string name, string text)
    {
        await page.FillAsync("#chat-name", name);
        await page.FillAsync("#chat-text", text);
        await page.ClickAsync("#chat-send");
    }

    private static Task<bool> HasMessageAsync(IPage page, string text)
        => page.EvaluateAsync<bool>("(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", text);

    private async Task WaitInPageAsync(IPage page, string what, string predicate, object? arg = null, TimeSpan? timeout = null)
    {
        try
        {
            await page.WaitForFunctionAsync(predicate, arg, new() { Timeout = (float)(timeout ?? Bound).TotalMilliseconds, PollingInterval = 100 });
        }
        catch (TimeoutException)
        {
            Assert.Fail(Describe($"timed out waiting for {what} (url {page.Url})"));
        }
    }

    private static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(Dashboard.DashboardSession.ArtifactsDirectory);
        await page.ScreenshotAsync(new() { Path = Path.Combine(Dashboard.DashboardSession.ArtifactsDirectory, name), FullPage = true });
    }

    private async Task WaitAcrossReloadsAsync(IPage page, string what, string predicate)
        => await WaitFor.ConditionAsync(
            async () =>
            {
                try
                {
                    return await page.EvaluateAsync<bool>(predicate);
                }
                catch (PlaywrightException)
                {
                    return false; // navigating: the next look sees the new page
                }
            },
            TimeSpan.FromSeconds(60), what, () => Describe($"url: {page.Url}"), TimeSpan.FromMilliseconds(200));

    private string Describe(string what)
        => fixture.WithLog($"{what}{Environment.NewLine}--- browsers ---{Environment.NewLine}{_console.Tail(60)}");
}
