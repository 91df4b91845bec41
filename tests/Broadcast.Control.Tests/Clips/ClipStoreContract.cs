using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Clips;
using Broadcast.Control.Persistence;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using ClipSpec = Broadcast.Control.Clips.ClipSpec;

namespace Broadcast.Control.Tests.Clips;

/// <summary>Clips through the real service and repository, on each back-end (migration 0015).</summary>
public abstract class ClipStoreContract(Func<ControlDatabase> create) : IAsyncLifetime
{
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private SqlClipRepository _repository = null!;
    private ClipService _clips = null!;
    private readonly FakeClipMedia _media = new();

    public async Task InitializeAsync()
    {
        _database = create();
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)),
            TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        _repository = new SqlClipRepository(_database);
        _clips = Service(_repository);
    }

    private ClipService Service(IClipRepository repository) => new(repository, _media, _channels, new SqlRecordingRepository(_database),
        new ControlSettings(), TimeProvider.System, NullLogger<ClipService>.Instance);

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private static ClipSpec Spec(string? title = "Goal") =>
        new(ClipPoint.Time(FakeClipMedia.Start.AddSeconds(5)), ClipPoint.Time(FakeClipMedia.Start.AddSeconds(11)), title, null);

    [Fact]
    public async Task Round_trips_renames_deletes_and_cascades_with_the_channel()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Clip store"))).Channel;
        var (a, slug) = (await _clips.CreateAsync(channel.Id, Spec("First")))!.Value;
        var (b, _) = (await _clips.CreateAsync(channel.Id, Spec("Second")))!.Value;
        Assert.Equal(channel.Slug, slug);
        Assert.Equal(("First", "20261121T054512Z", 3L, 6L), (a.Title, a.BroadcastId, a.FirstSegment, a.LastSegment));
        Assert.Equal(FakeClipMedia.Start.AddSeconds(4), a.StartsAt);
        Assert.Equal(a, await _clips.GetAsync(channel.Id, a.Id));
        Assert.Null(await _clips.GetAsync("another-channel", a.Id));
        var list = await _clips.ListAsync(channel.Id);
        Assert.Equal(new[] { a.Id, b.Id }.Order(StringComparer.Ordinal), list!.Select(c => c.Id).Order(StringComparer.Ordinal));
        Assert.Equal(list!.OrderByDescending(c => c.CreatedAt).ThenByDescending(c => c.Id, StringComparer.Ordinal).Select(c => c.Id),
            list!.Select(c => c.Id));
        Assert.Null(await _clips.ListAsync("no-such-channel"));

        var renamed = await _clips.RenameAsync(channel.Id, a.Id, "  Renamed  ");
        Assert.Equal("Renamed", renamed!.Title);
        Assert.Null(await _clips.RenameAsync(channel.Id, "nope", "x"));

        Assert.True(await _clips.DeleteAsync(channel.Id, a.Id));
        Assert.Equal([(channel.Slug, a.Id, true)], _media.Deleted);
        Assert.False(await _clips.DeleteAsync(channel.Id, a.Id));
        Assert.True(await _channels.DeleteAsync(channel.Id));
        Assert.Empty(await _repository.ListAsync(channel.Id));
    }

    [Fact]
    public async Task Held_ranges_are_read_by_channel_slug_and_broadcast()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Clip hold"))).Channel;
        var other = (await _channels.CreateAsync(new ChannelSpec("Clip hold other"))).Channel;
        await _clips.CreateAsync(channel.Id, Spec());
        await _clips.CreateAsync(other.Id, Spec());
        _media.BroadcastId = "20261122T000000Z";
        await _clips.CreateAsync(channel.Id, Spec());
        Assert.Equal([(3L, 6L)], await _clips.HeldRangesAsync(channel.Slug, "20261121T054512Z"));
        Assert.Empty(await _clips.HeldRangesAsync(channel.Slug, "20261120T000000Z"));
        Assert.Empty(await _clips.HeldRangesAsync("no-such-slug", "20261121T054512Z"));
    }

    [Fact]
    public async Task The_per_channel_cap_holds_in_the_insert_itself()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Clip cap"))).Channel;
        var now = DateTimeOffset.UtcNow;
        Clip Row(string id) => new(id, channel.Id, "t", "b", now, now.AddSeconds(1), 1, 2, now, now);
        Assert.True(await _repository.TryInsertAsync(Row("a"), maxPerChannel: 2));
        Assert.True(await _repository.TryInsertAsync(Row("b"), maxPerChannel: 2));
        Assert.False(await _repository.TryInsertAsync(Row("c"), maxPerChannel: 2));
        Assert.Equal(2, (await _repository.ListAsync(channel.Id)).Count);
    }

    /// <summary>The row is refused after the playlists were written (another request took the last place): they are deleted,
    /// the segments left alone.</summary>
    [Fact]
    public async Task A_clip_refused_after_its_playlists_were_written_leaves_nothing_behind()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Clip race"))).Channel;
        var full = Service(new RefusingRepository(_repository));
        await Assert.ThrowsAsync<ConflictException>(() => full.CreateAsync(channel.Id, Spec()));
        var written = Assert.Single(_media.Written);
        Assert.Equal([(channel.Slug, written.ClipId, false)], _media.Deleted);
        Assert.Empty(await _repository.ListAsync(channel.Id));
    }

    [Fact]
    public async Task A_clip_cut_to_the_frame_takes_the_exact_range_and_a_deleted_one_is_not_found()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Cut"))).Channel;
        var made = (await Service(_repository).CreateAsync(channel.Id, Spec()))!.Value.Clip;
        Assert.False(made.FrameAccurate);

        var from = made.StartsAt.AddMilliseconds(1300);
        var to = made.EndsAt.AddMilliseconds(-500);
        Assert.True(await _repository.SetCutAsync(made.Id, from, to));
        var cut = (await _repository.GetAsync(channel.Id, made.Id))!;
        Assert.True(cut.FrameAccurate);
        Assert.Equal((from, to), (cut.StartsAt, cut.EndsAt));
        Assert.True(Assert.Single(await _repository.ListAsync(channel.Id)).FrameAccurate);

        Assert.Null(cut.DownloadBytes);
        Assert.True(await _repository.SetDownloadAsync(made.Id, 12_345_678_901));
        Assert.Equal(12_345_678_901, (await _repository.GetAsync(channel.Id, made.Id))!.DownloadBytes);
        Assert.Equal(12_345_678_901, Assert.Single(await _repository.ListAsync(channel.Id)).DownloadBytes);

        Assert.True(await _repository.DeleteAsync(channel.Id, made.Id));
        Assert.False(await _repository.SetCutAsync(made.Id, from, to));
        Assert.False(await _repository.SetDownloadAsync(made.Id, 1));
    }

    [Fact]
    public async Task Clips_keep_the_range_asked_for_and_are_listed_unfinished_until_the_finisher_says_so()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Unfinished"))).Channel;
        var service = Service(_repository);
        var first = (await service.CreateAsync(channel.Id, Spec()))!.Value.Clip;
        var second = (await service.CreateAsync(channel.Id, Spec()))!.Value.Clip;
        // The fake store places nothing: the range asked for is then the range it holds.
        Assert.Equal((first.StartsAt, first.EndsAt), (await _repository.GetAsync(channel.Id, first.Id))!.Asked);

        var unfinished = await _repository.ListUnfinishedAsync(first.CreatedAt.AddDays(-1), 10);
        // Two clips made in the same millisecond share created_at; the id breaks the tie.
        Assert.Equal(new[] { first, second }.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id, StringComparer.Ordinal).Select(c => c.Id),
            unfinished.Select(u => u.Clip.Id));
        Assert.All(unfinished, u => Assert.Equal(channel.Slug, u.ChannelSlug));
        Assert.Equal((first.StartsAt, first.EndsAt), unfinished[0].Clip.Asked);
        Assert.Single(await _repository.ListUnfinishedAsync(first.CreatedAt.AddDays(-1), 1));
        Assert.Empty(await _repository.ListUnfinishedAsync(second.CreatedAt, 10));

        Assert.True(await _repository.SetFinishedAsync(first.Id, first.CreatedAt.AddSeconds(5)));
        Assert.Equal([second.Id], (await _repository.ListUnfinishedAsync(first.CreatedAt.AddDays(-1), 10)).Select(u => u.Clip.Id));
        Assert.True(await _repository.DeleteAsync(channel.Id, second.Id));
        Assert.Empty(await _repository.ListUnfinishedAsync(first.CreatedAt.AddDays(-1), 10));
        Assert.False(await _repository.SetFinishedAsync(second.Id, first.CreatedAt));
    }

    private sealed class RefusingRepository(IClipRepository inner) : IClipRepository
    {
        public Task<bool> TryInsertAsync(Clip clip, int maxPerChannel, CancellationToken cancellationToken = default) => Task.FromResult(false);

        public Task<Clip?> GetAsync(string channelId, string id, CancellationToken cancellationToken = default) =>
            inner.GetAsync(channelId, id, cancellationToken);

        public Task<IReadOnlyList<Clip>> ListAsync(string channelId, CancellationToken cancellationToken = default) =>
            inner.ListAsync(channelId, cancellationToken);

        public Task<bool> UpdateTitleAsync(string channelId, string id, string title, DateTimeOffset updatedAt,
            CancellationToken cancellationToken = default) => inner.UpdateTitleAsync(channelId, id, title, updatedAt, cancellationToken);

        public Task<bool> SetCutAsync(string id, DateTimeOffset startsAt, DateTimeOffset endsAt, CancellationToken cancellationToken = default) =>
            inner.SetCutAsync(id, startsAt, endsAt, cancellationToken);

        public Task<bool> SetDownloadAsync(string id, long bytes, CancellationToken cancellationToken = default) =>
            inner.SetDownloadAsync(id, bytes, cancellationToken);

        public Task<bool> SetFinishedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default) =>
            inner.SetFinishedAsync(id, at, cancellationToken);

        public Task<IReadOnlyList<(string ChannelSlug, Clip Clip)>> ListUnfinishedAsync(DateTimeOffset createdAfter, int limit,
            CancellationToken cancellationToken = default) => inner.ListUnfinishedAsync(createdAfter, limit, cancellationToken);

        public Task<bool> DeleteAsync(string channelId, string id, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(channelId, id, cancellationToken);

        public Task<IReadOnlyList<(long First, long Last)>> HeldRangesAsync(string channelSlug, string broadcastId,
            CancellationToken cancellationToken = default) => inner.HeldRangesAsync(channelSlug, broadcastId, cancellationToken);
    }
}

public sealed class SqliteClipStoreTests : ClipStoreContract, IDisposable
{
    private static readonly TempDirectory Directory = new();
    private static int _count;

    public SqliteClipStoreTests()
        : base(() => new SqliteControlDatabase($"Data Source={Directory.File($"clips{Interlocked.Increment(ref _count)}/broadcast.db")}"))
    {
    }

    public void Dispose() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresClipStoreTests(PostgresTestCluster cluster)
    : ClipStoreContract(() => new PostgresControlDatabase(cluster.CreateDatabase("clips")));
