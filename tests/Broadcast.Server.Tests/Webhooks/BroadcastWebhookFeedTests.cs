using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Broadcast.Media;
using Broadcast.Server;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Server.Tests.Webhooks;

/// <summary>
/// The node's hubs tell control's webhooks of a broadcast's life: a publish, its encoder dropping into the reconnect
/// grace, coming back, and the end, in that order in the outbox; a hub that is no channel's (a rung) tells nothing.
/// </summary>
public sealed class BroadcastWebhookFeedTests : IAsyncLifetime
{
    private readonly Broadcast.TestSupport.TempDirectory _directory = new();
    private ControlDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={Path.Combine(_directory.Path, "broadcast.db")}");
        await _database.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<List<string>> ColumnAsync(string sql)
    {
        await using var connection = await _database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) values.Add(reader.GetString(0));
        return values;
    }

    [Theory]
    [InlineData("srt")]
    [InlineData("rtmps")]
    [InlineData("room")]
    public async Task A_broadcast_started_names_the_protocol_its_publisher_came_in_by(string protocol)
    {
        var rows = new SqlChannelRepository(_database);
        var channels = new ChannelService(rows, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System,
            new LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        var channel = (await channels.CreateAsync(new ChannelSpec("Stage"))).Channel;
        var webhooks = new BroadcastWebhooks(rows, new WebhookOutbox(_database, TimeProvider.System, NullLogger<WebhookOutbox>.Instance),
            TimeProvider.System, NullLogger<BroadcastWebhooks>.Instance);
        var registry = new LiveStreamRegistry();
        var feed = new BroadcastWebhookFeed(registry, webhooks);
        await webhooks.StartAsync(CancellationToken.None);
        await feed.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(registry.TryStartPublish(channel.Slug, TimeSpan.Zero, out var stream, out _, protocol));
            Assert.Equal(protocol, stream.Protocol);
            // A resume by another way in keeps the broadcast's first protocol: it is the same broadcast.
            Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
            Assert.True(registry.TryStartPublish(channel.Slug, TimeSpan.Zero, out var resumed, out _, "rtmp"));
            Assert.Equal(protocol, resumed.Protocol);
            registry.EndPublish(stream);

            Task<List<string>> StartedAsync() => ColumnAsync("SELECT payload FROM webhook_events WHERE type = 'broadcast.started'");
            await WaitFor.ConditionAsync(async () => (await StartedAsync()).Count >= 1, TimeSpan.FromSeconds(30), "broadcast.started in the outbox");
            using var payload = System.Text.Json.JsonDocument.Parse(Assert.Single(await StartedAsync()));
            Assert.Equal(protocol, payload.RootElement.GetProperty("data").GetProperty("protocol").GetString());
        }
        finally
        {
            await feed.StopAsync(CancellationToken.None);
            await webhooks.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_broadcast_with_a_drop_and_a_reconnect_is_told_started_reconnecting_resumed_ended()
    {
        var rows = new SqlChannelRepository(_database);
        var channels = new ChannelService(rows, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System,
            new LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        var channel = (await channels.CreateAsync(new ChannelSpec("Stage"))).Channel;
        var outbox = new WebhookOutbox(_database, TimeProvider.System, NullLogger<WebhookOutbox>.Instance);
        var webhooks = new BroadcastWebhooks(rows, outbox, TimeProvider.System, NullLogger<BroadcastWebhooks>.Instance);
        var registry = new LiveStreamRegistry();
        var feed = new BroadcastWebhookFeed(registry, webhooks);
        await webhooks.StartAsync(CancellationToken.None);
        await feed.StartAsync(CancellationToken.None);
        try
        {
            Assert.True(registry.TryStartPublish(channel.Slug, out var stream));
            Assert.True(registry.TryStartPublish(channel.Slug + "/720p", out var rung));
            Assert.True(registry.Interrupt(stream, TimeSpan.FromSeconds(30)));
            Assert.True(registry.TryStartPublish(channel.Slug, out var resumed));
            Assert.Same(stream, resumed);
            registry.EndPublish(stream);
            registry.EndPublish(rung);

            Task<List<string>> TypesAsync() => ColumnAsync("SELECT type FROM webhook_events WHERE type LIKE 'broadcast.%' ORDER BY id");
            await WaitFor.ConditionAsync(async () => (await TypesAsync()).Count >= 4, TimeSpan.FromSeconds(30), "four broadcast events in the outbox");
            Assert.Equal(["broadcast.started", "broadcast.reconnecting", "broadcast.resumed", "broadcast.ended"], await TypesAsync());
            var channelIds = await ColumnAsync("SELECT channel_id FROM webhook_events WHERE type LIKE 'broadcast.%'");
            Assert.All(channelIds, id => Assert.Equal(channel.Id, id));
        }
        finally
        {
            await feed.StopAsync(CancellationToken.None);
            await webhooks.StopAsync(CancellationToken.None);
        }
    }
}
