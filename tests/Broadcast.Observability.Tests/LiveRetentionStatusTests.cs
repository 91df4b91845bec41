using Broadcast.Control.Channels;
using Broadcast.Media;
using Broadcast.Packager.Live;

namespace Broadcast.Observability.Tests;

/// <summary>
/// The channel's live status says the rewind window its broadcast runs under and what retention keeps: the packaging's
/// own figures once it runs, and before that (the broadcast's first moments) the window it is about to take, from the
/// same policy the packaging reads, so a viewer who opens the watch page then gets the seek bar too.
/// </summary>
public class LiveRetentionStatusTests
{
    private static readonly Channel News = new("c1", "News", "news", false, false, false, DateTimeOffset.UnixEpoch, "abcd");

    [Fact]
    public async Task Before_its_packaging_starts_a_live_channel_says_the_window_its_broadcast_will_take()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out _));
        var rewind = new FixedRewindForTests(1800);

        var state = await new PipelineChannelLiveStatus(registry, rewind: rewind).GetAsync(News, default);

        Assert.Equal(1800, state.RewindSeconds);
        Assert.Null(state.Recording);
        Assert.Equal(0, state.KeptBytes);
        Assert.Equal(1, rewind.Asked);
    }

    [Fact]
    public async Task Once_packaged_the_status_is_the_packagings_and_the_policy_is_not_asked()
    {
        var registry = new LiveStreamRegistry();
        Assert.True(registry.TryStartPublish("news", out _));
        var rewind = new FixedRewindForTests(1800);
        var packaging = new StreamPackagerStatus("news", "20261127T050000Z", Recording: false, Ended: false, SegmentsWritten: 40,
            TimeSpan.FromSeconds(2), 2, []) { RewindSeconds = 600, KeptBytes = 123_456_789 };

        var state = await new PipelineChannelLiveStatus(registry, new FixedPackagerStatusForTests(packaging), rewind: rewind).GetAsync(News, default);

        Assert.Equal(600, state.RewindSeconds);
        Assert.False(state.Recording);
        Assert.Equal(123_456_789, state.KeptBytes);
        Assert.Equal(0, rewind.Asked);
    }

    [Fact]
    public async Task An_offline_channel_asks_no_policy()
    {
        var rewind = new FixedRewindForTests(1800);
        var state = await new PipelineChannelLiveStatus(new LiveStreamRegistry(), rewind: rewind).GetAsync(News, default);
        Assert.Null(state.RewindSeconds);
        Assert.Equal(0, rewind.Asked);
    }

    private sealed class FixedRewindForTests(int seconds) : IRewindPolicy
    {
        public int Asked;

        public ValueTask<int> RewindSecondsAsync(LiveStream stream, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Asked);
            return ValueTask.FromResult(seconds);
        }
    }

    private sealed class FixedPackagerStatusForTests(StreamPackagerStatus status) : IPackagerStatus
    {
        public IReadOnlyList<StreamPackagerStatus> Streams => [status];

        public StreamPackagerStatus? Find(string channel) => channel == status.Channel ? status : null;
    }
}
