using Broadcast.Control.Analytics;
using Broadcast.Control.Persistence;
using Broadcast.TestSupport;
using Sql = Broadcast.Control.Persistence.Sql;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// The audience kept per broadcast (migration 0022) on each back-end: two nodes' samples of a bucket summed, a node's
/// sample written again replaced, one viewer seen by two nodes one row, the report's figures (peak, unique, minutes,
/// average and median, delivery split), other broadcasts kept apart, the daily salt shared and deleted, and the purge; and
/// each viewer's CMCD flags (migration 0025) kept once true across nodes and buckets; and the split by rung (migration 0027).
/// </summary>
public abstract class AudienceStoreContract(ITestDatabaseFactory factory) : IAsyncLifetime
{
    private const long T0 = 1_796_000_000; // a multiple of 10
    private ControlDatabase _database = null!;
    private AudienceStore _store = null!;

    public async Task InitializeAsync()
    {
        _database = factory.Create();
        await _database.MigrateAsync();
        _store = new AudienceStore(_database);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        (factory as IDisposable)?.Dispose();
    }

    private static AudienceSampleRow Sample(string node, long t, int hls, int llhls, int dash, string broadcast = "b1", string channel = "ch1") =>
        new(broadcast, channel, t, node, hls + llhls + dash, hls, llhls, dash, 0);

    [Fact]
    public async Task Nodes_samples_are_summed_per_bucket_and_a_viewer_on_two_nodes_is_one_row()
    {
        await _store.WriteAsync(Sample("a", T0, 9, 9, 9), [new AudienceSessionRow("x", T0, T0, "hls")]);
        // The same node's bucket written again replaces its row, never adds to it.
        await _store.WriteAsync(Sample("a", T0, 2, 0, 1), [new AudienceSessionRow("x", T0, T0, "hls"), new AudienceSessionRow("y", T0, T0, "dash")]);
        // Failed requests (migration 0026) add up over nodes per bucket, and over the show.
        await _store.WriteAsync(Sample("b", T0, 0, 2, 0) with { NotFound = 3, Unavailable = 1 }, [new AudienceSessionRow("z", T0, T0, "llhls")]);
        await _store.WriteAsync(Sample("b", T0 + 10, 1, 0, 0) with { NotFound = 2 }, [new AudienceSessionRow("x", T0 + 10, T0 + 10, "hls")]);
        await _store.WriteAsync(Sample("a", T0 + 20, 0, 1, 0) with { Viewers = 2, Whep = 1 },
            [new AudienceSessionRow("z", T0 + 10, T0 + 20, "llhls"), new AudienceSessionRow("r", T0 + 20, T0 + 20, "whep")]);
        // Another broadcast and another channel stay out of the report.
        await _store.WriteAsync(Sample("a", T0, 50, 0, 0, broadcast: "b2"), [new AudienceSessionRow("x", T0, T0 + 100, "hls")]);
        await _store.WriteAsync(Sample("a", T0, 50, 0, 0, channel: "ch2"), [new AudienceSessionRow("w", T0, T0, "hls")]);

        var report = await _store.ReportAsync("ch1", "b1");
        Assert.NotNull(report);
        Assert.Equal([(T0, 5L, 2L, 2L, 1L, 0L), (T0 + 10, 1, 1, 0, 0, 0), (T0 + 20, 2, 0, 1, 0, 1)],
            report.Series.Select(p => (p.T.ToUnixTimeSeconds(), p.Viewers, p.Hls, p.LowLatencyHls, p.Dash, p.Whep)));
        Assert.Equal((5L, DateTimeOffset.FromUnixTimeSeconds(T0)), (report.PeakViewers, report.PeakAt!.Value));
        Assert.Equal([(3L, 1L), (2L, 0L), (0L, 0L)], report.Series.Select(p => (p.NotFound, p.Unavailable)));
        Assert.Equal((5L, 1L), (report.NotFound, report.Unavailable));
        // x: T0..T0+10 (20 s), y: T0 (10 s), z: T0..T0+20 (30 s), r: T0+20 (10 s): 70 s in all.
        Assert.Equal((4L, 1.17, 17.5, 20L), (report.UniqueViewers, report.MinutesWatched, report.AverageWatchSeconds, report.MedianWatchSeconds));
        Assert.Equal((2L, 1L), (report.ByDelivery["hls"].PeakViewers, report.ByDelivery["hls"].Viewers));
        Assert.Equal((2L, 1L), (report.ByDelivery["llhls"].PeakViewers, report.ByDelivery["llhls"].Viewers));
        Assert.Equal((1L, 1L), (report.ByDelivery["dash"].PeakViewers, report.ByDelivery["dash"].Viewers));
        Assert.Equal((1L, 1L), (report.ByDelivery["whep"].PeakViewers, report.ByDelivery["whep"].Viewers));
        Assert.StartsWith("t,viewers,hls,llhls,dash,whep,uncounted,", report.ToCsv(), StringComparison.Ordinal);
        Assert.Contains($"{DateTimeOffset.FromUnixTimeSeconds(T0).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},5,2,2,1,0,0,0,0,0,0,,,,0,0,3,1\r\n", report.ToCsv(), StringComparison.Ordinal);
        Assert.EndsWith(",rung_switches,cmcd_malformed,not_found,unavailable", report.ToCsv().Split("\r\n")[0], StringComparison.Ordinal);
        Assert.Null(report.Quality); // no player sent CMCD

        Assert.Null(await _store.ReportAsync("ch1", "no-such-broadcast"));
        Assert.Null(await _store.ReportAsync("ch2", "b2"));
    }

