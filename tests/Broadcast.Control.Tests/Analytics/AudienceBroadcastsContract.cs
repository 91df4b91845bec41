using Broadcast.Control.Analytics;
using Broadcast.Control.Persistence;
using Broadcast.TestSupport;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// The list of a channel's broadcasts with audience kept (<see cref="AudienceBroadcasts"/>) on each back-end: newest first,
/// the peak of buckets summed over nodes (not one node's row), unique viewers counted, other channels kept apart, the
/// limit honoured and refused out of range, purged broadcasts gone.
/// </summary>
public abstract class AudienceBroadcastsContract(ITestDatabaseFactory factory) : IAsyncLifetime
{
    private const long T0 = 1_796_000_000; // a multiple of 10
    private ControlDatabase _database = null!;
    private AudienceStore _store = null!;
    private AudienceBroadcasts _broadcasts = null!;

    public async Task InitializeAsync()
    {
        _database = factory.Create();
        await _database.MigrateAsync();
        _store = new AudienceStore(_database);
        _broadcasts = new AudienceBroadcasts(_database);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        (factory as IDisposable)?.Dispose();
    }

    private static AudienceSampleRow Sample(string broadcast, string node, long t, int viewers, string channel = "ch1") =>
        new(broadcast, channel, t, node, viewers, viewers, 0, 0, 0);

    [Fact]
    public async Task Broadcasts_are_listed_newest_first_with_their_span_peak_and_unique_viewers()
    {
        Assert.Empty(await _broadcasts.ListAsync("ch1"));

        // b1: two nodes in T0 (3 + 2: a peak of 5 no node saw alone), then 4 on one node; three viewers.
        await _store.WriteAsync(Sample("b1", "a", T0, 3), [new("x", T0, T0, "hls"), new("y", T0, T0, "hls")]);
        await _store.WriteAsync(Sample("b1", "b", T0, 2), [new("z", T0, T0, "hls")]);
        await _store.WriteAsync(Sample("b1", "a", T0 + 10, 4), [new("x", T0 + 10, T0 + 10, "hls")]);
        // b2 starts later: listed first. A bucket without viewers keeps it listed, with none unique.
        await _store.WriteAsync(Sample("b2", "a", T0 + 3600, 0), []);
        await _store.WriteAsync(Sample("b2", "a", T0 + 3620, 1), [new("w", T0 + 3620, T0 + 3620, "hls")]);
        // Another channel's broadcast of the same id and a later one stay out.
        await _store.WriteAsync(Sample("b1", "a", T0, 50, channel: "ch2"), [new("v", T0, T0, "hls")]);
        await _store.WriteAsync(Sample("b9", "a", T0 + 9000, 7, channel: "ch2"), []);

        var list = await _broadcasts.ListAsync("ch1");
        Assert.Equal([
            new AudienceBroadcast("b2", DateTimeOffset.FromUnixTimeSeconds(T0 + 3600), DateTimeOffset.FromUnixTimeSeconds(T0 + 3620), 1, 1),
            new AudienceBroadcast("b1", DateTimeOffset.FromUnixTimeSeconds(T0), DateTimeOffset.FromUnixTimeSeconds(T0 + 10), 5, 3),
        ], list);
        // The list's peak is the report's.
        Assert.Equal((await _store.ReportAsync("ch1", "b1"))!.PeakViewers, list[1].PeakViewers);
        Assert.Equal(["b9", "b1"], (await _broadcasts.ListAsync("ch2")).Select(b => b.BroadcastId));
        Assert.Empty(await _broadcasts.ListAsync("ch3"));
    }

    [Fact]
    public async Task The_limit_keeps_the_newest_and_is_bounded_and_purged_broadcasts_leave_the_list()
    {
        for (int i = 0; i < 105; i++)
        {
            await _store.WriteAsync(Sample($"b{i:000}", "a", T0 + (i * 60), i % 7), []);
        }

        var all = await _broadcasts.ListAsync("ch1");
        Assert.Equal(AudienceBroadcasts.MaxLimit, all.Count);
        Assert.Equal(Enumerable.Range(5, 100).Reverse().Select(i => $"b{i:000}"), all.Select(b => b.BroadcastId));
        Assert.Equal(["b104", "b103", "b102"], (await _broadcasts.ListAsync("ch1", 3)).Select(b => b.BroadcastId));
        Assert.Equal("b104", Assert.Single(await _broadcasts.ListAsync("ch1", 1)).BroadcastId);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _broadcasts.ListAsync("ch1", 0));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => _broadcasts.ListAsync("ch1", AudienceBroadcasts.MaxLimit + 1));

        // Two broadcasts starting in one bucket: ordered by id, descending, so a page is stable.
        await _store.WriteAsync(Sample("tie-a", "a", T0 + 7000, 1), []);
        await _store.WriteAsync(Sample("tie-b", "a", T0 + 7000, 1), []);
        Assert.Equal(["tie-b", "tie-a"], (await _broadcasts.ListAsync("ch1", 2)).Select(b => b.BroadcastId));

        await _store.PurgeAsync(DateTimeOffset.FromUnixTimeSeconds(T0 + (100 * 60)));
        Assert.Equal(["tie-b", "tie-a", "b104", "b103", "b102", "b101", "b100"], (await _broadcasts.ListAsync("ch1")).Select(b => b.BroadcastId));
    }
}

public sealed class SqliteAudienceBroadcastsTests() : AudienceBroadcastsContract(new SqliteTestDatabases());

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresAudienceBroadcastsTests(PostgresTestCluster cluster) : AudienceBroadcastsContract(new PostgresTestDatabases(cluster));
