using System.Security.Cryptography;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Dashboard.Live;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Webhooks;

/// <summary><c>stream.health</c>: told when a live channel's encoder crosses the dashboard's warnings, both ways, at most once a minute.</summary>
public sealed class StreamHealthWebhookTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(DateTimeOffset.UtcNow);
    private ControlDatabase _database = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task Warnings_appearing_and_clearing_are_told_once_each()
    {
        var rows = new SqlChannelRepository(_database);
        var channels = new ChannelService(rows, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), _clock, new LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        var channel = (await channels.CreateAsync(new ChannelSpec("Stage"))).Channel;
        var outbox = new WebhookOutbox(_database, _clock, NullLogger<WebhookOutbox>.Instance);
        var webhooks = new BroadcastWebhooks(rows, outbox, _clock, NullLogger<BroadcastWebhooks>.Instance);
        var live = new SettableLiveStatus();
        var monitor = new LiveStatusMonitor(channels, live, new NoHub(), _clock, NullLogger<LiveStatusMonitor>.Instance, webhooks);
        await webhooks.StartAsync(CancellationToken.None);
        try
        {
            live.State = new ChannelLiveState(true, _clock.GetUtcNow()) { Warnings = ["The encoder drops frames."] };
            await monitor.PollOnceAsync(channel, CancellationToken.None);
            _clock.Advance(TimeSpan.FromSeconds(1));
            await monitor.PollOnceAsync(channel, CancellationToken.None); // still warned: nothing new
            live.State = new ChannelLiveState(false);
            _clock.Advance(TimeSpan.FromSeconds(70));
            await monitor.PollOnceAsync(channel, CancellationToken.None);

            async Task<List<JsonElement>> HealthAsync() => await Sql.QueryAsync(_database,
                "SELECT payload FROM webhook_events WHERE type = 'stream.health' ORDER BY id", _ => { },
                r => JsonDocument.Parse(r.GetString(0)).RootElement.GetProperty("data").Clone(), CancellationToken.None);
            await WaitFor.ConditionAsync(async () => (await HealthAsync()).Count >= 2, TimeSpan.FromSeconds(30), "two stream.health events");
            var told = await HealthAsync();
            Assert.Equal(["warning", "ok"], told.Select(d => d.GetProperty("status").GetString()));
            Assert.Contains("The encoder drops frames.", told[0].GetProperty("warnings").EnumerateArray().Select(w => w.GetString()));
            Assert.Equal(channel.Id, told[0].GetProperty("channelId").GetString());
        }
        finally
        {
            await webhooks.StopAsync(CancellationToken.None);
        }
    }

    private sealed class SettableLiveStatus : IChannelLiveStatus
    {
        public ChannelLiveState State { get; set; } = new(false);

        public ValueTask<ChannelLiveState> GetAsync(Channel channel, CancellationToken cancellationToken) => ValueTask.FromResult(State);
    }

    private sealed class NoHub : IHubContext<LiveStatusHub>, IHubClients, IClientProxy
    {
        public IHubClients Clients => this;

        public IGroupManager Groups => throw new NotSupportedException();

        public IClientProxy All => this;

        public IClientProxy AllExcept(IReadOnlyList<string> excludedConnectionIds) => this;

        public IClientProxy Client(string connectionId) => this;

        IClientProxy IHubClients<IClientProxy>.Clients(IReadOnlyList<string> connectionIds) => this;

        public IClientProxy Group(string groupName) => this;

        public IClientProxy GroupExcept(string groupName, IReadOnlyList<string> excludedConnectionIds) => this;

        IClientProxy IHubClients<IClientProxy>.Groups(IReadOnlyList<string> groupNames) => this;

        public IClientProxy User(string userId) => this;

        public IClientProxy Users(IReadOnlyList<string> userIds) => this;

        public Task SendCoreAsync(string method, object?[] args, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}
