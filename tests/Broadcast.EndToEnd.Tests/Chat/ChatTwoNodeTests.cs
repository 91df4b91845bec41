using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Broadcast.ChatLoad;
using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Chat;

/// <summary>
/// Two servers on one real PostgreSQL (as in production, sharing the server secret): viewers of one channel on
/// different nodes see the same chat through LISTEN/NOTIFY, and a moderation change made on one node holds on the other.
/// </summary>
public sealed class ChatTwoNodeTests : IAsyncLifetime
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly LineRingBuffer _console = new(200);
    private PostgresTestCluster? _pg;
    private ServerProcess? _a;
    private ServerProcess? _b;
    private ChatBrowsers? _browsers;

    public async Task InitializeAsync()
    {
        _pg = PostgresTestCluster.StartOwn();
        var connection = _pg.CreateDatabase("chatnodes");
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        string[] shared = ["--Database:Kind=postgres", $"--Database:ConnectionString={connection}", $"--Secrets:Key={secret}", "--Transcode:Enabled=false"];
        _a = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = shared });
        _b = await ServerProcess.StartAsync(new ServerOptions { ExtraArguments = shared });
        _browsers = await ChatBrowsers.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browsers is not null) await _browsers.DisposeAsync();
        if (_b is not null) await _b.DisposeAsync();
        if (_a is not null) await _a.DisposeAsync();
        _pg?.Dispose();
    }

    [Fact]
    public async Task Viewers_on_two_nodes_share_one_chat_and_its_moderation()
    {
        var channel = await _a!.Api.CreateChannelAsync($"two nodes {Guid.NewGuid():N}");
        var alice = await OpenAsync(_a, channel.Slug, "alice");
        var bob = await OpenAsync(_b!, channel.Slug, "bob");

        await SendAsync(alice, "Alice", "hello from node A");
        await WaitTextAsync(bob, "hello from node A", "bob on node B to receive alice's message");
        await SendAsync(bob, "Bob", "hello from node B");
        await WaitTextAsync(alice, "hello from node B", "alice on node A to receive bob's message");

        // Reactions from node B float on node A.
        await bob.EvaluateAsync("() => [...document.querySelectorAll('#chat-reactions button')].find(x => x.textContent === '🎉').click()");
        await WaitAsync(alice, "alice to get bob's reaction", "() => (window.__chat.reactions['🎉'] || 0) >= 1");

        // Hold mode set through node A's API: node B holds bob's next message at once, and a moderator on node A releases it.
        using (var put = await _a.Http.PutAsJsonAsync($"api/channels/{channel.Id}/chat", new { mode = "hold" }))
        {
            Assert.True(put.IsSuccessStatusCode, Describe($"PUT chat answered {(int)put.StatusCode}"));
        }

        await WaitAsync(bob, "bob to see hold mode", "() => window.__chat.settings.mode === 'hold'");
        var moderator = await _browsers!.NewModeratorAsync(_a, _console);
        await moderator.GotoAsync(new Uri(_a.BaseUri, $"dashboard/channels/{channel.Id}").ToString());
        await WaitAsync(moderator, "the moderator's chat", "() => !!window.__chat && window.__chat.ready === true");
        await SendAsync(bob, "Bob", "held on node B");
        await WaitAsync(bob, "bob to be told it waits", "() => document.getElementById('chat-error').textContent.includes('waits for a moderator')");
        var held = moderator.Locator("#chat-held li", new() { HasText = "held on node B" });
        await held.WaitForAsync();
        Assert.False(await HasTextAsync(alice, "held on node B"), Describe("a held message reached a viewer"));
        await held.Locator("button.chat-approve").ClickAsync();
        await WaitTextAsync(alice, "held on node B", "alice on node A to get the approved message");
        await WaitTextAsync(bob, "held on node B", "bob on node B to get his approved message");
    }

    /// <summary>
    /// bench/chat.sh's viewers speak the hub's JSON protocol themselves (bench/chatload's WebSocketViewer): on both nodes
    /// they receive every message, their own included, and count it as the bench does, so its figures are those of
    /// real deliveries. A text that is not the bench's counts as foreign; a channel that does not exist refuses the join.
    /// </summary>
    [Fact]
    public async Task The_chat_bench_viewers_count_every_delivery_on_both_nodes()
    {
        var channel = await _a!.Api.CreateChannelAsync($"bench viewers {Guid.NewGuid():N}");
        Uri[] hubs = [new(_a.BaseUri, "/chat/hub"), new(_b!.BaseUri, "/chat/hub")];
        var deliveries = new Deliveries();
        var viewers = Enumerable.Range(0, 4).Select(i => new WebSocketViewer(hubs[i % 2], i % 2, deliveries)).ToArray();
        try
        {
            foreach (var viewer in viewers) await viewer.JoinAsync(channel.Slug);
            Assert.True(await viewers[0].SendAsync("load0", $"bench {Stopwatch.GetTimestamp()} 0"), Describe("node A refused a bench message"));
            Assert.True(await viewers[1].SendAsync("load1", $"bench {Stopwatch.GetTimestamp()} 1"), Describe("node B refused a bench message"));
            Assert.True(await viewers[2].SendAsync("load2", "not the bench's text"), Describe("node A refused a message"));

            var waited = Stopwatch.StartNew();
            while ((deliveries.Received < 8 || deliveries.Foreign < 4) && waited.Elapsed < Bound) await Task.Delay(50);
            Assert.True(deliveries.Received == 8 && deliveries.Foreign == 4,
                Describe($"the four viewers counted {deliveries.Received} bench deliveries of 8 and {deliveries.Foreign} foreign of 4"));
            Assert.True(deliveries.LocalPercentile(1.0) >= 0 && deliveries.CrossedPercentile(1.0) >= 0,
                Describe("deliveries on the sender's node and across nodes are both counted"));

            await using var stray = new WebSocketViewer(hubs[0], 0, deliveries);
            await Assert.ThrowsAsync<InvalidOperationException>(() => stray.JoinAsync("no-such-channel"));
        }
        finally
        {
            foreach (var viewer in viewers) await viewer.DisposeAsync();
        }
    }

    private async Task<IPage> OpenAsync(ServerProcess server, string slug, string who)
    {
        var page = await _browsers!.NewPersonAsync(_console, who);
        await page.GotoAsync(new Uri(server.BaseUri, $"watch/{slug}").ToString());
        await WaitAsync(page, $"{who}'s chat to join", "() => !!window.__chat && window.__chat.ready === true");
        return page;
    }

    private static async Task SendAsync(IPage page, string name, string text)
    {
        await page.FillAsync("#chat-name", name);
        await page.FillAsync("#chat-text", text);
        await page.ClickAsync("#chat-send");
    }

    private static Task<bool> HasTextAsync(IPage page, string text)
        => page.EvaluateAsync<bool>("(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", text);

    private Task WaitTextAsync(IPage page, string text, string what)
        => WaitAsync(page, what, "(t) => [...document.querySelectorAll('#chat-messages .chat-text')].some(e => e.textContent === t)", text);

    private async Task WaitAsync(IPage page, string what, string predicate, object? arg = null)
    {
        try
        {
            await page.WaitForFunctionAsync(predicate, arg, new() { Timeout = (float)Bound.TotalMilliseconds, PollingInterval = 100 });
        }
        catch (TimeoutException)
        {
            Assert.Fail(Describe($"timed out waiting for {what} (url {page.Url})"));
        }
    }

    private string Describe(string what) =>
        $"{what}{Environment.NewLine}--- browsers ---{Environment.NewLine}{_console.Tail(60)}{Environment.NewLine}--- node A ---{Environment.NewLine}" +
        $"{_a?.LogTail(40)}{Environment.NewLine}--- node B ---{Environment.NewLine}{_b?.LogTail(40)}";
}
