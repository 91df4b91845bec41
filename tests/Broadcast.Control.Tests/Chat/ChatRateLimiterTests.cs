using Broadcast.Control.Chat;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatRateLimiterTests
{
    private readonly ManualClock _clock = new(new DateTimeOffset(2026, 11, 22, 12, 0, 0, TimeSpan.Zero));

    private ChatRateLimiter Limiter(ChatOptions? options = null) => new(options ?? new ChatOptions
    {
        ViewerBurst = 3, ViewerMessagesPerMinute = 60, AddressBurst = 100, AddressMessagesPerMinute = 6000, ChannelBurst = 1000, ChannelMessagesPerSecond = 1000,
    }, _clock);

    [Fact]
    public void A_viewer_gets_its_burst_then_waits_for_the_bucket_to_refill()
    {
        var limiter = Limiter();
        for (var i = 0; i < 3; i++) Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 0, out _));
        Assert.Equal(ChatLimitVerdict.Viewer, limiter.TryAcquire("c", "v", "a", 0, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(1), wait); // one a second
        // Another viewer is not affected.
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "w", "a", 0, out _));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 0, out _));
        Assert.Equal(ChatLimitVerdict.Viewer, limiter.TryAcquire("c", "v", "a", 0, out _));
    }

    [Fact]
    public void Slow_mode_allows_one_message_per_interval_and_says_how_long_to_wait()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 10, AddressBurst = 10, ChannelBurst = 10 });
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 30, out _));
        // Not accepted (say, the filter refused it): no wait.
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 30, out _));
        limiter.MarkSent("c", "v", 30);
        _clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(ChatLimitVerdict.SlowMode, limiter.TryAcquire("c", "v", "a", 30, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(20), wait);
        // Per channel: the same viewer elsewhere is free.
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("other", "v", "a", 30, out _));
        _clock.Advance(TimeSpan.FromSeconds(20) - TimeSpan.FromTicks(1));
        Assert.Equal(ChatLimitVerdict.SlowMode, limiter.TryAcquire("c", "v", "a", 30, out _));
        _clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 30, out _));
    }

    /// <summary>
    /// A flood of fresh viewer ids from one /64, refused at the address's limit, adds no viewer entry: before, each refusal
    /// still made its viewer's bucket, 200,000 of them filled the table, and the legitimate viewers after were refused.
    /// </summary>
    [Fact]
    public void Messages_refused_at_their_address_add_no_entries_and_a_full_table_makes_room_for_new_viewers()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 5, AddressBurst = 4, AddressMessagesPerMinute = 60, ChannelBurst = 1000, ChannelMessagesPerSecond = 1000 });
        for (var i = 0; i < 4; i++) Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", $"viewer{i}", "attacker", 0, out _));
        int before = limiter.Count;
        for (var i = 0; i < 10_000; i++) Assert.Equal(ChatLimitVerdict.Address, limiter.TryAcquire("c", $"fresh{i}", "attacker", 0, out _));
        Assert.Equal(before, limiter.Count);
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "a-real-viewer", "elsewhere", 0, out _));
    }

    [Fact]
    public void A_full_table_of_idle_buckets_is_swept_for_a_new_viewer_instead_of_refusing_it()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 5, AddressBurst = 1_000_000, AddressMessagesPerMinute = 60_000_000, ChannelBurst = 1_000_000, ChannelMessagesPerSecond = 1_000_000 });
        for (var i = 0; i < ChatRateLimiter.MaxEntries; i++) Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", $"v{i}", "a", 0, out _));
        // Full, every bucket one token short: a newcomer is refused while none has refilled...
        Assert.Equal(ChatLimitVerdict.Viewer, limiter.TryAcquire("c", "newcomer", "a", 0, out _));
        // ...and taken once they have (idle buckets are as good as absent), without waiting for the periodic sweep.
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "newcomer", "a", 0, out _));
    }

    [Fact]
    public void Made_up_viewer_ids_from_one_address_share_its_bucket()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 5, AddressBurst = 4, AddressMessagesPerMinute = 60, ChannelBurst = 1000, ChannelMessagesPerSecond = 1000 });
        for (var i = 0; i < 4; i++) Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", $"viewer{i}", "same-address", 0, out _));
        Assert.Equal(ChatLimitVerdict.Address, limiter.TryAcquire("c", "viewer-new", "same-address", 0, out _));
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "viewer-new", "other-address", 0, out _));
    }

    [Fact]
    public void The_channel_cap_holds_whatever_the_number_of_viewers()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 5, AddressBurst = 5, ChannelBurst = 10, ChannelMessagesPerSecond = 10 });
        var allowed = 0;
        for (var i = 0; i < 100; i++)
        {
            if (limiter.TryAcquire("busy", $"v{i}", $"a{i}", 0, out _) == ChatLimitVerdict.Allowed) allowed++;
        }

        Assert.Equal(10, allowed);
        Assert.Equal(ChatLimitVerdict.Channel, limiter.TryAcquire("busy", "late", "late", 0, out var wait));
        Assert.True(wait > TimeSpan.Zero);
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("quiet", "late", "late", 0, out _));
        _clock.Advance(TimeSpan.FromMilliseconds(100));
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("busy", "late", "late", 0, out _));
    }

    [Fact]
    public void A_refusal_takes_nothing_from_the_other_buckets_and_a_sweep_forgets_idle_keys()
    {
        var limiter = Limiter(new ChatOptions { ViewerBurst = 1, ViewerMessagesPerMinute = 1, AddressBurst = 2, AddressMessagesPerMinute = 1, ChannelBurst = 10 });
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "v", "a", 0, out _));
        for (var i = 0; i < 5; i++) Assert.Equal(ChatLimitVerdict.Viewer, limiter.TryAcquire("c", "v", "a", 0, out _));
        // The address still has its second token: the refused attempts did not spend it.
        Assert.Equal(ChatLimitVerdict.Allowed, limiter.TryAcquire("c", "w", "a", 0, out _));

        Assert.True(limiter.Count > 0);
        _clock.Advance(TimeSpan.FromHours(2));
        limiter.Sweep();
        Assert.Equal(0, limiter.Count);
    }
}
