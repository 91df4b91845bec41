using System.Collections.Concurrent;
using System.Text.Json;
using Broadcast.Control.Chat;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Chat;

/// <summary>Two nodes' fan-outs on one real PostgreSQL: what one publishes, the other delivers to its viewers, once.</summary>
[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresChatFanoutTests(PostgresTestCluster cluster)
{
    [Fact]
    public async Task An_event_published_on_one_node_reaches_the_other_nodes_viewers_in_order()
    {
        var connection = cluster.CreateDatabase("chatfanout");
        var deliveredA = new ConcurrentQueue<(string Channel, ChatAudience Audience, string Method, string Json)>();
        var deliveredB = new ConcurrentQueue<(string Channel, ChatAudience Audience, string Method, string Json)>();
        var a = new PostgresChatFanout(connection, (c, au, m, p) => deliveredA.Enqueue((c, au, m, JsonSerializer.Serialize(p, p.GetType(), JsonSerializerOptions.Web))),
            NullLogger<PostgresChatFanout>.Instance);
        var versionsB = new ChatRoomVersions();
        var b = new PostgresChatFanout(connection, (c, au, m, p) => deliveredB.Enqueue((c, au, m, JsonSerializer.Serialize(p, p.GetType(), JsonSerializerOptions.Web))),
            NullLogger<PostgresChatFanout>.Instance, versionsB);
        using var stop = new CancellationTokenSource();
        await a.StartAsync(stop.Token);
        await b.StartAsync(stop.Token);
        try
        {
            await WaitFor.ConditionAsync(() => Task.FromResult(a.Listening && b.Listening), TimeSpan.FromSeconds(20), "both nodes to LISTEN");
            for (var i = 0; i < 50; i++)
            {
                a.Publish("ch1", ChatAudience.Viewers, "message", new ChatMessageView($"id{i}", "tag", "Ada", $"<b>text {i}</b> ✓", 1_000 + i, false));
            }

            a.Publish("ch1", ChatAudience.Moderators, "held", new ChatHeldView("h1", "tag", "Eve", "held", 5));
            await WaitFor.ConditionAsync(() => Task.FromResult(deliveredB.Count == 51), TimeSpan.FromSeconds(20), "node B to deliver 51 events",
                () => $"B has {deliveredB.Count}, dropped {a.Dropped}");

            // A delivered its own 51 locally, once each (its own notifications are skipped).
            Assert.Equal(51, deliveredA.Count);
            var b1 = deliveredB.ToArray();
            Assert.Equal(Enumerable.Range(0, 50).Select(i => $"id{i}"), b1.Take(50).Select(e => JsonDocument.Parse(e.Json).RootElement.GetProperty("id").GetString()));
            Assert.Equal("<b>text 7</b> ✓", JsonDocument.Parse(b1[7].Json).RootElement.GetProperty("text").GetString());
            Assert.Equal(("ch1", ChatAudience.Moderators, "held"), (b1[50].Channel, b1[50].Audience, b1[50].Method));
            Assert.Equal(51, b.Received);
            Assert.Equal(0, a.Received);
            Assert.Equal(0, versionsB.Get("ch1"));

            // A settings change on A makes B read the channel's settings again (its cache is stale from now on).
            a.Publish("ch1", ChatAudience.Viewers, "settings", new ChatSettingsView("hold", 0, "text"));
            await WaitFor.ConditionAsync(() => Task.FromResult(versionsB.Get("ch1") == 1), TimeSpan.FromSeconds(20), "node B to see the settings change");
            Assert.Equal(0, versionsB.Get("ch2"));
        }
        finally
        {
            await stop.CancelAsync();
            await a.StopAsync(CancellationToken.None);
            await b.StopAsync(CancellationToken.None);
            a.Dispose();
            b.Dispose();
        }
    }

    /// <summary>
    /// Events too large for one notification (PostgreSQL refuses 8000 bytes) reach the other node whole: a 4000-character
    /// message outside ASCII, a ban list of 300 entries. Both were dropped without a word before.
    /// </summary>
    [Fact]
    public async Task Events_past_the_notification_limit_reach_the_other_node_whole()
    {
        var connection = cluster.CreateDatabase("chatfanoutlarge");
        var deliveredB = new ConcurrentQueue<(string Method, string Json)>();
        var a = new PostgresChatFanout(connection, (_, _, _, _) => { }, NullLogger<PostgresChatFanout>.Instance);
        var b = new PostgresChatFanout(connection, (c, au, m, p) => deliveredB.Enqueue((m, JsonSerializer.Serialize(p, p.GetType(), JsonSerializerOptions.Web))),
            NullLogger<PostgresChatFanout>.Instance);
        using var stop = new CancellationTokenSource();
        await a.StartAsync(stop.Token);
        await b.StartAsync(stop.Token);
        try
        {
            await WaitFor.ConditionAsync(() => Task.FromResult(a.Listening && b.Listening), TimeSpan.FromSeconds(20), "both nodes to LISTEN");
            string text = string.Concat(Enumerable.Repeat("漢字かな😀", 800));
            a.Publish("ch1", ChatAudience.Viewers, "message", new ChatMessageView("big", "tag", "Ada", text, 1_000, false));
            var bans = Enumerable.Range(0, 300).Select(i => new ChatBanView($"ban{i}", "author", $"viewer {i}", "spam, again and again", "admin",
                1_000 + i, null, false)).ToList();
            a.Publish("ch1", ChatAudience.Moderators, "bans", bans);
            a.Publish("ch1", ChatAudience.Viewers, "message", new ChatMessageView("small", "tag", "Ada", "after", 2_000, false));
            await WaitFor.ConditionAsync(() => Task.FromResult(deliveredB.Count == 3), TimeSpan.FromSeconds(20), "node B to deliver the three events",
                () => $"B has {deliveredB.Count}, dropped {a.Dropped}");

            var got = deliveredB.ToArray();
            Assert.Equal(["message", "bans", "message"], got.Select(e => e.Method));
            Assert.Equal(text, JsonDocument.Parse(got[0].Json).RootElement.GetProperty("text").GetString());
            Assert.Equal(300, JsonDocument.Parse(got[1].Json).RootElement.GetArrayLength());
            Assert.Equal("after", JsonDocument.Parse(got[2].Json).RootElement.GetProperty("text").GetString());
            Assert.Equal(2, a.SentInParts);
            Assert.Equal(0, a.Dropped);
        }
        finally
        {
            await stop.CancelAsync();
            await a.StopAsync(CancellationToken.None);
            await b.StopAsync(CancellationToken.None);
            a.Dispose();
            b.Dispose();
        }
    }
}
