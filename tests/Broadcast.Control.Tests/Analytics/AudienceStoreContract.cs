using Broadcast.Control.Analytics;
using Broadcast.Control.Persistence;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// The audience kept per broadcast (migration 0022) on each back-end: two nodes' samples of a bucket summed, a node's
/// sample written again replaced, one viewer seen by two nodes one row, the report's figures (peak, unique, minutes,
/// average and median, delivery split), other broadcasts kept apart, the daily salt shared and deleted, and the purge.
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
        await _store.WriteAsync(Sample("b", T0, 0, 2, 0), [new AudienceSessionRow("z", T0, T0, "llhls")]);
        await _store.WriteAsync(Sample("b", T0 + 10, 1, 0, 0), [new AudienceSessionRow("x", T0 + 10, T0 + 10, "hls")]);
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
        // x: T0..T0+10 (20 s), y: T0 (10 s), z: T0..T0+20 (30 s), r: T0+20 (10 s): 70 s in all.
        Assert.Equal((4L, 1.17, 17.5, 20L), (report.UniqueViewers, report.MinutesWatched, report.AverageWatchSeconds, report.MedianWatchSeconds));
        Assert.Equal((2L, 1L), (report.ByDelivery["hls"].PeakViewers, report.ByDelivery["hls"].Viewers));
        Assert.Equal((2L, 1L), (report.ByDelivery["llhls"].PeakViewers, report.ByDelivery["llhls"].Viewers));
        Assert.Equal((1L, 1L), (report.ByDelivery["dash"].PeakViewers, report.ByDelivery["dash"].Viewers));
        Assert.Equal((1L, 1L), (report.ByDelivery["whep"].PeakViewers, report.ByDelivery["whep"].Viewers));
        Assert.StartsWith("t,viewers,hls,llhls,dash,whep,uncounted\r\n", report.ToCsv(), StringComparison.Ordinal);
        Assert.Contains($"{DateTimeOffset.FromUnixTimeSeconds(T0).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},5,2,2,1,0,0\r\n", report.ToCsv(), StringComparison.Ordinal);

        Assert.Null(await _store.ReportAsync("ch1", "no-such-broadcast"));
        Assert.Null(await _store.ReportAsync("ch2", "b2"));
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

[Collection(PostgresCollection.Name)]
public sealed class PostgresAudienceStoreTests(PostgresTestCluster cluster) : AudienceStoreContract(new PostgresTestDatabases(cluster));
