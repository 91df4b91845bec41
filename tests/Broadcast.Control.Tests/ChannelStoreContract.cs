using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests;

/// <summary>
/// Repository, migration and stream-key behaviour written once; each back-end runs it through a
/// subclass that supplies a fresh database per test.
/// </summary>
public abstract class ChannelStoreContract : IAsyncLifetime
{
    private readonly ITestDatabaseFactory _factory;

    protected ChannelStoreContract(ITestDatabaseFactory factory) => _factory = factory;

    protected ControlDatabase Database { get; private set; } = null!;

    protected SqlChannelRepository Repository { get; private set; } = null!;

    protected ChannelService Service { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = _factory.Create();
        await Database.MigrateAsync();
        Repository = new SqlChannelRepository(Database);
        Service = new ChannelService(Repository, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
    }

    public async Task DisposeAsync()
    {
        await Database.DisposeAsync();
        (_factory as IDisposable)?.Dispose();
    }

    private static ChannelRecord NewRecord(string slug, string? id = null) => new(
        id ?? Guid.NewGuid().ToString("N"), "Name " + slug, slug, RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(60),
        RequireSchedule: true, LowLatency: false, Revoked: false, new DateTimeOffset(2025, 3, 4, 5, 6, 7, 890, TimeSpan.Zero));

    [Fact]
    public async Task Migrations_applied_again_are_a_no_op()
    {
        var second = await Database.MigrateAsync();
        Assert.Empty(second);
        var third = await Database.MigrateAsync();
        Assert.Empty(third);

        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations";
        var count = Convert.ToInt32(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(MigrationRunner.Load(Database.Kind).Count, count);
    }

    [Fact]
    public async Task Fresh_database_gets_every_migration_in_order()
    {
        await using var fresh = _factory.Create();
        var applied = await fresh.MigrateAsync();
        var expected = MigrationRunner.Load(fresh.Kind).Select(m => m.Version).ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, applied);
    }

    [Fact]
    public async Task Database_newer_than_the_build_is_refused()
    {
        await using (var connection = await Database.OpenAsync())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future', @t)";
            MigrationRunner.AddParameter(command, "t", DateTimeOffset.UtcNow);
            await command.ExecuteNonQueryAsync();
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => Database.MigrateAsync());
        Assert.Contains("9999", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inserted_row_reads_back_identically_by_id_slug_and_hash()
    {
        var record = NewRecord("news");
        Assert.True(await Repository.TryInsertAsync(record));

        foreach (var read in new[]
                 {
                     await Repository.GetByIdAsync(record.Id),
                     await Repository.GetBySlugAsync("news"),
                     await Repository.FindByKeyHashAsync(record.KeyHash),
                 })
        {
            Assert.NotNull(read);
            Assert.Equal(record.Id, read.Id);
            Assert.Equal(record.Name, read.Name);
            Assert.Equal(record.Slug, read.Slug);
            Assert.Equal(record.KeyHash, read.KeyHash);
            Assert.Equal(record.KeyCiphertext, read.KeyCiphertext);
            Assert.True(read.RequireSchedule);
            Assert.False(read.LowLatency);
            Assert.False(read.Revoked);
            Assert.Equal(record.CreatedAt, read.CreatedAt);
        }
    }

    [Fact]
    public async Task Missing_rows_read_as_null_and_updates_report_false()
    {
        Assert.Null(await Repository.GetByIdAsync("nope"));
        Assert.Null(await Repository.GetBySlugAsync("nope"));
        Assert.Null(await Repository.FindByKeyHashAsync(new byte[32]));
        Assert.False(await Repository.ReplaceKeyAsync("nope", new byte[32], new byte[40]));
        Assert.False(await Repository.SetRevokedAsync("nope", true));
        Assert.False(await Repository.DeleteAsync("nope"));
    }

    [Fact]
    public async Task Duplicate_slug_or_key_hash_is_refused_without_throwing()
    {
        var first = NewRecord("sports");
        Assert.True(await Repository.TryInsertAsync(first));
        Assert.False(await Repository.TryInsertAsync(NewRecord("sports")));
        Assert.False(await Repository.TryInsertAsync(NewRecord("other") with { KeyHash = first.KeyHash }));
        Assert.Single(await Repository.ListAsync());
    }

    [Fact]
    public async Task List_is_oldest_first_and_prefix_query_finds_suffixed_slugs()
    {
        await Repository.TryInsertAsync(NewRecord("news") with { CreatedAt = DateTimeOffset.UnixEpoch.AddDays(2) });
        await Repository.TryInsertAsync(NewRecord("news-2") with { CreatedAt = DateTimeOffset.UnixEpoch.AddDays(1) });
        await Repository.TryInsertAsync(NewRecord("newsroom") with { CreatedAt = DateTimeOffset.UnixEpoch.AddDays(3) });
        await Repository.TryInsertAsync(NewRecord("sports"));

        Assert.Equal(["news-2", "news", "newsroom", "sports"], (await Repository.ListAsync()).Select(r => r.Slug));
        Assert.Equal(["news", "news-2", "newsroom"], (await Repository.ListSlugsWithPrefixAsync("news")).Order(StringComparer.Ordinal));
        await Assert.ThrowsAsync<ArgumentException>(() => Repository.ListSlugsWithPrefixAsync("a%"));
    }

    [Fact]
    public async Task Replace_key_revoke_and_delete_change_the_row()
    {
        var record = NewRecord("talk");
        await Repository.TryInsertAsync(record);
        Assert.True(await Repository.SetRevokedAsync(record.Id, true));
        Assert.True((await Repository.GetByIdAsync(record.Id))!.Revoked);

        var hash = RandomNumberGenerator.GetBytes(32);
        Assert.True(await Repository.ReplaceKeyAsync(record.Id, hash, [1, 2, 3]));
        var replaced = await Repository.GetByIdAsync(record.Id);
        Assert.Equal(hash, replaced!.KeyHash);
        Assert.Equal([1, 2, 3], replaced.KeyCiphertext);
        Assert.False(replaced.Revoked);
        Assert.Null(await Repository.FindByKeyHashAsync(record.KeyHash));

        Assert.True(await Repository.DeleteAsync(record.Id));
        Assert.Null(await Repository.GetByIdAsync(record.Id));
    }

    [Fact]
    public async Task Created_key_finds_its_channel_and_reveal_returns_the_issued_key()
    {
        var issued = await Service.CreateAsync(new ChannelSpec("  Evening News  ", RequireSchedule: true, LowLatency: true));
        Assert.Equal("Evening News", issued.Channel.Name);
        Assert.Equal("evening-news", issued.Channel.Slug);
        Assert.True(issued.Channel.RequireSchedule);
        Assert.True(issued.Channel.LowLatency);
        Assert.False(issued.Channel.RealTime);
        Assert.True(StreamKeys.IsWellFormed(issued.StreamKey));

        // The real-time flag is stored and read back, on create and on update, beside the others.
        var realTime = await Service.CreateAsync(new ChannelSpec("Quiz Night", RealTime: true));
        Assert.True((await Service.GetAsync(realTime.Channel.Id))!.RealTime);
        var updated = await Service.UpdateAsync(realTime.Channel.Id, name: null, requireSchedule: true, lowLatency: null, realTime: false);
        Assert.Equal((false, true), (updated!.RealTime, updated.RequireSchedule));
        Assert.Equal((false, true), ((await Service.GetAsync(realTime.Channel.Id))!.RealTime, (await Service.GetAsync(realTime.Channel.Id))!.RequireSchedule));

        var found = await Service.FindByStreamKeyAsync(issued.StreamKey);
        Assert.Equal(StreamKeyRejection.None, found.Rejection);
        Assert.Equal(issued.Channel.Id, found.Channel!.Id);

        var revealed = await Service.RevealKeyAsync(issued.Channel.Id);
        Assert.Equal(issued.StreamKey, revealed!.StreamKey);
        Assert.EndsWith(issued.StreamKey[^4..], revealed.Channel.StreamKeyHint, StringComparison.Ordinal);
        Assert.DoesNotContain(issued.StreamKey[5..^4], revealed.Channel.StreamKeyHint, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audio_track_names_are_stored_read_back_kept_by_updates_and_cleared()
    {
        var issued = await Service.CreateAsync(new ChannelSpec("World Feed"));
        var id = issued.Channel.Id;
        Assert.Empty(issued.Channel.AudioTracks!);
        Assert.Null((await Repository.GetByIdAsync(id))!.AudioTracks);

        // English for the default track, the second left as the encoder sends it, a French description third.
        var named = await Service.SetAudioTracksAsync(id, [("en", null), (null, null), ("FRE", "audioDescription")]);
        AudioLabel[] expected = [new("eng", AudioPurpose.Main), AudioLabel.Unlabelled, new("fre", AudioPurpose.AudioDescription)];
        Assert.Equal(expected, named!.AudioTracks);
        Assert.Equal("eng,-,fre:3", (await Repository.GetByIdAsync(id))!.AudioTracks);
        Assert.Equal(expected, (await Service.GetBySlugAsync(issued.Channel.Slug))!.AudioTracks);
        Assert.Equal(expected, (await Service.ListAsync()).Single(c => c.Id == id).AudioTracks);
        // An update of the other settings keeps them.
        Assert.Equal(expected, (await Service.UpdateAsync(id, "World Feed HD", null, lowLatency: true))!.AudioTracks);

        // Refused as a whole, naming the entry: nothing changes.
        var bad = await Assert.ThrowsAsync<ValidationFailedException>(() => Service.SetAudioTracksAsync(id, [("en", null), ("xx", "loud")]));
        Assert.Equal(2, bad.Errors["tracks"].Length);
        Assert.All(bad.Errors["tracks"], e => Assert.StartsWith("Track 2:", e, StringComparison.Ordinal));
        await Assert.ThrowsAsync<ValidationFailedException>(() => Service.SetAudioTracksAsync(id, [.. Enumerable.Repeat(("en", (string?)null), 9)]));
        Assert.Equal(expected, (await Service.GetAsync(id))!.AudioTracks);

        // An empty list (or one naming nothing) clears them.
        Assert.Empty((await Service.SetAudioTracksAsync(id, [(null, null)]))!.AudioTracks!);
        Assert.Null((await Repository.GetByIdAsync(id))!.AudioTracks);
        Assert.Null(await Service.SetAudioTracksAsync("no-such-channel", []));
    }

    [Fact]
    public async Task Rewind_window_is_stored_kept_changed_and_returned_to_the_server_default()
    {
        // Not asked for: the server's Packager:DvrSeconds (null), as stored and as read back.
        var plain = await Service.CreateAsync(new ChannelSpec("Match Day"));
        Assert.Null(plain.Channel.RewindSeconds);
        Assert.Null((await Repository.GetByIdAsync(plain.Channel.Id))!.RewindSeconds);

        var issued = await Service.CreateAsync(new ChannelSpec("Marathon", RewindSeconds: 1800));
        var id = issued.Channel.Id;
        Assert.Equal(1800, issued.Channel.RewindSeconds);
        Assert.Equal(1800, (await Service.GetAsync(id))!.RewindSeconds);
        Assert.Equal(1800, (await Service.ListAsync()).Single(c => c.Id == id).RewindSeconds);

        // Updates that do not name it keep it: the old overloads and RewindChange.Keep alike.
        Assert.Equal(1800, (await Service.UpdateAsync(id, "Marathon Live", requireSchedule: null, lowLatency: true))!.RewindSeconds);
        Assert.Equal(1800, (await Service.UpdateAsync(id, null, null, null, realTime: true))!.RewindSeconds);
        var kept = await Service.UpdateAsync(id, null, null, null, null, RewindChange.Keep);
        Assert.Equal((1800, "Marathon Live", true, true), (kept!.RewindSeconds, kept.Name, kept.LowLatency, kept.RealTime));

        // Set: to the ends of the range, then back to the server's (null), each read back from the store.
        foreach (var seconds in new int?[] { 0, 86_400, 90, null })
        {
            var updated = await Service.UpdateAsync(id, null, null, null, null, RewindChange.To(seconds));
            Assert.Equal(seconds, updated!.RewindSeconds);
            Assert.Equal(seconds, (await Repository.GetByIdAsync(id))!.RewindSeconds);
        }

        // Outside 0..86400: refused under rewindSeconds, on create and on update, and nothing changes.
        await Service.UpdateAsync(id, null, null, null, null, RewindChange.To(600));
        foreach (var bad in new[] { -1, 86_401, int.MinValue, int.MaxValue })
        {
            var onUpdate = await Assert.ThrowsAsync<ValidationFailedException>(
                () => Service.UpdateAsync(id, "Renamed", null, null, null, RewindChange.To(bad)));
            Assert.Contains("between 0", Assert.Single(onUpdate.Errors["rewindSeconds"]), StringComparison.Ordinal);
            var onCreate = await Assert.ThrowsAsync<ValidationFailedException>(() => Service.CreateAsync(new ChannelSpec("Bad", RewindSeconds: bad)));
            Assert.True(onCreate.Errors.ContainsKey("rewindSeconds"));
        }

        var unchanged = await Service.GetAsync(id);
        Assert.Equal((600, "Marathon Live"), (unchanged!.RewindSeconds, unchanged.Name));
        // A bad name and a bad window are reported together.
        var both = await Assert.ThrowsAsync<ValidationFailedException>(() => Service.UpdateAsync(id, " ", null, null, null, RewindChange.To(-5)));
        Assert.Equal(["name", "rewindSeconds"], both.Errors.Keys.Order(StringComparer.Ordinal));
        Assert.Null(await Service.UpdateAsync("missing", null, null, null, null, RewindChange.To(60)));
    }

    [Fact]
    public async Task Stored_row_holds_only_hash_and_ciphertext_of_the_key()
    {
        var issued = await Service.CreateAsync(new ChannelSpec("Secret Keeper"));
        var plaintext = Encoding.UTF8.GetBytes(issued.StreamKey);
        var random = plaintext[StreamKeys.Prefix.Length..];
        var cells = await _factory.DumpChannelCellsAsync(Database);
        Assert.NotEmpty(cells);
        foreach (var cell in cells)
        {
            Assert.Equal(-1, cell.AsSpan().IndexOf(random));
            Assert.Equal(-1, Encoding.UTF8.GetBytes(Convert.ToHexString(cell)).AsSpan().IndexOf(random));
        }

        var row = await Repository.GetByIdAsync(issued.Channel.Id);
        Assert.Equal(SHA256.HashData(plaintext), row!.KeyHash);
    }

    [Fact]
    public async Task Lookup_goes_through_the_hash_only()
    {
        var issued = await Service.CreateAsync(new ChannelSpec("Hash Only"));
        // A row whose stored hash is of another key must not match, even with the same ciphertext.
        var row = await Repository.GetByIdAsync(issued.Channel.Id);
        await Repository.ReplaceKeyAsync(row!.Id, SHA256.HashData(Encoding.UTF8.GetBytes(StreamKeys.Generate())), row.KeyCiphertext);
        Assert.Equal(StreamKeyRejection.Unknown, (await Service.FindByStreamKeyAsync(issued.StreamKey)).Rejection);

        // And a row found by the hash of a key is that key's channel, whatever its ciphertext says.
        var other = StreamKeys.Generate();
        await Repository.ReplaceKeyAsync(row.Id, StreamKeys.Hash(other), [1]);
        Assert.Equal(row.Id, (await Service.FindByStreamKeyAsync(other)).Channel!.Id);
    }

    [Fact]
    public async Task Rotate_invalidates_the_old_key_and_revoke_blocks_until_rotated()
    {
        var issued = await Service.CreateAsync(new ChannelSpec("Rotating"));
        var rotated = await Service.RotateKeyAsync(issued.Channel.Id);
        Assert.NotNull(rotated);
        Assert.NotEqual(issued.StreamKey, rotated.StreamKey);
        Assert.Equal(StreamKeyRejection.Unknown, (await Service.FindByStreamKeyAsync(issued.StreamKey)).Rejection);
        Assert.True((await Service.FindByStreamKeyAsync(rotated.StreamKey)).Found);
        Assert.Equal(rotated.StreamKey, (await Service.RevealKeyAsync(issued.Channel.Id))!.StreamKey);

        var revoked = await Service.RevokeAsync(issued.Channel.Id);
        Assert.True(revoked!.Revoked);
        var lookup = await Service.FindByStreamKeyAsync(rotated.StreamKey);
        Assert.Null(lookup.Channel);
        Assert.Equal(StreamKeyRejection.Revoked, lookup.Rejection);
        Assert.Equal("stream key was revoked", lookup.Reason);

        var again = await Service.RotateKeyAsync(issued.Channel.Id);
        Assert.False(again!.Channel.Revoked);
        Assert.True((await Service.FindByStreamKeyAsync(again.StreamKey)).Found);

        Assert.Null(await Service.RotateKeyAsync("missing"));
        Assert.Null(await Service.RevokeAsync("missing"));
        Assert.Null(await Service.RevealKeyAsync("missing"));
    }

    [Fact]
    public async Task Malformed_and_unknown_keys_are_rejected_with_a_reason()
    {
        foreach (var bad in new string?[] { null, "", "live_", "LIVE_" + new string('a', 26), "live_" + new string('a', 25), "live_" + new string('1', 26), "x" + new string('a', 30) })
        {
            var lookup = await Service.FindByStreamKeyAsync(bad);
            Assert.Null(lookup.Channel);
            Assert.Equal(StreamKeyRejection.Malformed, lookup.Rejection);
        }

        Assert.Equal(StreamKeyRejection.Unknown, (await Service.FindByStreamKeyAsync(StreamKeys.Generate())).Rejection);
    }

    [Fact]
    public async Task Same_names_get_numbered_slugs_and_deleted_keys_stop_working()
    {
        var a = await Service.CreateAsync(new ChannelSpec("Live Show"));
        var b = await Service.CreateAsync(new ChannelSpec("live show!"));
        var c = await Service.CreateAsync(new ChannelSpec("LIVE  SHOW"));
        Assert.Equal(["live-show", "live-show-2", "live-show-3"], [a.Channel.Slug, b.Channel.Slug, c.Channel.Slug]);

        var longName = new string('x', 100);
        var l1 = await Service.CreateAsync(new ChannelSpec(longName));
        var l2 = await Service.CreateAsync(new ChannelSpec(longName));
        Assert.Equal(new string('x', 64), l1.Channel.Slug);
        Assert.Equal(new string('x', 62) + "-2", l2.Channel.Slug);

        Assert.True(await Service.DeleteAsync(b.Channel.Id));
        Assert.False(await Service.DeleteAsync(b.Channel.Id));
        Assert.Equal(StreamKeyRejection.Unknown, (await Service.FindByStreamKeyAsync(b.StreamKey)).Rejection);
        var d = await Service.CreateAsync(new ChannelSpec("Live Show"));
        Assert.Equal("live-show-2", d.Channel.Slug);
    }

    [Fact]
    public async Task Default_channel_is_created_once_and_its_key_revealed_at_every_start()
    {
        var first = await Service.EnsureDefaultChannelAsync();
        Assert.True(first.Created);
        Assert.Equal("default", first.Channel.Slug);
        Assert.Equal("default", first.Channel.Name);
        Assert.NotNull(first.StreamKey);

        var second = await Service.EnsureDefaultChannelAsync();
        Assert.False(second.Created);
        Assert.Equal(first.Channel.Id, second.Channel.Id);
        Assert.Equal(first.StreamKey, second.StreamKey);
        Assert.True((await Service.FindByStreamKeyAsync(second.StreamKey)).Found);

        // A user channel named "Default" afterwards gets its own slug.
        Assert.Equal("default-2", (await Service.CreateAsync(new ChannelSpec("Default"))).Channel.Slug);

        // Under another server secret the key cannot be revealed, but start-up still succeeds.
        var otherSecret = new ChannelService(Repository, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(),
            NullLogger<ChannelService>.Instance);
        var third = await otherSecret.EnsureDefaultChannelAsync();
        Assert.Equal(first.Channel.Id, third.Channel.Id);
        Assert.Null(third.StreamKey);
        await Assert.ThrowsAnyAsync<CryptographicException>(() => otherSecret.RevealKeyAsync(first.Channel.Id));
    }
}

public sealed class SqliteChannelStoreTests() : ChannelStoreContract(new SqliteTestDatabases());

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresChannelStoreTests(PostgresTestCluster cluster) : ChannelStoreContract(new PostgresTestDatabases(cluster));

/// <summary>
/// The SQLite engine the embedded database runs on, as the bundled native library reports it: at least 3.50.2, the
/// release that fixed CVE-2025-6965 (SQLitePCLRaw.bundle_e_sqlite3 2.0.6 bundled 3.35.5).
/// </summary>
public sealed class SqliteEngineTests
{
    [Fact]
    public async Task The_bundled_SQLite_is_at_least_3_50_2()
    {
        using var directory = new TempDirectory();
        var database = new SqliteControlDatabase($"Data Source={directory.File("version.db")}");
        await using var connection = await database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT sqlite_version()";
        var text = (string)(await command.ExecuteScalarAsync())!;
        var version = Version.Parse(text);
        Assert.True(version >= new Version(3, 50, 2), $"SQLite {text} is older than 3.50.2 (CVE-2025-6965)");
    }
}
