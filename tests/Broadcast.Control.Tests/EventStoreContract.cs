using System.Security.Cryptography;
using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security;
using Broadcast.Control.Users;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests;

/// <summary>
/// Events, recordings and admin users on each back-end: the same contract, a fresh database per test.
/// The overlap guard is tested below the service (straight into the repository) to prove the database
/// itself refuses what a racing second writer would slip past the service's check.
/// </summary>
public abstract class EventStoreContract : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2030, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ITestDatabaseFactory _factory;

    protected EventStoreContract(ITestDatabaseFactory factory) => _factory = factory;

    private ControlDatabase Database { get; set; } = null!;

    private SqlEventRepository Events { get; set; } = null!;

    private ChannelService Channels { get; set; } = null!;

    private EventService Service { get; set; } = null!;

    private ManualClock Clock { get; } = new(T0 - TimeSpan.FromHours(1));

    public async Task InitializeAsync()
    {
        Database = _factory.Create();
        await Database.MigrateAsync();
        Events = new SqlEventRepository(Database);
        Channels = new ChannelService(new SqlChannelRepository(Database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), Clock, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        Service = new EventService(Events, Channels, new ControlSettings { PublishLead = TimeSpan.FromMinutes(15) }, Clock, [],
            new RecordingTerminator(), new LocalPublishRuleChanges(), NullLogger<EventService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        (_factory as IDisposable)?.Dispose();
    }

    private sealed class RecordingTerminator : IBroadcastTerminator
    {
        public List<string> Ended { get; } = [];

        public ValueTask<bool> EndBroadcastAsync(Channel channel, string reason, CancellationToken cancellationToken)
        {
            Ended.Add(channel.Slug);
            return ValueTask.FromResult(true);
        }
    }

    private async Task<Channel> NewChannelAsync(string name = "Main stage", bool requireSchedule = true)
        => (await Channels.CreateAsync(new ChannelSpec(name, requireSchedule))).Channel;

    private static BroadcastEvent Row(string channelId, DateTimeOffset start, DateTimeOffset end, EventState state = EventState.Scheduled)
        => new(Guid.NewGuid().ToString("N"), channelId, "Talk", "", start, end, true, state, false, null, null, T0, T0);

    [Fact]
    public async Task Event_row_reads_back_identically()
    {
        var channel = await NewChannelAsync();
        var row = Row(channel.Id, T0, T0.AddHours(1)) with { Description = "Opening keynote", LiveAt = T0.AddSeconds(3), EndedAt = T0.AddMinutes(59.5) };
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(row));
        Assert.Equal(row, await Events.GetAsync(row.Id));
        Assert.Null(await Events.GetAsync("missing"));
    }

    [Fact]
    public async Task Database_refuses_overlapping_events_of_one_channel_but_not_touching_or_other_channels()
    {
        var a = await NewChannelAsync("A");
        var b = await NewChannelAsync("B");
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(Row(a.Id, T0, T0.AddHours(1))));
        // Overlaps by one millisecond at either end, or contains it: refused by the constraint/trigger itself.
        Assert.Equal(EventWriteResult.Overlap, await Events.InsertAsync(Row(a.Id, T0.AddHours(1).AddMilliseconds(-1), T0.AddHours(2))));
        Assert.Equal(EventWriteResult.Overlap, await Events.InsertAsync(Row(a.Id, T0.AddHours(-1), T0.AddMilliseconds(1))));
        Assert.Equal(EventWriteResult.Overlap, await Events.InsertAsync(Row(a.Id, T0.AddMinutes(10), T0.AddMinutes(20))));
        // Half-open ranges: back to back is fine; another channel is fine.
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(Row(a.Id, T0.AddHours(1), T0.AddHours(2))));
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(Row(b.Id, T0, T0.AddHours(1))));
        // A cancelled event frees its slot.
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(Row(a.Id, T0.AddHours(3), T0.AddHours(4), EventState.Cancelled)));
        Assert.Equal(EventWriteResult.Saved, await Events.InsertAsync(Row(a.Id, T0.AddHours(3), T0.AddHours(4))));
    }

    [Fact]
    public async Task Update_into_an_overlap_is_refused_and_unknown_channel_reported()
    {
        var a = await NewChannelAsync();
        var first = Row(a.Id, T0, T0.AddHours(1));
        var second = Row(a.Id, T0.AddHours(2), T0.AddHours(3));
        await Events.InsertAsync(first);
        await Events.InsertAsync(second);
        Assert.Equal(EventWriteResult.Overlap, await Events.UpdateAsync(second with { StartsAt = T0.AddMinutes(30) }));
        Assert.Equal(T0.AddHours(2), (await Events.GetAsync(second.Id))!.StartsAt);
        Assert.Equal(EventWriteResult.NotFound, await Events.UpdateAsync(Row(a.Id, T0.AddDays(1), T0.AddDays(1).AddHours(1))));
        Assert.Equal(EventWriteResult.NoChannel, await Events.InsertAsync(Row("no-such-channel", T0.AddDays(2), T0.AddDays(2).AddHours(1))));
    }

    [Fact]
    public async Task Transition_is_a_compare_and_set()
    {
        var a = await NewChannelAsync();
        var row = Row(a.Id, T0, T0.AddHours(1));
        await Events.InsertAsync(row);
        Assert.True(await Events.TransitionAsync(row.Id, [EventState.Scheduled], EventState.Ready, T0));
        Assert.False(await Events.TransitionAsync(row.Id, [EventState.Scheduled], EventState.Ready, T0));
        Assert.True(await Events.TransitionAsync(row.Id, [EventState.Ready], EventState.Live, T0, liveAt: T0.AddSeconds(1)));
        Assert.True(await Events.TransitionAsync(row.Id, [EventState.Live], EventState.Ended, T0, endedAt: T0.AddHours(1)));
        var ended = await Events.GetAsync(row.Id);
        Assert.Equal((EventState.Ended, T0.AddSeconds(1), T0.AddHours(1)), (ended!.State, ended.LiveAt, ended.EndedAt));
        Assert.False(await Events.MarkLateAsync(row.Id, T0));
    }

    [Fact]
    public async Task List_filters_by_channel_and_intersecting_range()
    {
        var a = await NewChannelAsync("A");
        var b = await NewChannelAsync("B");
        var e1 = Row(a.Id, T0, T0.AddHours(1));
        var e2 = Row(a.Id, T0.AddHours(2), T0.AddHours(3));
        var e3 = Row(b.Id, T0, T0.AddHours(1));
        foreach (var e in new[] { e2, e1, e3 }) await Events.InsertAsync(e);
        Assert.Equal([e1.Id, e2.Id], (await Events.ListAsync(a.Id, null, null)).Select(e => e.Id));
        Assert.Equal([e2.Id], (await Events.ListAsync(a.Id, T0.AddHours(1), null)).Select(e => e.Id));
        Assert.Equal([e1.Id], (await Events.ListAsync(a.Id, null, T0.AddHours(2))).Select(e => e.Id));
        Assert.Equal(3, (await Events.ListAsync(null, T0.AddMinutes(30), T0.AddHours(2).AddMinutes(1))).Count);
    }

    [Fact]
    public async Task Service_window_opens_lead_before_start_and_closes_at_end()
    {
        var channel = await NewChannelAsync("Keynote hall");
        Clock.SetUtcNow(T0 - TimeSpan.FromHours(2));
        var ev = await Service.CreateAsync(new EventSpec(channel.Id, "Keynote", null, T0, T0.AddHours(1), true));

        Clock.SetUtcNow(T0 - TimeSpan.FromMinutes(16));
        var before = await Service.CanPublishAsync(channel, Clock.GetUtcNow());
        Assert.False(before.Allowed);
        Assert.Equal("no event scheduled now; next event 'Keynote' opens at 2030-05-01 11:45:00Z", before.Reason);

        Clock.SetUtcNow(T0 - TimeSpan.FromMinutes(15));
        var open = await Service.CanPublishAsync(channel, Clock.GetUtcNow());
        Assert.True(open.Allowed);
        Assert.Equal(ev.Id, open.Event!.Id);
        Assert.Equal(EventState.Live, (await Service.OnPublishedAsync(channel.Id))!.State);

        Clock.SetUtcNow(T0.AddHours(1));
        Assert.False((await Service.CanPublishAsync(channel, Clock.GetUtcNow())).Allowed);
        // A channel without RequireSchedule always may publish.
        Assert.True((await Service.CanPublishAsync(channel with { RequireSchedule = false }, Clock.GetUtcNow())).Allowed);
    }

    [Fact]
    public async Task Service_rejects_overlap_and_ending_twice_is_idempotent()
    {
        var channel = await NewChannelAsync();
        var ev = await Service.CreateAsync(new EventSpec(channel.Id, "First", null, T0, T0.AddHours(1), false));
        var overlap = await Assert.ThrowsAsync<ValidationFailedException>(() =>
            Service.CreateAsync(new EventSpec(channel.Id, "Second", null, T0.AddMinutes(30), T0.AddHours(2), false)));
        Assert.Contains("'First'", Assert.Single(overlap.Errors["startsAt"]), StringComparison.Ordinal);

        var ended = await Service.EndAsync(ev.Id, "test");
        Assert.Equal(EventState.Ended, ended!.State);
        Assert.Equal(EventState.Ended, (await Service.EndAsync(ev.Id, "again"))!.State);
        await Assert.ThrowsAsync<ConflictException>(() => Service.CancelAsync(ev.Id));
        await Assert.ThrowsAsync<ConflictException>(() => Service.UpdateAsync(ev.Id, new EventSpec(null, "New title", null, null, null, null)));
    }

    [Fact]
    public async Task Recordings_store_list_newest_first_and_refuse_duplicates()
    {
        var channel = await NewChannelAsync();
        var repo = new SqlRecordingRepository(Database);
        var r1 = new Recording("r1", channel.Id, null, "20300501T120000Z", "/live/x/recordings/a/master.m3u8", "/live/x/recordings/a/manifest.mpd", 61_500, 1_234_567, T0);
        var r2 = r1 with { Id = "r2", BroadcastId = "20300501T130000Z", CreatedAt = T0.AddHours(1) };
        Assert.True(await repo.TryInsertAsync(r1));
        Assert.True(await repo.TryInsertAsync(r2));
        Assert.False(await repo.TryInsertAsync(r1 with { Id = "r3" }));
        Assert.Equal(r1, await repo.GetAsync("r1"));
        Assert.Equal(["r2", "r1"], (await repo.ListAsync(channel.Id, null)).Select(r => r.Id));
        Assert.Equal(["r1"], (await repo.ListOlderThanAsync(T0.AddMinutes(1))).Select(r => r.Id));
        Assert.True(await repo.DeleteAsync("r1"));
        Assert.False(await repo.DeleteAsync("r1"));
    }

    private sealed class MediaLog : IRecordingMedia
    {
        public List<string> Deleted { get; } = [];

        public ValueTask DeleteAsync(Recording recording, CancellationToken cancellationToken)
        {
            Deleted.Add(recording.Id);
            return ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task Retention_deletes_rows_and_media_older_than_the_setting_only_when_set()
    {
        var channel = await NewChannelAsync();
        var repo = new SqlRecordingRepository(Database);
        var media = new MediaLog();
        Clock.SetUtcNow(T0);
        var keepForever = new RecordingService(repo, media, new ControlSettings(), Clock, NullLogger<RecordingService>.Instance);
        var old = await keepForever.AddAsync(channel.Id, null, "20300401T000000Z", "/live/a/recordings/1/master.m3u8", "/live/a/recordings/1/manifest.mpd", 1000, 10);
        Clock.SetUtcNow(T0.AddDays(9));
        var recent = await keepForever.AddAsync(channel.Id, null, "20300510T000000Z", "/live/a/recordings/2/master.m3u8", "/live/a/recordings/2/manifest.mpd", 1000, 10);
        Clock.SetUtcNow(T0.AddDays(10));
        Assert.Equal(0, await keepForever.ApplyRetentionAsync());

        var sevenDays = new RecordingService(repo, media, new ControlSettings { RecordingRetention = TimeSpan.FromDays(7) }, Clock,
            NullLogger<RecordingService>.Instance);
        Assert.Equal(1, await sevenDays.ApplyRetentionAsync());
        Assert.Equal([old.Id], media.Deleted);
        Assert.Equal([recent.Id], (await repo.ListAsync(channel.Id, null)).Select(r => r.Id));
    }

    private sealed class ChannelMediaLog : IChannelMedia
    {
        public List<string> Swept { get; } = [];

        public bool IsWriting(string slug) => false;

        public ValueTask<int> DeleteAllAsync(string slug, CancellationToken cancellationToken)
        {
            Swept.Add(slug);
            return ValueTask.FromResult(7);
        }
    }

    [Fact]
    public async Task A_finished_recorded_broadcast_is_booked_with_the_pipelines_counts_and_its_event()
    {
        var channel = await NewChannelAsync("Booked");
        var ev = await Service.CreateAsync(new EventSpec(channel.Id, "Keynote", null, T0, T0.AddHours(1), true));
        var recordings = new RecordingService(new SqlRecordingRepository(Database), new MediaLog(), new ControlSettings(), Clock,
            NullLogger<RecordingService>.Instance);
        var media = new ChannelMediaLog();
        var finished = new FinishedBroadcasts(Channels, Service, recordings, media, Clock, NullLogger<FinishedBroadcasts>.Instance);
        string master = $"/live/{channel.Slug}/recordings/20300501T120005Z/master.m3u8", mpd = $"/live/{channel.Slug}/recordings/20300501T120005Z/manifest.mpd";

        // Not recorded: nothing booked. Recorded without a recording (its manifests never stored): nothing booked either.
        await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T115000Z", false, null), CancellationToken.None);
        await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T115500Z", true, null), CancellationToken.None);
        Assert.Empty(await recordings.ListAsync(channel.Id));

        await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T120005Z", true, new RecordedBroadcast(master, mpd, 61_533, 4_321_000)),
            CancellationToken.None);
        var row = Assert.Single(await recordings.ListAsync(channel.Id));
        Assert.Equal((ev.Id, "20300501T120005Z", master, mpd, 61_533L, 4_321_000L), (row.EventId, row.BroadcastId, row.HlsPath, row.DashPath, row.DurationMs, row.SizeBytes));
        Assert.Empty(media.Swept);

        // An AES-128 broadcast's recording has no MPD: it is kept with no DASH path and read back so (the column is NOT NULL).
        string hlsOnly = $"/live/{channel.Slug}/recordings/20300501T130005Z/master.m3u8";
        await finished.BookAsync(new FinishedBroadcast(channel.Slug, "20300501T130005Z", true, new RecordedBroadcast(hlsOnly, null, 1_000, 2_000)),
            CancellationToken.None);
        var aes = Assert.Single(await recordings.ListAsync(channel.Id), r => r.BroadcastId == "20300501T130005Z");
        Assert.Equal((hlsOnly, (string?)null), (aes.HlsPath, aes.DashPath));
        Assert.Null((await recordings.GetAsync(aes.Id))!.DashPath);
        var response = aes.ToResponse("https://example.test");
        Assert.Equal(("https://example.test" + hlsOnly, (string?)null), (response.HlsUrl, response.DashUrl));
        Assert.DoesNotContain("dash", System.Text.Json.JsonSerializer.Serialize(response, ControlJsonContext.Default.RecordingResponse),
            StringComparison.OrdinalIgnoreCase);

        // A broadcast of a channel that no longer exists: what it stored under its slug is swept, nothing is booked.
        await finished.BookAsync(new FinishedBroadcast("gone-channel", "20300501T120005Z", true, new RecordedBroadcast(master, mpd, 1, 1)), CancellationToken.None);
        Assert.Equal(["gone-channel"], media.Swept);
    }

    [Fact]
    public void Password_hash_is_pbkdf2_sha256_with_its_iterations_and_rejects_tampering()
    {
        var hash = PasswordHasher.Hash("correct horse battery staple", 1000);
        Assert.StartsWith("pbkdf2-sha256$1000$", hash, StringComparison.Ordinal);
        Assert.True(PasswordHasher.Verify("correct horse battery staple", hash));
        Assert.False(PasswordHasher.Verify("correct horse battery stapl", hash));
        Assert.NotEqual(hash, PasswordHasher.Hash("correct horse battery staple", 1000)); // salted
        foreach (var bad in new[] { "", "pbkdf2-sha256$1000$", "md5$1$a$b", "pbkdf2-sha256$0$AAAA$AAAA", "pbkdf2-sha256$1000$!!$AAAA",
                     "pbkdf2-sha256$99999999999$AAAA$AAAA", hash.Replace("$1000$", "$1001$", StringComparison.Ordinal) })
            Assert.False(PasswordHasher.Verify("correct horse battery staple", bad));
    }

    [Fact]
    public async Task First_admin_is_created_once_and_verifies_only_with_its_password()
    {
        var credentials = new FirstAdminCredentials();
        var users = new AdminUserService(new SqlAdminUserRepository(Database), credentials, new ControlSettings(), Clock, NullLogger<AdminUserService>.Instance, new Broadcast.Control.Security.AccountSignInGuard(Clock));
        Assert.True(await users.EnsureFirstAdminAsync());
        Assert.False(await users.EnsureFirstAdminAsync());
        var password = credentials.TakePassword();
        Assert.NotNull(password);
        Assert.Null(credentials.TakePassword());
        Assert.NotNull(await users.VerifyAsync("admin", password));
        Assert.Null(await users.VerifyAsync("admin", password + "x"));
        Assert.Null(await users.VerifyAsync("nobody", password));
    }
}

public sealed class SqliteEventStoreTests() : EventStoreContract(new SqliteTestDatabases());

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresEventStoreTests(PostgresTestCluster cluster) : EventStoreContract(new PostgresTestDatabases(cluster, "events"));
