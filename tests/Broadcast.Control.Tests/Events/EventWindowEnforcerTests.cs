using System.Collections.Concurrent;
using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Events;

/// <summary>
/// Event-window enforcement on a real database, driven by the test clock: a broadcast ends when its RequireSchedule
/// window closes, when its event is ended, when its channel is deleted, and not otherwise. No polling: nothing happens
/// between the events that trigger a check.
/// </summary>
public sealed class EventWindowEnforcerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(T0);
    private readonly LocalPublishRuleChanges _changes = new();
    private readonly PipelineStreamsStandIn _streams = new();
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private EventService _events = null!;
    private EventWindowEnforcer _enforcer = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("enforcer.db")}");
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), _clock, _changes,
            NullLogger<ChannelService>.Instance);
        _events = new EventService(new SqlEventRepository(_database), _channels, new ControlSettings { PublishLead = TimeSpan.Zero }, _clock, [],
            new NodeWithoutTheStream(), _changes, NullLogger<EventService>.Instance);
        _enforcer = new EventWindowEnforcer(_streams, _channels, _events, _changes, _clock, NullLogger<EventWindowEnforcer>.Instance);
        await _enforcer.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _enforcer.StopAsync(CancellationToken.None);
        _enforcer.Dispose();
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    [Fact]
    public async Task A_scheduled_channels_broadcast_ends_when_its_window_closes_and_not_before()
    {
        var (channel, _) = await OnAirInEventAsync(requireSchedule: true);

        _clock.Advance(TimeSpan.FromMinutes(9));
        await _enforcer.CheckAsync(channel.Slug, CancellationToken.None);
        Assert.NotNull(_streams.Find(channel.Slug));

        _clock.Advance(TimeSpan.FromMinutes(1));
        await WaitFor.ConditionAsync(() => _streams.Find(channel.Slug) is null, TimeSpan.FromSeconds(10), "the broadcast to end at the window's end");
    }

    [Fact]
    public async Task A_following_event_keeps_the_window_open_until_its_own_end()
    {
        var (channel, _) = await OnAirInEventAsync(requireSchedule: true);
        await NewEventAsync(channel, T0 + TimeSpan.FromMinutes(10), T0 + TimeSpan.FromMinutes(20));

        _clock.Advance(TimeSpan.FromMinutes(10));
        await WaitFor.ConditionAsync(() => _streams.Checks >= 3, TimeSpan.FromSeconds(10), "the check at the first window's end");
        Assert.NotNull(_streams.Find(channel.Slug));

        _clock.Advance(TimeSpan.FromMinutes(10));
        await WaitFor.ConditionAsync(() => _streams.Find(channel.Slug) is null, TimeSpan.FromSeconds(10), "the broadcast to end at the second window's end");
    }

    [Fact]
    public async Task Ending_the_event_ends_the_broadcast_of_a_channel_without_schedule()
    {
        var (channel, ev) = await OnAirInEventAsync(requireSchedule: false);
        await _events.OnPublishedAsync(channel.Id);
        _clock.Advance(TimeSpan.FromMinutes(1));

        // Ended through a node that does not hold the stream: this node hears only the announcement.
        await _events.EndAsync(ev.Id, "ended by an admin");
        await WaitFor.ConditionAsync(() => _streams.Find(channel.Slug) is null, TimeSpan.FromSeconds(10), "the broadcast to end with its event");
    }

    [Fact]
    public async Task Deleting_the_channel_ends_its_broadcast()
    {
        var channel = await NewChannelAsync(requireSchedule: false);
        await StartAsync(channel);
        Assert.True(await _channels.DeleteAsync(channel.Id));
        await WaitFor.ConditionAsync(() => _streams.Find(channel.Slug) is null, TimeSpan.FromSeconds(10), "the broadcast of the deleted channel to end");
    }

    [Fact]
    public async Task A_broadcast_whose_publish_holds_stays_on_air_through_changes()
    {
        var channel = await NewChannelAsync(requireSchedule: false);
        await StartAsync(channel);
        await _channels.UpdateAsync(channel.Id, "Renamed", requireSchedule: null, lowLatency: null);
        await NewEventAsync(channel, T0 + TimeSpan.FromHours(1), T0 + TimeSpan.FromHours(2));
        await WaitFor.ConditionAsync(() => _streams.Checks >= 3, TimeSpan.FromSeconds(10), "the checks after each change");
        Assert.NotNull(_streams.Find(channel.Slug));

        // Turning RequireSchedule on with no event in window ends it.
        await _channels.UpdateAsync(channel.Id, null, requireSchedule: true, lowLatency: null);
        await WaitFor.ConditionAsync(() => _streams.Find(channel.Slug) is null, TimeSpan.FromSeconds(10), "the broadcast outside every window to end");
    }

    /// <summary>A channel on air inside its event, which runs from a minute ago to ten minutes from now.</summary>
    private async Task<(Channel Channel, BroadcastEvent Event)> OnAirInEventAsync(bool requireSchedule)
    {
        var channel = await NewChannelAsync(requireSchedule);
        var ev = await NewEventAsync(channel, T0 - TimeSpan.FromMinutes(1), T0 + TimeSpan.FromMinutes(10));
        await StartAsync(channel);
        return (channel, ev);
    }

    private async Task<Channel> NewChannelAsync(bool requireSchedule)
        => (await _channels.CreateAsync(new ChannelSpec("Stage " + Guid.NewGuid().ToString("N")[..6], requireSchedule))).Channel;

    private Task<BroadcastEvent> NewEventAsync(Channel channel, DateTimeOffset start, DateTimeOffset end)
        => _events.CreateAsync(new EventSpec(channel.Id, "Talk", null, start, end, Record: false));

    private async Task StartAsync(Channel channel)
    {
        var checks = _streams.Checks;
        _streams.Start(channel.Slug, _clock.GetUtcNow());
        await WaitFor.ConditionAsync(() => _streams.Checks > checks, TimeSpan.FromSeconds(10), "the check of the new broadcast");
    }

    /// <summary>
    /// Stands in for the pipeline's stream registry (server/ adapts the real one; this project cannot reference it):
    /// counts the enforcer's lookups, so a test can wait for a check to have happened.
    /// </summary>
    private sealed class PipelineStreamsStandIn : IChannelStreamPresence
    {
        private readonly ConcurrentDictionary<string, OnAirStream> _onAir = new(StringComparer.Ordinal);
        private int _checks;

        public event Action<OnAirStream>? Started;

        public int Checks => Volatile.Read(ref _checks);

        public IReadOnlyCollection<OnAirStream> OnAir => [.. _onAir.Values];

        public void Start(string slug, DateTimeOffset at)
        {
            var stream = new OnAirStream(slug, at);
            _onAir[slug] = stream;
            Started?.Invoke(stream);
        }

        public OnAirStream? Find(string slug)
        {
            Interlocked.Increment(ref _checks);
            return _onAir.TryGetValue(slug, out var stream) ? stream : null;
        }

        public bool End(string slug) => _onAir.TryRemove(slug, out _);
    }

    /// <summary>The terminator of a node that holds no stream (the end job or the admin's call ran elsewhere).</summary>
    private sealed class NodeWithoutTheStream : IBroadcastTerminator
    {
        public ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken) => ValueTask.FromResult(false);
    }
}
