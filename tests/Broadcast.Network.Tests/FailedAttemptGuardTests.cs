using System.Net;
using Broadcast.Network;
using Broadcast.TestSupport;

namespace Broadcast.Network.Tests;

public sealed class FailedAttemptGuardTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 23, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void The_nth_failure_within_the_window_blocks_the_address_for_the_block_time()
    {
        var clock = new ManualClock(Start);
        var guard = new FailedAttemptGuard(maxFailures: 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300), clock);
        var guesser = IPAddress.Parse("203.0.113.7");
        Assert.False(guard.RecordFailure(guesser, out _));
        Assert.False(guard.RecordFailure(guesser, out _));
        Assert.False(guard.IsBlocked(guesser, out _));
        Assert.True(guard.RecordFailure(guesser, out int failures));
        Assert.Equal(3, failures);
        Assert.True(guard.IsBlocked(guesser, out var remaining));
        Assert.Equal(TimeSpan.FromSeconds(300), remaining);
        // Another address is not affected; a failure while blocked does not start the block again.
        Assert.False(guard.IsBlocked(IPAddress.Parse("203.0.113.8"), out _));
        clock.Advance(TimeSpan.FromSeconds(100));
        Assert.False(guard.RecordFailure(guesser, out _));
        Assert.True(guard.IsBlocked(guesser, out remaining));
        Assert.Equal(TimeSpan.FromSeconds(200), remaining);
        clock.Advance(TimeSpan.FromSeconds(201));
        Assert.False(guard.IsBlocked(guesser, out _));
    }

    [Fact]
    public void Failures_older_than_the_window_do_not_count()
    {
        var clock = new ManualClock(Start);
        var guard = new FailedAttemptGuard(maxFailures: 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300), clock);
        var slow = IPAddress.Parse("198.51.100.4");
        for (int i = 0; i < 10; i++)
        {
            Assert.False(guard.RecordFailure(slow, out int failures));
            Assert.True(failures <= 2, $"failure {i}: {failures} counted");
            clock.Advance(TimeSpan.FromSeconds(31));
        }
        Assert.False(guard.IsBlocked(slow, out _));
    }

    [Fact]
    public void An_ipv6_client_walking_its_slash_64_is_one_address()
    {
        var guard = new FailedAttemptGuard(maxFailures: 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300), new ManualClock(Start));
        Assert.False(guard.RecordFailure(IPAddress.Parse("2001:db8:1:2::1"), out _));
        Assert.False(guard.RecordFailure(IPAddress.Parse("2001:db8:1:2::2"), out _));
        Assert.True(guard.RecordFailure(IPAddress.Parse("2001:db8:1:2:ffff::3"), out _));
        Assert.True(guard.IsBlocked(IPAddress.Parse("2001:db8:1:2:abcd::9"), out _));
        Assert.False(guard.IsBlocked(IPAddress.Parse("2001:db8:1:3::1"), out _));
    }

    [Fact]
    public void A_scan_from_many_addresses_leaves_no_state_behind_and_is_bounded_meanwhile()
    {
        var clock = new ManualClock(Start);
        var guard = new FailedAttemptGuard(maxFailures: 3, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300), clock);
        var bytes = new byte[4] { 198, 18, 0, 0 };
        for (int i = 0; i < FailedAttemptGuard.MaxTrackedAddresses + 100; i++)
        {
            bytes[1] = (byte)(18 + (i >> 16)); // 198.18.0.0/15, the benchmarking range: values only, nothing is sent
            bytes[2] = (byte)(i >> 8);
            bytes[3] = (byte)i;
            guard.RecordFailure(new IPAddress(bytes), out _);
        }
        Assert.Equal(FailedAttemptGuard.MaxTrackedAddresses, guard.TrackedAddresses);
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.False(guard.IsBlocked(IPAddress.Loopback, out _));
        Assert.Equal(0, guard.TrackedAddresses);
    }

    [Fact]
    public void Zero_failures_allowed_means_never_blocked()
    {
        var guard = new FailedAttemptGuard(maxFailures: 0, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(300), new ManualClock(Start));
        for (int i = 0; i < 20; i++) Assert.False(guard.RecordFailure(IPAddress.Loopback, out _));
        Assert.False(guard.IsBlocked(IPAddress.Loopback, out _));
    }
}
