using System.Net;
using Broadcast.Ingest.Rtmp;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Rtmp;

/// <summary>The per-address bookkeeping on a manual clock: token bucket, connection count, guessing block, sweep.</summary>
public class RtmpAdmissionTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress A = IPAddress.Parse("192.0.2.1");
    private static readonly IPAddress B = IPAddress.Parse("192.0.2.2");

    [Fact]
    public void Handshake_bucket_allows_the_burst_then_the_rate()
    {
        var clock = new ManualClock(Start);
        var admission = new RtmpAdmission(new RtmpOptions { HandshakesPerSecondPerIp = 1, HandshakeBurstPerIp = 2, MaxConnectionsPerIp = 0 }, clock);
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(RtmpAdmission.Verdict.HandshakeRateExceeded, admission.TryAdmit(A, out _, out long refused));
        Assert.Equal(1, refused);
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(B, out _, out _));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(RtmpAdmission.Verdict.HandshakeRateExceeded, admission.TryAdmit(A, out _, out _));
        Assert.Equal(2, admission.Counters.HandshakesRateLimited);
    }

    [Fact]
    public void Connections_per_address_are_counted_until_released()
    {
        var admission = new RtmpAdmission(new RtmpOptions { MaxConnectionsPerIp = 2, HandshakesPerSecondPerIp = 0 }, new ManualClock(Start));
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(RtmpAdmission.Verdict.TooManyConnections, admission.TryAdmit(A, out int open, out _));
        Assert.Equal(2, open);
        admission.Release(A);
        Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(A, out _, out _));
        Assert.Equal(1, admission.Counters.ConnectionsRefusedPerIp);
    }

    [Fact]
    public void Failed_publishes_within_the_window_block_the_address_for_the_cool_down()
    {
        var clock = new ManualClock(Start);
        var admission = new RtmpAdmission(new RtmpOptions { MaxFailedPublishesPerIp = 3, FailedPublishWindowSeconds = 10, FailedPublishBlockSeconds = 30 }, clock);
        Assert.False(admission.RecordFailedPublish(A, out _));
        Assert.False(admission.RecordFailedPublish(A, out _));
        clock.Advance(TimeSpan.FromSeconds(11)); // those two leave the window
        Assert.False(admission.RecordFailedPublish(A, out _));
        Assert.False(admission.RecordFailedPublish(A, out _));
        Assert.False(admission.IsPublishBlocked(A, out _, out _));
        Assert.True(admission.RecordFailedPublish(A, out int failures));
        Assert.Equal(3, failures);
        Assert.True(admission.IsPublishBlocked(A, out failures, out var remaining));
        Assert.Equal(3, failures);
        Assert.Equal(TimeSpan.FromSeconds(30), remaining);
        Assert.False(admission.IsPublishBlocked(B, out _, out _));
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.False(admission.IsPublishBlocked(A, out _, out _));
    }

    [Fact]
    public void Addresses_with_nothing_to_remember_are_swept()
    {
        var clock = new ManualClock(Start);
        var admission = new RtmpAdmission(new RtmpOptions { HandshakesPerSecondPerIp = 10, HandshakeBurstPerIp = 10 }, clock);
        for (int i = 0; i < 100; i++)
        {
            var address = new IPAddress([198, 51, 100, (byte)i]);
            Assert.Equal(RtmpAdmission.Verdict.Admitted, admission.TryAdmit(address, out _, out _));
            admission.Release(address);
        }
        Assert.Equal(100, admission.TrackedAddresses);
        clock.Advance(TimeSpan.FromSeconds(10)); // buckets full again, nothing open
        admission.TryAdmit(A, out _, out _);
        Assert.Equal(1, admission.TrackedAddresses);
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    [InlineData(10, true)]
    [InlineData(11, false)]
    [InlineData(20, false)]
    [InlineData(100, true)]
    [InlineData(0, false)]
    public void Refusals_are_logged_at_powers_of_ten(long count, bool logged) => Assert.Equal(logged, RtmpAdmission.ShouldLog(count));
}
