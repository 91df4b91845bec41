using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Playback;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Playback;

/// <summary>Private channels and signing keys on each back-end (migration 0005), as two nodes sharing one database see them.</summary>
public abstract class PlaybackAccessStoreContract : IAsyncLifetime
{
    private readonly Func<ControlDatabase> _create;
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    protected PlaybackAccessStoreContract(Func<ControlDatabase> create) => _create = create;

    private ControlDatabase Database { get; set; } = null!;

    private ChannelService Channels { get; set; } = null!;

    public async Task InitializeAsync()
    {
        Database = _create();
        await Database.MigrateAsync();
        Channels = new ChannelService(new SqlChannelRepository(Database), new StreamKeyProtector(_secret), TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
    }

    public async Task DisposeAsync() => await Database.DisposeAsync();

    private PlaybackAccessService NewNode(TimeProvider? time = null) =>
        new(Database, new StreamKeyProtector(_secret), time ?? TimeProvider.System, NullLogger<PlaybackAccessService>.Instance);

    [Fact]
    public async Task Each_rotation_makes_its_own_key_current_even_within_one_millisecond()
    {
        // A stopped clock: every key gets the same wall time, as rotating twice in a row (revoking every token) can.
        var frozen = new ManualClock(new DateTimeOffset(2026, 11, 21, 15, 0, 0, TimeSpan.Zero));
        var node = NewNode(frozen);
        var previous = (await node.RefreshAsync()).Current;
        for (int i = 0; i < 5; i++)
        {
            var ring = await node.RotateAsync();
            Assert.Equal(previous.Id, ring.Previous!.Id);
            Assert.Equal(ring.Current.Id, (await NewNode(frozen).RefreshAsync()).Current.Id);
            previous = ring.Current;
        }

        Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM playback_signing_keys"));
    }

    [Fact]
    public async Task Private_flags_and_keys_are_shared_through_the_database_and_two_rotations_retire_a_key()
    {
        var nodeA = NewNode();
        var nodeB = NewNode();
        var first = await nodeA.RefreshAsync();
        Assert.Null(first.Previous);
        Assert.Equal(first.Current.Id, (await nodeB.RefreshAsync()).Current.Id);

        var channel = (await Channels.CreateAsync(new ChannelSpec("Members Only"))).Channel;
        Assert.False(nodeA.IsPrivate(channel.Slug));
        Assert.True(await nodeA.SetPrivateAsync(channel.Id, true));
        Assert.True(await nodeA.SetPrivateAsync(channel.Id, true)); // idempotent
        Assert.False(await nodeA.SetPrivateAsync("no-such-channel", true));
        Assert.True(nodeA.IsPrivate(channel.Slug));
        Assert.False(nodeB.IsPrivate(channel.Slug)); // until its next refresh
        await nodeB.RefreshAsync();
        Assert.True(nodeB.IsPrivate(channel.Slug));
        Assert.False(nodeB.IsPrivate("members-onl"));

        var token = await nodeA.MintAsync(channel, TimeSpan.FromMinutes(5));
        Assert.Equal(PlaybackTokenResult.Valid, nodeB.Verify(channel.Slug, token.Token, out var expiresAt));
        Assert.Equal(token.ExpiresAt, expiresAt);

        var once = await nodeA.RotateAsync();
        Assert.Equal(first.Current.Id, once.Previous!.Id);
        await nodeB.RefreshAsync();
        Assert.Equal(PlaybackTokenResult.Valid, nodeB.Verify(channel.Slug, token.Token, out _));

        var twice = await nodeB.RotateAsync();
        Assert.Equal(once.Current.Id, twice.Previous!.Id);
        await nodeA.RefreshAsync();
        Assert.Equal(PlaybackTokenResult.UnknownKey, nodeA.Verify(channel.Slug, token.Token, out _));
        Assert.Equal(2, await CountAsync("SELECT COUNT(*) FROM playback_signing_keys"));

        Assert.True(await nodeA.SetPrivateAsync(channel.Id, false));
        Assert.False(nodeA.IsPrivate(channel.Slug));

        // Deleting a private channel takes its flag with it.
        Assert.True(await nodeA.SetPrivateAsync(channel.Id, true));
        Assert.True(await Channels.DeleteAsync(channel.Id));
        Assert.Equal(0, await CountAsync("SELECT COUNT(*) FROM private_playback_channels"));
    }

    [Fact]
    public async Task A_token_of_a_deleted_channel_does_not_verify_for_the_channel_that_takes_its_slug()
    {
        var node = NewNode();
        var first = (await Channels.CreateAsync(new ChannelSpec("Reused Slug"))).Channel;
        Assert.True(await node.SetPrivateAsync(first.Id, true));
        var old = await node.MintAsync(first, TimeSpan.FromMinutes(5));
        Assert.Equal(PlaybackTokenResult.Valid, node.Verify(first.Slug, old.Token, out _));

        Assert.True(await Channels.DeleteAsync(first.Id));
        await node.RefreshAsync();
        Assert.False(node.IsPrivate(first.Slug));
        Assert.Equal(PlaybackTokenResult.UnknownChannel, node.Verify(first.Slug, old.Token, out _));

        var second = (await Channels.CreateAsync(new ChannelSpec("Reused Slug"))).Channel;
        Assert.Equal(first.Slug, second.Slug);
        Assert.True(await node.SetPrivateAsync(second.Id, true));
        Assert.Equal(PlaybackTokenResult.BadSignature, node.Verify(second.Slug, old.Token, out _));
        var otherNode = NewNode();
        await otherNode.RefreshAsync();
        Assert.Equal(PlaybackTokenResult.BadSignature, otherNode.Verify(second.Slug, old.Token, out _));
        var current = await node.MintAsync(second, TimeSpan.FromMinutes(5));
        Assert.Equal(PlaybackTokenResult.Valid, node.Verify(second.Slug, current.Token, out _));
    }

    [Fact]
    public async Task Signing_keys_are_stored_encrypted_under_the_server_secret()
    {
        var node = NewNode();
        var ring = await node.RefreshAsync();
        byte[] raw = ring.Current.Secret;
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT secret_ciphertext FROM playback_signing_keys";
        byte[] stored = (byte[])(await command.ExecuteScalarAsync())!;
        Assert.Equal(-1, stored.AsSpan().IndexOf(raw));
        Assert.Equal(-1, stored.AsSpan().IndexOf(System.Text.Encoding.ASCII.GetBytes(Convert.ToBase64String(raw))));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = await Database.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed class SqlitePlaybackAccessStoreTests : PlaybackAccessStoreContract, IDisposable
{
    private static readonly TempDirectory Directory = new();

    public SqlitePlaybackAccessStoreTests()
        : base(() => new SqliteControlDatabase($"Data Source={Directory.File(Guid.NewGuid().ToString("N") + ".db")}"))
    {
    }

    public void Dispose() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresPlaybackAccessStoreTests(PostgresTestCluster cluster)
    : PlaybackAccessStoreContract(() => new PostgresControlDatabase(cluster.CreateDatabase("playback")));