    private static PlaybackQualityCounts Quality(long sessions, long stalled, long stalls, long[] startupBins, long startupMs,
        long bitrates, long bitrateSum, long throughputs, long throughputSum, long switches, long malformed = 0) =>
        new(sessions, stalled, stalls, startupBins.Sum(), startupMs, startupBins, bitrates, bitrateSum, throughputs, throughputSum, switches,
            malformed, 0);

    [Fact]
    public async Task Playback_quality_adds_across_nodes_and_buckets_is_replaced_on_rewrite_and_purged_with_the_audience()
    {
        // T0: node a (3 sessions, one stalled twice, startups 400 and 1500 ms) and node b (1 session, startup 9000 ms).
        await _store.WriteAsync(Sample("a", T0, 3, 0, 0) with { Quality = Quality(9, 9, 9, [9, 0, 0, 0, 0, 0], 9, 0, 0, 0, 0, 0) }, []);
        await _store.WriteAsync(Sample("a", T0, 3, 0, 0) with { Quality = Quality(3, 1, 2, [1, 0, 1, 0, 0, 0], 1900, 4, 8000, 2, 20_000, 1, malformed: 2) }, []);
        await _store.WriteAsync(Sample("b", T0, 1, 0, 0) with { Quality = Quality(1, 0, 0, [0, 0, 0, 0, 0, 1], 9000, 2, 1000, 0, 0, 0) }, []);
        // T0+10: node a only; T0+20: a bucket without CMCD (a rewrite without quality leaves none).
        await _store.WriteAsync(Sample("a", T0 + 10, 2, 0, 0) with { Quality = Quality(2, 2, 4, [1, 0, 0, 0, 0, 0], 300, 2, 6000, 2, 10_000, 3) }, []);
        await _store.WriteAsync(Sample("a", T0 + 20, 1, 0, 0) with { Quality = Quality(1, 1, 1, [0, 0, 0, 0, 0, 0], 0, 0, 0, 0, 0, 0) }, []);
        await _store.WriteAsync(Sample("a", T0 + 20, 1, 0, 0), []);
        // Another broadcast's quality stays out.
        await _store.WriteAsync(Sample("a", T0, 1, 0, 0, broadcast: "b2") with { Quality = Quality(50, 50, 50, [0, 0, 0, 0, 0, 0], 0, 0, 0, 0, 0, 0) }, []);

        var report = (await _store.ReportAsync("ch1", "b1"))!;
        var q = report.Quality!;
        // Buckets of counts without a viewer's flags: no CMCD viewer known, so no share.
        Assert.Equal((0L, 0L, (double?)null), (q.CmcdViewers, q.StalledViewers, q.StalledViewerShare));
        Assert.Equal([(T0, 4L, 1L, 2L, 3L), (T0 + 10, 2, 2, 4, 1)], q.Series.Select(p => (p.T.ToUnixTimeSeconds(), p.Sessions, p.StalledSessions, p.Stalls, p.Startups)));
        Assert.Equal((3633.3, 1500.0, 10_000.0), (q.Series[0].MeanStartupMs!.Value, q.Series[0].MeanBitrateKbps!.Value, q.Series[0].MeanThroughputKbps!.Value));
        // Whole show: 6 session-buckets (60 s), 3 of them stalled, 6 stalls, 4 startups (400, 1500, 9000, 300 ms).
        Assert.Equal((4L, DateTimeOffset.FromUnixTimeSeconds(T0)), (q.PeakSessions, q.PeakAt!.Value));
        Assert.Equal((0.017, 0.5, 6L, 360.0), (q.SessionHours, q.StalledShare, q.Stalls, q.StallsPerSessionHour));
        Assert.Equal((4L, 2800.0), (q.Startups, q.MeanStartupMs!.Value));
        Assert.Equal([2L, 0, 1, 0, 0, 1], q.StartupBins);
        Assert.Equal(2000L, q.MedianStartupAtMostMs); // the upper middle of 300, 400, 1500, 9000
        Assert.Equal((1875.0, 7500.0), (q.MeanBitrateKbps!.Value, q.MeanThroughputKbps!.Value)); // 15,000 / 8 and 30,000 / 4
        Assert.Equal((4L, 240.0, 2L), (q.RungSwitches, q.RungSwitchesPerSessionHour, q.MalformedValues));

        string csv = report.ToCsv();
        Assert.StartsWith("t,viewers,hls,llhls,dash,whep,uncounted,cmcd_sessions,stalled_sessions,stalls,startups,mean_startup_ms," +
            "mean_bitrate_kbps,mean_throughput_kbps,rung_switches,cmcd_malformed,not_found,unavailable\r\n", csv, StringComparison.Ordinal);
        Assert.Contains($"{DateTimeOffset.FromUnixTimeSeconds(T0).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},4,4,0,0,0,0,4,1,2,3,3633.3,1500,10000,1,2,0,0\r\n", csv, StringComparison.Ordinal);
        Assert.Contains($"{DateTimeOffset.FromUnixTimeSeconds(T0 + 20).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},1,1,0,0,0,0,0,0,0,0,,,,0,0,0,0\r\n", csv, StringComparison.Ordinal);

        // The purge takes a bucket's quality with its sample: the rows of T0 (a, b, a's other broadcast) and T0+10's sample and quality.
        int deleted = await _store.PurgeAsync(DateTimeOffset.FromUnixTimeSeconds(T0 + 20));
        Assert.Equal(4 + 4, deleted);
        Assert.Null((await _store.ReportAsync("ch1", "b1"))!.Quality);
    }

