using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// The sampler between the pipeline's view and the store (SQLite, a manual clock): a bucket's broadcasts written under this
/// node, viewers stored only as salted keys, a broadcast of an unknown channel skipped, viewers beyond the cap counted as
/// uncounted, and the retention's purge.
/// </summary>
public sealed class AudienceSamplerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 5, 40, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private ControlDatabase _database = null!;
    private AudienceStore _store = null!;
    private SqlChannelRepository _channels = null!;
    private string _channelId = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={_directory.File("broadcast.db")}");
        await _database.MigrateAsync();
        _store = new AudienceStore(_database);
        _channels = new SqlChannelRepository(_database);
        var service = new ChannelService(_channels, new StreamKeyProtector(new byte[32]), _clock, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        _channelId = (await service.CreateAsync(new ChannelSpec("show"))).Channel.Id;
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private sealed class FakeSource(params LiveAudienceSample[] samples) : IAudienceSource
    {
        public long? Asked { get; private set; }

        public ValueTask<IReadOnlyList<LiveAudienceSample>> SampleAsync(long bucketStart, CancellationToken cancellationToken)
        {
            Asked = bucketStart;
            return ValueTask.FromResult<IReadOnlyList<LiveAudienceSample>>(samples);
        }
    }

    [Fact]
    public async Task A_bucket_is_written_under_this_node_with_viewers_as_salted_keys_and_the_cap_counted()
    {
        long bucket = Start.ToUnixTimeSeconds();
        var viewers = Enumerable.Range(1, 5).Select(i => new LiveViewer((ulong)(1_000_000 + i), bucket - 10, bucket, "hls")).ToArray();
        var source = new FakeSource(
            new LiveAudienceSample("show", "b1", 5, 5, 0, 0, viewers, Uncounted: 7),
            new LiveAudienceSample("deleted-channel", "b9", 1, 1, 0, 0, [new LiveViewer(1, bucket, bucket, "hls")], 0));
        var sampler = new AudienceSampler(source, _store, _channels, "node-a", _clock, NullLogger<AudienceSampler>.Instance, maxSessionsPerFlush: 3);

        Assert.Equal(1, await sampler.SampleAsync(bucket, CancellationToken.None));
        var report = (await _store.ReportAsync(_channelId, "b1"))!;
        var point = Assert.Single(report.Series);
        Assert.Equal((3L, 5L, 7L + 2), (point.Viewers, point.Hls, point.Uncounted));
        Assert.Equal(3, report.UniqueViewers);
        var rows = await Sql.QueryAsync(_database, "SELECT node_id FROM audience_samples", _ => { }, r => r.GetString(0), CancellationToken.None);
        Assert.Equal(["node-a"], rows);
        var keys = await Sql.QueryAsync(_database, "SELECT viewer FROM audience_sessions", _ => { }, r => r.GetString(0), CancellationToken.None);
        Assert.All(keys, k => Assert.Matches("^[0-9a-f]{32}$", k));
        Assert.DoesNotContain(keys, k => k.Contains("100000", StringComparison.Ordinal));
        byte[] salt = await _store.SaltAsync(DateOnly.FromDateTime(Start.UtcDateTime));
        Assert.Contains(AudienceStore.ViewerKey(salt, 1_000_001), keys);

        // A second flush of the same bucket (a retry) replaces the sample and leaves one row per viewer.
        Assert.Equal(1, await sampler.SampleAsync(bucket, CancellationToken.None));
        Assert.Equal(3, (await _store.ReportAsync(_channelId, "b1"))!.UniqueViewers);
        Assert.Single((await _store.ReportAsync(_channelId, "b1"))!.Series);

        // Retention: 90 days by default, from configuration 1..3650; a year later the purge takes it all.
        var options = AnalyticsOptions.From(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build());
        Assert.Equal(90, options.RetentionDays);
        _clock.Advance(TimeSpan.FromDays(91));
        Assert.Equal(4, await new AudienceRetention(_store, options, _clock, NullLogger<AudienceRetention>.Instance).RunOnceAsync(CancellationToken.None));
        Assert.Null(await _store.ReportAsync(_channelId, "b1"));
    }

    /// <summary>
    /// A show on both sides of midnight UTC (a North American evening show) counts each viewer once: its viewers are keyed
    /// under the salt of its first day, on every node and through the node route alike. A show still live two days later
    /// is keyed under the day before's salt (older ones are deleted), counting a viewer again that day.
    /// </summary>
    [Fact]
    public async Task A_show_across_midnight_keys_each_viewer_under_its_first_day()
    {
        long beforeMidnight = new DateTimeOffset(2026, 11, 30, 23, 59, 50, TimeSpan.Zero).ToUnixTimeSeconds();
        LiveAudienceSample Bucket(long bucket) => new("show", "late", 2, 2, 0, 0,
            [new LiveViewer(41, beforeMidnight, bucket, "hls"), new LiveViewer(42, beforeMidnight, bucket, "hls")], 0);
        var nodeA = new AudienceSampler(null, _store, _channels, "node-a", _clock, NullLogger<AudienceSampler>.Instance);
        var nodeB = new AudienceSampler(null, _store, _channels, "node-b", _clock, NullLogger<AudienceSampler>.Instance);

        await nodeA.WriteAsync(beforeMidnight, "node-a", [Bucket(beforeMidnight)], CancellationToken.None);
        await nodeA.WriteAsync(beforeMidnight + 10, "node-a", [Bucket(beforeMidnight + 10)], CancellationToken.None);
        // Another node's first write of the show comes after midnight: it reads the show's first day from the store.
        await nodeB.WriteAsync(beforeMidnight + 20, "node-b", [Bucket(beforeMidnight + 20)], CancellationToken.None);

        var report = (await _store.ReportAsync(_channelId, "late"))!;
        Assert.Equal(3, report.Series.Count);
        Assert.Equal(2, report.UniqueViewers);
        byte[] firstDay = await _store.SaltAsync(new DateOnly(2026, 11, 30));
        var keys = await Sql.QueryAsync(_database, "SELECT viewer FROM audience_sessions WHERE broadcast_id = 'late'", _ => { },
            r => r.GetString(0), CancellationToken.None);
        Assert.Equal(new[] { AudienceStore.ViewerKey(firstDay, 41), AudienceStore.ViewerKey(firstDay, 42) }.Order(StringComparer.Ordinal),
            keys.Order(StringComparer.Ordinal));

        // Two days on, the first day's salt is gone: the show's viewers are keyed under the day before's.
        long twoDaysOn = beforeMidnight + 2 * 86_400;
        await nodeA.WriteAsync(twoDaysOn, "node-a", [Bucket(twoDaysOn)], CancellationToken.None);
        byte[] dayBefore = await _store.SaltAsync(new DateOnly(2026, 12, 1));
        keys = await Sql.QueryAsync(_database, "SELECT viewer FROM audience_sessions WHERE broadcast_id = 'late'", _ => { },
            r => r.GetString(0), CancellationToken.None);
        Assert.Contains(AudienceStore.ViewerKey(dayBefore, 41), keys);
        Assert.Equal(4, (await _store.ReportAsync(_channelId, "late"))!.UniqueViewers);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("3651")]
    [InlineData("ninety")]
    [InlineData("-5")]
    public void A_bad_retention_stops_the_start_with_its_reason(string days)
    {
        var configuration = new Microsoft.Extensions.Configuration.ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Analytics:RetentionDays"] = days }).Build();
        var error = Assert.Throws<InvalidOperationException>(() => AnalyticsOptions.From(configuration));
        Assert.Contains("Analytics:RetentionDays", error.Message, StringComparison.Ordinal);
    }
}
