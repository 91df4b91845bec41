using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Origin;
using Broadcast.Origin.Cmcd;
using Broadcast.Packager.Live;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.Observability.Tests;

/// <summary>
/// The playback quality kept per broadcast, from the origin's CMCD to the stored bucket: requests recorded through
/// <see cref="CmcdAudience"/>, sampled by the node's audience source, written by the sampler's one door into SQLite and read
/// back in the report (also for a channel whose only CMCD request was its master playlist).
/// </summary>
public sealed class CmcdQualitySampleTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 30, 6, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _directory = new();
    private readonly ManualClock _clock = new(Start);
    private ControlDatabase _database = null!;
    private SqlChannelRepository _channels = null!;
    private ChannelService _service = null!;

    public async Task InitializeAsync()
    {
        _database = new SqliteControlDatabase($"Data Source={System.IO.Path.Combine(_directory.Path, "broadcast.db")}");
        await _database.MigrateAsync();
        _channels = new SqlChannelRepository(_database);
        _service = new ChannelService(_channels, new StreamKeyProtector(new byte[32]), _clock, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _directory.Dispose();
    }

    private sealed class PackagingForTests(params string[] channels) : IPackagerStatus
    {
        public IReadOnlyList<StreamPackagerStatus> Streams => [.. channels.Select(Status)];

        public StreamPackagerStatus? Find(string channel) => channels.Contains(channel) ? Status(channel) : null;

        private static StreamPackagerStatus Status(string channel) =>
            new(channel, "b-" + channel, Recording: false, Ended: false, SegmentsWritten: 1, TimeSpan.FromSeconds(2), 2, []);
    }

    private static CmcdData Data(string text)
    {
        var data = new CmcdData();
        CmcdReader.Read(text, ref data);
        return data;
    }

    [Fact]
    public void The_origins_startup_bins_are_the_ones_control_keeps()
    {
        Assert.Equal(PlaybackQualityCounts.StartupUpperMs, CmcdStartup.UpperMs);
    }

    [Fact]
    public async Task Cmcd_requests_of_a_bucket_end_up_in_its_stored_quality_row()
    {
        string news = (await _service.CreateAsync(new ChannelSpec("news"))).Channel.Id;
        string quiz = (await _service.CreateAsync(new ChannelSpec("quiz"))).Channel.Id;
        var sessions = new ViewerSessions(_clock);
        var cmcd = new CmcdAudience(Options.Create(new OriginOptions()), _clock);

        // Session a: its playlist, media 1.2 s later (startup), a switch 800 -> 2500, then a stall.
        sessions.Touch("news", 1, ViewerDelivery.Hls);
        cmcd.Record("news", Data("ot=m,sf=h,sid=\"a\",st=l,su"), 1, isMedia: false);
        _clock.Advance(TimeSpan.FromMilliseconds(1200));
        cmcd.Record("news", Data("bl=0,br=800,mtp=5000,ot=v,sid=\"a\",su"), 1, isMedia: true);
        _clock.Advance(TimeSpan.FromSeconds(2));
        cmcd.Record("news", Data("bl=4000,br=2500,mtp=9000,ot=v,sid=\"a\""), 1, isMedia: true);
        _clock.Advance(TimeSpan.FromSeconds(1));
        cmcd.Record("news", Data("bl=0,br=2500,bs,ot=v,sid=\"a\""), 1, isMedia: true);
        // Session b (no sid: its client key): one media object at once (a start: 'su'); and a value the reader dropped as malformed.
        sessions.Touch("news", 77, ViewerDelivery.Dash);
        cmcd.Record("news", Data("bl=0,br=800,ot=v,su"), 77, isMedia: true);
        var malformed = Data("br=fast,ot=v");
        Assert.Equal(1, malformed.MalformedValues);
        cmcd.Record("news", malformed, 77, isMedia: true);
        // quiz: one player's master playlist with CMCD, no counted viewer.
        cmcd.Record("quiz", Data("ot=m,sid=\"q\""), 5, isMedia: false);

        _clock.Advance(TimeSpan.FromSeconds(6));
        long bucket = Start.ToUnixTimeSeconds();
        var source = new PipelineAudienceSource(sessions, new PackagingForTests("news", "quiz"), time: _clock, cmcd: cmcd);
        var store = new AudienceStore(_database);
        var sampler = new AudienceSampler(source, store, _channels, "node-a", _clock, NullLogger<AudienceSampler>.Instance);
        Assert.Equal(2, await sampler.SampleAsync(bucket, CancellationToken.None));

        var report = (await store.ReportAsync(news, "b-news"))!;
        Assert.Equal(2, Assert.Single(report.Series).Viewers);
        var q = Assert.Single(report.Quality!.Series);
        Assert.Equal((bucket, 2L, 1L, 1L, 2L, 1L, 1L), (q.T.ToUnixTimeSeconds(), q.Sessions, q.StalledSessions, q.Stalls, q.Startups, q.RungSwitches,
            q.MalformedValues));
        Assert.Equal([1L, 0, 1, 0, 0, 0], q.StartupBins); // 0 ms (b) and 1200 ms (a)
        Assert.Equal((600.0, 1650.0, 7000.0), (q.MeanStartupMs!.Value, q.MeanBitrateKbps!.Value, q.MeanThroughputKbps!.Value));

        var quizReport = (await store.ReportAsync(quiz, "b-quiz"))!;
        Assert.Equal(0, Assert.Single(quizReport.Series).Viewers);
        Assert.Equal((1L, 0L), (quizReport.Quality!.Series[0].Sessions, quizReport.Quality.Series[0].Startups));

        // Read again (a retried flush), the bucket says the same; a bucket without CMCD stores no quality.
        Assert.Equal(2, await sampler.SampleAsync(bucket, CancellationToken.None));
        Assert.Equal(2, Assert.Single((await store.ReportAsync(news, "b-news"))!.Quality!.Series).Sessions);
        Assert.Empty(cmcd.Sample(bucket + 10));
    }
}