    [Fact]
    public async Task Cmcd_viewers_count_once_over_nodes_and_buckets_and_a_stall_on_one_node_marks_the_viewer_for_the_show()
    {
        // x: CMCD on a, CMCD with a stall on b in the same bucket, then CMCD without a stall on a; z: CMCD on a, then a bucket
        // on b that said nothing of CMCD (a node that predates the flags); y: never CMCD. No quality rows at all.
        await _store.WriteAsync(Sample("a", T0, 3, 0, 0), [new AudienceSessionRow("x", T0, T0, "hls", Cmcd: true),
            new AudienceSessionRow("y", T0, T0, "hls"), new AudienceSessionRow("z", T0, T0, "hls", Cmcd: true)]);
        await _store.WriteAsync(Sample("b", T0, 1, 0, 0), [new AudienceSessionRow("x", T0, T0, "hls", Cmcd: true, Stalled: true)]);
        await _store.WriteAsync(Sample("a", T0 + 10, 1, 0, 0), [new AudienceSessionRow("x", T0, T0 + 10, "hls", Cmcd: true)]);
        await _store.WriteAsync(Sample("b", T0 + 10, 1, 0, 0), [new AudienceSessionRow("z", T0, T0 + 10, "hls")]);
        // A node's bucket written again without the flags (a retry of an older post) takes none away.
        await _store.WriteAsync(Sample("b", T0, 1, 0, 0), [new AudienceSessionRow("x", T0, T0, "hls")]);
        // A row written before migration 0025 (no flags given) reads as a viewer without CMCD.
        await Sql.ExecuteAsync(_database, "INSERT INTO audience_sessions (broadcast_id, viewer, channel_id, first_seen, last_seen, delivery) " +
            "VALUES ('b1', 'old', 'ch1', @t, @t, 'dash')", c => Sql.Add(c, "t", T0), CancellationToken.None);
        // Another broadcast's CMCD viewers stay out.
        await _store.WriteAsync(Sample("a", T0, 1, 0, 0, broadcast: "b2"), [new AudienceSessionRow("s", T0, T0, "hls", Cmcd: true, Stalled: true)]);

        var report = (await _store.ReportAsync("ch1", "b1"))!;
        Assert.Equal(4, report.UniqueViewers);
        var q = report.Quality!; // shown for the viewers' flags alone, with no bucket of counts
        Assert.Equal((2L, 1L, 0.5), (q.CmcdViewers, q.StalledViewers, q.StalledViewerShare!.Value));
        Assert.Equal((0L, (DateTimeOffset?)null, 0.0, 0.0), (q.PeakSessions, q.PeakAt, q.SessionHours, q.StalledShare));
        Assert.Empty(q.Series);

        var other = (await _store.ReportAsync("ch1", "b2"))!.Quality!;
        Assert.Equal((1L, 1L, 1.0), (other.CmcdViewers, other.StalledViewers, other.StalledViewerShare!.Value));
    }

