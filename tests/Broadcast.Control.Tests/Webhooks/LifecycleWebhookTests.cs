using System.Security.Cryptography;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security;
using Broadcast.Control.Webhooks;
using Broadcast.Network.Outbound;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Webhooks;

/// <summary>
/// The events told from where they happen: a scheduled event going live and ending (<see cref="EventService"/>), a
/// recording booked (<see cref="FinishedBroadcasts"/>), a clip finished, a publish of a known channel refused, each in
/// the outbox with its channel and data.
/// </summary>
public sealed class LifecycleWebhookTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(T0 - TimeSpan.FromMinutes(5));
    private ControlDatabase _database = null!;
    private WebhookOutbox _outbox = null!;
    private ChannelService _channels = null!;
    private SqlChannelRepository _channelRows = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        _outbox = new WebhookOutbox(_database, _clock, NullLogger<WebhookOutbox>.Instance);
        _channelRows = new SqlChannelRepository(_database);
        _channels = new ChannelService(_channelRows, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), _clock, new LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        var guard = new OutboundGuard(new OutboundUrlPolicy(OutboundAllowList.Parse([], [])), new FakeHostResolver());
        var endpoints = new WebhookEndpointService(new SqlWebhookEndpointRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            guard, _clock, NullLogger<WebhookEndpointService>.Instance);
        await endpoints.CreateAsync(new WebhookEndpointSpec("https://hooks.example.com/b", null, null, true));
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private async Task<List<(string Type, JsonElement Data)>> QueuedAsync() =>
        (await Sql.QueryAsync(_database, "SELECT e.type, e.payload FROM webhook_events e JOIN webhook_deliveries d ON d.event_id = e.id ORDER BY e.id",
            _ => { }, r => (r.GetString(0), JsonDocument.Parse(r.GetString(1)).RootElement.GetProperty("data").Clone()), CancellationToken.None))
        .Where(e => !e.Item1.StartsWith("channel.", StringComparison.Ordinal)).ToList();

    [Fact]
    public async Task A_scheduled_event_going_live_and_ending_is_told_with_its_channel_and_times()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Stage", RequireSchedule: true))).Channel;
        var events = new EventService(new SqlEventRepository(_database), _channels, new ControlSettings { PublishLead = TimeSpan.FromMinutes(15) }, _clock,
            [], new NoTerminator(), new LocalPublishRuleChanges(), NullLogger<EventService>.Instance, _outbox);
        var ev = await events.CreateAsync(new EventSpec(channel.Id, "Keynote", null, T0, T0.AddHours(1), true));

        _clock.SetUtcNow(T0);
        await events.OnPublishedAsync(channel.Id);
        await events.OnPublishedAsync(channel.Id); // live already: told once
        await events.EndAsync(ev.Id, "scheduled end");

        var queued = await QueuedAsync();
        Assert.Equal(["event.started", "event.ended"], queued.Select(q => q.Type));
        Assert.All(queued, q => Assert.Equal((ev.Id, channel.Slug, channel.Id, "Keynote"), (q.Data.GetProperty("eventId").GetString(),
            q.Data.GetProperty("channel").GetString(), q.Data.GetProperty("channelId").GetString(), q.Data.GetProperty("title").GetString())));
        Assert.Equal("scheduled end", queued[1].Data.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task A_booked_recording_a_finished_clip_and_a_refused_publish_are_told_through_the_queue()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Hall"))).Channel;
        var broadcasts = new BroadcastWebhooks(_channelRows, _outbox, _clock, NullLogger<BroadcastWebhooks>.Instance);
        await broadcasts.StartAsync(CancellationToken.None);
        try
        {
            var finished = Finisher(broadcasts);
            string master = $"/live/{channel.Slug}/recordings/20300501T115500Z/master.m3u8";
            await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T115500Z", true,
                new RecordedBroadcast(master, master.Replace("master.m3u8", "manifest.mpd", StringComparison.Ordinal), 61_533, 4_321_000)), CancellationToken.None);
            broadcasts.ClipReady(channel.Slug, "clip-1", T0, T0.AddSeconds(30), downloadMade: true);
            broadcasts.PublishRefused(channel, "srt", "subscription expired");
            broadcasts.PublishRefused(channel, "srt", "subscription expired"); // the encoder's retry a second later: told once

            await WaitFor.ConditionAsync(async () => (await QueuedAsync()).Count >= 3, TimeSpan.FromSeconds(30), "three events in the outbox");
            var queued = await QueuedAsync();
            Assert.Equal(["recording.ready", "clip.ready", "publish.refused"], queued.Select(q => q.Type));
            Assert.Equal((master, 61_533L), (queued[0].Data.GetProperty("hls").GetString(), queued[0].Data.GetProperty("durationMs").GetInt64()));
            Assert.Equal($"/api/channels/{channel.Id}/clips/clip-1/download", queued[1].Data.GetProperty("download").GetString());
            Assert.Equal("subscription expired", queued[2].Data.GetProperty("reason").GetString());
            Assert.All(queued, q => Assert.Equal(channel.Id, q.Data.GetProperty("channelId").GetString()));
        }
        finally
        {
            await broadcasts.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>
    /// The packager books a recording when its stream completes, and the registry tells the broadcast's end a moment after:
    /// on a loaded node the booking came first, and a receiver heard recording.ready before broadcast.ended.
    /// </summary>
    [Fact]
    public async Task A_recording_booked_before_its_broadcast_is_told_ended_is_told_after_the_end()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Late End"))).Channel;
        var broadcasts = new BroadcastWebhooks(_channelRows, _outbox, _clock, NullLogger<BroadcastWebhooks>.Instance);
        await broadcasts.StartAsync(CancellationToken.None);
        try
        {
            var finished = Finisher(broadcasts);
            var startedAt = _clock.GetUtcNow();
            broadcasts.Started(channel.Slug, startedAt, "rtmp");
            string master = $"/live/{channel.Slug}/recordings/20300501T115500Z/master.m3u8";
            await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T115500Z", true,
                new RecordedBroadcast(master, null, 61_533, 4_321_000)), CancellationToken.None);
            await WaitFor.ConditionAsync(async () => (await QueuedAsync()).Count >= 1, TimeSpan.FromSeconds(30), "broadcast.started in the outbox");
            broadcasts.Ended(channel.Slug, startedAt);

            await WaitFor.ConditionAsync(async () => (await QueuedAsync()).Count >= 3, TimeSpan.FromSeconds(30), "three events in the outbox");
            Assert.Equal(["broadcast.started", "broadcast.ended", "recording.ready"], (await QueuedAsync()).Select(q => q.Type));

            // Its end told, the channel's next recording is told at once.
            await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T125500Z", true,
                new RecordedBroadcast(master.Replace("115500Z", "125500Z", StringComparison.Ordinal), null, 1_000, 1_000)), CancellationToken.None);
            await WaitFor.ConditionAsync(async () => (await QueuedAsync()).Count >= 4, TimeSpan.FromSeconds(30), "the second recording in the outbox");
        }
        finally
        {
            await broadcasts.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>What books a finished broadcast's recording on this test's database, telling <paramref name="broadcasts"/>.</summary>
    private FinishedBroadcasts Finisher(BroadcastWebhooks broadcasts)
    {
        var events = new EventService(new SqlEventRepository(_database), _channels, new ControlSettings(), _clock, [], new NoTerminator(),
            new LocalPublishRuleChanges(), NullLogger<EventService>.Instance);
        var recordings = new RecordingService(new SqlRecordingRepository(_database), new NoMedia(), new ControlSettings(), _clock,
            NullLogger<RecordingService>.Instance);
        return new FinishedBroadcasts(_channels, events, recordings, new NoMedia(), _clock, NullLogger<FinishedBroadcasts>.Instance, broadcasts);
    }

    private sealed class NoTerminator : IBroadcastTerminator
    {
        public ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken) => ValueTask.FromResult(false);
    }

    private sealed class NoMedia : IRecordingMedia, IChannelMedia
    {
        public ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public bool IsWriting(string slug) => false;

        public ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken) => ValueTask.FromResult(0);
    }
}
