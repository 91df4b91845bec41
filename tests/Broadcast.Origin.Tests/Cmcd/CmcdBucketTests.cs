using Broadcast.Origin.Cmcd;
using Broadcast.TestSupport;
using Microsoft.Extensions.Options;

namespace Broadcast.Origin.Tests.Cmcd;

/// <summary>
/// CMCD counted per channel and 10 s bucket (<see cref="CmcdAudience.Sample"/>): a session counted once a bucket however many
/// requests it makes, each bucket its own, channels apart, startups in their bins, sessions beyond the cap counted as
/// refused, and a slot reused three buckets later no longer answering for its old bucket.
/// </summary>
public sealed class CmcdBucketTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);

    private static CmcdData Data(string text)
    {
        var data = new CmcdData();
        Assert.Equal(CmcdReadResult.Read, CmcdReader.Read(text, ref data));
        return data;
    }

    [Fact]
    public void Each_bucket_counts_its_own_sessions_stalls_and_startups()
    {
        var clock = new ManualClock(Start);
        var audience = new CmcdAudience(Options.Create(new OriginOptions { CmcdMaxSessionsPerChannel = 2 }), clock);
        long t0 = Start.ToUnixTimeSeconds();

        // Bucket t0: a asks its playlist and starts 9 s later (a slow start); b starts at once and stalls twice.
        audience.Record("ch", Data("ot=m,sid=\"a\""), 1, isMedia: false);
        audience.Record("ch", Data("ot=v,br=1000,sid=\"b\""), 2, isMedia: true);
        audience.Record("ch", Data("ot=v,br=1000,bs,sid=\"b\""), 2, isMedia: true);
        audience.Record("ch", Data("ot=v,br=1000,bs,sid=\"b\""), 2, isMedia: true);
        audience.Record("ch", Data("ot=v,sid=\"c\""), 3, isMedia: true); // a third session: over the cap of two
        audience.Record("other", Data("ot=v,br=300,sid=\"a\""), 1, isMedia: true);
        clock.Advance(TimeSpan.FromSeconds(9));
        audience.Record("ch", Data("ot=v,br=2000,sid=\"a\""), 1, isMedia: true);

        // Bucket t0 + 10: only a, once, with a switch to 3000.
        clock.Advance(TimeSpan.FromSeconds(2));
        audience.Record("ch", Data("ot=v,br=3000,mtp=4000,sid=\"a\""), 1, isMedia: true);

        var first = Assert.Single(audience.Sample(t0), s => s.Channel == "ch");
        Assert.Equal((2L, 1L, 2L, 2L, 9000L, 0L, 1L), (first.Sessions, first.StalledSessions, first.Stalls, first.Startups, first.StartupMsSum,
            first.RungSwitches, first.SessionsRefused));
        Assert.Equal([1L, 0, 0, 0, 0, 1], first.StartupBins);
        Assert.Equal((4L, 5000L), (first.BitrateSamples, first.BitrateKbpsSum));
        Assert.Equal(1L, Assert.Single(audience.Sample(t0), s => s.Channel == "other").Sessions);

        var second = Assert.Single(audience.Sample(t0 + 10));
        Assert.Equal((1L, 0L, 0L, 1L, 1L, 4000L), (second.Sessions, second.Startups, second.Stalls, second.RungSwitches, second.ThroughputSamples,
            second.ThroughputKbpsSum));

        // Three buckets on, t0's slot holds another bucket: t0 is no longer answered (the sampler read it long before).
        clock.Advance(TimeSpan.FromSeconds(20));
        audience.Record("ch", Data("ot=v,sid=\"a\""), 1, isMedia: true);
        Assert.DoesNotContain(audience.Sample(t0), s => s.Channel == "ch");
        Assert.Equal(1L, Assert.Single(audience.Sample(t0 + 30), s => s.Channel == "ch").Sessions);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(500, 0)]
    [InlineData(501, 1)]
    [InlineData(2000, 2)]
    [InlineData(8000, 4)]
    [InlineData(8001, 5)]
    [InlineData(int.MaxValue, 5)]
    public void A_startup_falls_in_its_bin(int ms, int bin) => Assert.Equal(bin, CmcdStartup.BinOf(ms));
}