    [Fact]
    public async Task A_viewer_two_nodes_served_in_one_bucket_counts_once_in_the_concurrent_viewers()
    {
        // x watches through both nodes in T0; y only on a, z only on b: three viewers, not four.
        await _store.WriteAsync(Sample("a", T0, 1, 0, 1), [new AudienceSessionRow("x", T0, T0, "hls"), new AudienceSessionRow("y", T0, T0, "dash")]);
        await _store.WriteAsync(Sample("b", T0, 1, 1, 0), [new AudienceSessionRow("x", T0, T0, "hls"), new AudienceSessionRow("z", T0, T0, "llhls")]);
        // A node's bucket written again (a retry) keeps the viewers it counted first.
        await _store.WriteAsync(Sample("a", T0, 1, 0, 1), [new AudienceSessionRow("x", T0, T0, "hls"), new AudienceSessionRow("y", T0, T0, "dash")]);
        // Next bucket: b writes first, then x reaches a too.
        await _store.WriteAsync(Sample("b", T0 + 10, 1, 0, 0), [new AudienceSessionRow("x", T0, T0 + 10, "hls")]);
        await _store.WriteAsync(Sample("a", T0 + 10, 1, 0, 0), [new AudienceSessionRow("x", T0, T0 + 10, "hls")]);

        var report = (await _store.ReportAsync("ch1", "b1"))!;
        Assert.Equal([(T0, 3L, 1L, 1L, 1L), (T0 + 10, 1, 1, 0, 0)],
            report.Series.Select(p => (p.T.ToUnixTimeSeconds(), p.Viewers, p.Hls, p.LowLatencyHls, p.Dash)));
        Assert.Equal((3L, 3L), (report.PeakViewers, report.UniqueViewers));
    }

