using Broadcast.Media;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Packager.Tests.Live;

/// <summary>
/// A clip names segments of a live broadcast where they are stored; retention asks <see cref="IRetentionHold"/> before
/// each batch of deletes and keeps what it holds: when the window slides past them, and when the channel's next broadcast
/// replaces the playlists of an unrecorded one. A hold that cannot answer keeps everything until it can.
/// </summary>
public sealed class RetentionHoldTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly AudioTrack _audio = TestMedia.Audio();
    private readonly VideoTrack _video = TestMedia.Video();
    private long _audioCount;
    private int _videoCount;

    public void Dispose() => _dir.Dispose();

    /// <summary>Holds fixed keys, records every question, and fails while <see cref="Failing"/>.</summary>
    private sealed class FixedHold(params string[] held) : IRetentionHold
    {
        private string[] _held = held;

        /// <summary>The clip is deleted: nothing is held any more.</summary>
        public void Release() => _held = [];

        public List<(string Channel, string BroadcastId, IReadOnlyList<string> Keys)> Asked { get; } = new();

        public bool Failing { get; set; }

        public ValueTask<IReadOnlySet<string>> HeldAsync(string channel, string broadcastId, IReadOnlyList<string> keys,
            CancellationToken cancellationToken)
        {
            lock (Asked) Asked.Add((channel, broadcastId, keys.ToArray()));
            if (Failing) throw new InvalidOperationException("the database is away");
            return ValueTask.FromResult<IReadOnlySet<string>>(_held.Intersect(keys, StringComparer.Ordinal).ToHashSet(StringComparer.Ordinal));
        }
    }

    [Fact]
    public async Task A_held_segment_survives_the_window_sliding_past_it_and_its_neighbours_go()
    {
        var time = new ManualClock(Start);
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4 };
        string id = StoreKeys.BroadcastId(Start);
        string held = StoreKeys.Segment("chan", "source", id, 2), heldInit = StoreKeys.Init("chan", "source", id, 0);
        var hold = new FixedHold(held, heldInit);
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time, hold);

        await FeedAsync(p, time, 20);
        Assert.True(File.Exists(store.PathOf(held)));
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", id, 1))));
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", id, 3))));
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "audio", id, 2)))); // another rendition's number 2: not held
        Assert.DoesNotContain("-2.m4s", await File.ReadAllTextAsync(store.PathOf("chan/source/index.m3u8")), StringComparison.Ordinal);
        // One question per delete batch, each about this broadcast's own keys.
        Assert.NotEmpty(hold.Asked);
        Assert.All(hold.Asked, a => Assert.Equal(("chan", id), (a.Channel, a.BroadcastId)));
        Assert.All(hold.Asked.SelectMany(a => a.Keys), k => Assert.StartsWith($"chan/", k, StringComparison.Ordinal));
        Assert.Contains(hold.Asked, a => a.Keys.Count > 1);

        await p.CompleteAsync(default);
        await p.RunDueDeletesAsync(default, all: true);
        Assert.True(File.Exists(store.PathOf(held)));
        Assert.True(File.Exists(store.PathOf(heldInit)));
    }

    [Fact]
    public async Task A_segment_held_while_the_broadcast_runs_goes_once_the_hold_lets_it_go()
    {
        var time = new ManualClock(Start);
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4 };
        string id = StoreKeys.BroadcastId(Start);
        string held = StoreKeys.Segment("chan", "source", id, 2);
        var hold = new FixedHold(held);
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time, hold);

        await FeedAsync(p, time, 20);
        Assert.True(File.Exists(store.PathOf(held)));
        hold.Release();
        await FeedAsync(p, time, 8);
        Assert.False(File.Exists(store.PathOf(held)));
    }

    [Fact]
    public async Task A_hold_that_cannot_answer_keeps_everything_until_it_can()
    {
        var time = new ManualClock(Start);
        var store = new FileSystemSegmentStore(_dir.Path);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 3, DeleteGraceSeconds = 4 };
        string id = StoreKeys.BroadcastId(Start);
        var hold = new FixedHold { Failing = true };
        await using var p = new StreamPackager(new BroadcastSettings { Channel = "chan" }, store, options, time, hold);

        await FeedAsync(p, time, 20);
        Assert.NotEmpty(hold.Asked);
        Assert.True(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", id, 1))));

        hold.Failing = false;
        await FeedAsync(p, time, 10);
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "source", id, 1))));
        Assert.False(File.Exists(store.PathOf(StoreKeys.Segment("chan", "audio", id, 1))));
    }

    [Fact]
    public async Task A_held_segment_of_an_ended_broadcast_survives_the_next_broadcast_deleting_its_last_window()
    {
        string first = StoreKeys.BroadcastId(Start);
        string held = StoreKeys.Segment("chan", "source", first, 2), heldInit = StoreKeys.Init("chan", "source", first, 0);
        var (c, source) = await StartFirstBroadcastAsync(new FixedHold(held, heldInit));
        await using var _ = c.Packager;
        c.Registry.EndPublish(source);
        await WaitFor.ConditionAsync(() => c.Packager.Find("chan") is { Ended: true }, Bound, "the first broadcast to end");
        Assert.True(File.Exists(c.Store.PathOf(StoreKeys.Segment("chan", "source", first, 3))));

        // The next broadcast: the first one's last window goes a grace period after it started.
        var again = StartNextBroadcast(c);
        await WaitFor.ConditionAsync(() => c.Packager.Find("chan") is { } s && s.BroadcastId != first, Bound, "the next broadcast to start");
        await LastWindowDeletedAsync(c, again);
        Assert.False(File.Exists(c.Store.PathOf(StoreKeys.Segment("chan", "source", first, 1))));
        Assert.True(File.Exists(c.Store.PathOf(held)));
        Assert.True(File.Exists(c.Store.PathOf(heldInit)));
        c.Registry.EndPublish(again);
    }

    [Fact]
    public async Task The_last_window_goes_when_the_encoder_reconnects_before_the_broadcast_has_finished_ending()
    {
        string first = StoreKeys.BroadcastId(Start);
        var (c, source) = await StartFirstBroadcastAsync(hold: null);
        await using var _ = c.Packager;

        // The encoder is back while the first broadcast still ends: its finish handlers run on its packaging task, and the
        // next broadcast is packaging before they return.
        LiveStream? again = null;
        c.Packager.StreamFinished += f =>
        {
            if (f.Status.BroadcastId != first) return;
            again = StartNextBroadcast(c);
            WaitFor.ConditionAsync(() => c.Packager.Find("chan") is { } s && s.BroadcastId != first, Bound, "the next broadcast to start")
                .GetAwaiter().GetResult();
        };
        c.Registry.EndPublish(source);
        await WaitFor.ConditionAsync(() => again is not null && c.Packager.Find("chan") is { } s && s.BroadcastId != first, Bound,
            "the next broadcast to start");
        await LastWindowDeletedAsync(c, again!);
        c.Registry.EndPublish(again!);
    }

    private sealed record PackagedChannel(ManualClock Clock, LiveStreamRegistry Registry, FileSystemSegmentStore Store, LivePackager Packager);

    /// <summary>A packager of unrecorded broadcasts (the caller disposes it), and a first broadcast of "chan" that has listed segment 3.</summary>
    private async Task<(PackagedChannel Channel, LiveStream Source)> StartFirstBroadcastAsync(IRetentionHold? hold)
    {
        var clock = new ManualClock(Start);
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 10, DeleteGraceSeconds = 4 };
        var registry = new LiveStreamRegistry(clock);
        var store = new FileSystemSegmentStore(Path.Combine(_dir.Path, "media"));
        var packager = new LivePackager(registry, store, new DefaultRecordingPolicy(Options.Create(options)), Options.Create(options),
            clock, new ListLogger<LivePackager>(), hold: hold);
        await packager.StartAsync(default);
        string Read(string key) => File.Exists(store.PathOf(key)) ? File.ReadAllText(store.PathOf(key)) : "";

        Assert.True(registry.TryStartPublish("chan", out var source));
        Write(source, 0, 1);
        await WaitFor.ConditionAsync(() => packager.Find("chan") is not null, Bound, "packaging to start");
        Write(source, 1, 8 * 30);
        string first = StoreKeys.BroadcastId(Start);
        await WaitFor.ConditionAsync(() => Read("chan/source/index.m3u8").Contains($"{first}-3.m4s", StringComparison.Ordinal), Bound,
            "the first broadcast to list segment 3");
        return (new PackagedChannel(clock, registry, store, packager), source);
    }

    /// <summary>A minute later, the encoder publishes again: its first frame.</summary>
    private LiveStream StartNextBroadcast(PackagedChannel c)
    {
        c.Clock.Advance(TimeSpan.FromMinutes(1));
        _videoCount = 0;
        _audioCount = 0;
        Assert.True(c.Registry.TryStartPublish("chan", out var again));
        Write(again, 0, 1);
        return again;
    }

    /// <summary>The next broadcast runs on while the clock moves, until the first one's last window (segment 3, the audio init) is gone.</summary>
    private async Task LastWindowDeletedAsync(PackagedChannel c, LiveStream again)
    {
        string first = StoreKeys.BroadcastId(Start);
        Write(again, 1, 5 * 30);
        await WaitFor.ConditionAsync(() =>
        {
            c.Clock.Advance(TimeSpan.FromSeconds(1));
            return !File.Exists(c.Store.PathOf(StoreKeys.Segment("chan", "source", first, 3)));
        }, Bound, "the first broadcast's last window to be deleted");
        Assert.False(File.Exists(c.Store.PathOf(StoreKeys.Init("chan", "audio", first, 0))));
    }

    private async Task FeedAsync(StreamPackager p, ManualClock time, int seconds)
    {
        for (int n = 0; n < seconds * 30; n++)
        {
            int i = _videoCount++;
            await p.PushVideoAsync(0, TestMedia.Frame(_video, i * 3000L, i % 60 == 0, 200), default);
            while (_audioCount <= (long)Math.Floor(i * 1.6))
                await p.PushAudioAsync(TestMedia.Frame(_audio, _audioCount++ * 1024L, true, 20), default);
            time.Advance(TimeSpan.FromMilliseconds(1000.0 / 30));
        }
    }

    /// <summary>Video frames [from, to) at 30 fps with a keyframe every 2 s, and the audio up to them, into a hub.</summary>
    private void Write(LiveStream stream, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            stream.Write(TestMedia.Frame(_video, i * 3000L, i % 60 == 0, 200));
            while (_audioCount <= (long)Math.Floor(i * 1.6)) stream.Write(TestMedia.Frame(_audio, _audioCount++ * 1024L, true, 20));
        }
    }
}