    [Fact]
    public async Task The_split_by_rung_counts_a_viewer_two_nodes_served_once_is_replaced_on_rewrite_and_is_purged_with_the_audience()
    {
        // T0: a counts x (720p), y (480p) and z (no rung known); b then counts w (1080p) and x, whom a counted already.
        await _store.WriteAsync(Sample("a", T0, 3, 0, 0), [new AudienceSessionRow("x", T0, T0, "hls", Rung: "720p"),
            new AudienceSessionRow("y", T0, T0, "hls", Rung: "480p"), new AudienceSessionRow("z", T0, T0, "dash")]);
        await _store.WriteAsync(Sample("b", T0, 2, 0, 0), [new AudienceSessionRow("w", T0, T0, "hls", Rung: "1080p"),
            new AudienceSessionRow("x", T0, T0, "hls", Rung: "720p")]);
        // T0+10: x switched down; a's bucket written again (a retry) replaces its rows, never adds to them.
        AudienceSessionRow[] next = [new("x", T0, T0 + 10, "hls", Rung: "480p"), new("y", T0, T0 + 10, "hls", Rung: "480p")];
        await _store.WriteAsync(Sample("a", T0 + 10, 2, 0, 0), next);
        await _store.WriteAsync(Sample("a", T0 + 10, 2, 0, 0), next);
        // Another broadcast's rungs stay out.
        await _store.WriteAsync(Sample("a", T0, 1, 0, 0, broadcast: "b2"), [new AudienceSessionRow("x", T0, T0, "hls", Rung: "360p")]);

        var report = (await _store.ReportAsync("ch1", "b1"))!;
        Assert.Equal(["1080p", "480p", "720p"], report.ByRung!.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(new AudienceRung(1, 0.17), report.ByRung["720p"]);
        Assert.Equal(new AudienceRung(2, 0.5), report.ByRung["480p"]); // 1 then 2 viewers: 30 s
        Assert.Equal(new AudienceRung(1, 0.17), report.ByRung["1080p"]);
        Assert.Equal(new Dictionary<string, long> { ["720p"] = 1, ["480p"] = 1, ["1080p"] = 1 }, report.Series[0].Rungs);
        Assert.Equal(new Dictionary<string, long> { ["480p"] = 2 }, report.Series[1].Rungs);

        // The CSV appends a column per rung, "other" last; the columns before keep their places.
        var lines = report.ToCsv().Split("\r\n");
        Assert.EndsWith(",rung_switches,cmcd_malformed,not_found,unavailable,rung:1080p,rung:480p,rung:720p", lines[0], StringComparison.Ordinal);
        Assert.Equal($"{DateTimeOffset.FromUnixTimeSeconds(T0).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},4,4,0,0,0,0,0,0,0,0,,,,0,0,0,0,1,1,1", lines[1]);
        Assert.EndsWith(",0,0,0,2,0", lines[2], StringComparison.Ordinal);

        // However many names a caller gives, a bucket keeps 16 and "other".
        var many = Enumerable.Range(1, 20).Select(i => new AudienceSessionRow($"m{i}", T0 + 20, T0 + 20, "hls", Rung: $"r{i}")).ToList();
        await _store.WriteAsync(Sample("a", T0 + 20, 20, 0, 0), many);
        var split = (await _store.ReportAsync("ch1", "b1"))!.Series[2].Rungs!;
        Assert.Equal((AudienceRungs.MaxValues, 4L), (split.Count, split[AudienceRungs.Other]));

        // The purge takes a bucket's rungs with its sample: samples of T0 (a, b, a's b2) and T0+10 (a); viewers last seen
        // before T0+20 (x, y, z, w, and b2's x); rung rows of T0 (a: 2, b: 1, b2: 1) and T0+10 (1).
        int deleted = await _store.PurgeAsync(DateTimeOffset.FromUnixTimeSeconds(T0 + 20));
        Assert.Equal(4 + 5 + 4 + 1, deleted);
        Assert.Equal([T0 + 20], (await _store.ReportAsync("ch1", "b1"))!.Series.Select(p => p.T.ToUnixTimeSeconds()));
    }

    [Fact]
    public async Task Many_viewers_are_written_in_one_flush_and_the_purge_takes_what_is_older_than_retention()
    {
        var viewers = Enumerable.Range(0, 1001).Select(i => new AudienceSessionRow($"v{i}", T0, T0 + (10 * (i % 3)), "dash")).ToList();
        await _store.WriteAsync(Sample("a", T0, 0, 0, 1001), viewers);
        await _store.WriteAsync(Sample("a", T0 + 3600, 0, 0, 1), [new AudienceSessionRow("late", T0 + 3600, T0 + 3600, "dash")]);
        var report = (await _store.ReportAsync("ch1", "b1"))!;
        Assert.Equal((1002L, 20L), (report.UniqueViewers, report.MedianWatchSeconds));

        Assert.Equal(1 + 1001, await _store.PurgeAsync(DateTimeOffset.FromUnixTimeSeconds(T0 + 1000)));
        report = (await _store.ReportAsync("ch1", "b1"))!;
        Assert.Equal((1L, 1), (report.UniqueViewers, report.Series.Count));
        Assert.Equal(0, await _store.PurgeAsync(DateTimeOffset.FromUnixTimeSeconds(T0 + 1000)));
    }

    [Fact]
    public async Task The_day_salt_is_shared_and_deleted_after_a_day_and_keys_reveal_nothing()
    {
        var day = new DateOnly(2026, 11, 30);
        byte[] salt = await _store.SaltAsync(day);
        Assert.Equal(salt, await new AudienceStore(_database).SaltAsync(day)); // another node the same day
        byte[] next = await _store.SaltAsync(day.AddDays(1));
        Assert.NotEqual(salt, next);
        Assert.Equal(salt, await _store.SaltAsync(day)); // yesterday's is kept, for viewers across midnight's flush
        await _store.SaltAsync(day.AddDays(2));
        Assert.NotEqual(salt, await _store.SaltAsync(day)); // gone: a new one, so older keys tie to nobody

        string key = AudienceStore.ViewerKey(next, 12345);
        Assert.Equal(key, AudienceStore.ViewerKey(next, 12345));
        Assert.NotEqual(key, AudienceStore.ViewerKey(salt, 12345));
        Assert.Matches("^[0-9a-f]{32}$", key);
    }
}

public sealed class SqliteAudienceStoreTests() : AudienceStoreContract(new SqliteTestDatabases());

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresAudienceStoreTests(PostgresTestCluster cluster) : AudienceStoreContract(new PostgresTestDatabases(cluster));
