using System.Security.Cryptography;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Protection;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Protection;

/// <summary>
/// A channel's protection setting and the ClearKey provider's keys (migration 0021) on each back-end: the setting
/// round-trips and defaults to none, and so does its key rotation (migration 0028, default 0); a key is stored encrypted under the server secret, found again by its channel only,
/// not under another secret, and deleted with its channel.
/// </summary>
public abstract class ContentProtectionStoreContract(ITestDatabaseFactory factory) : IAsyncLifetime
{
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private ContentKeyStore _keys = null!;

    public async Task InitializeAsync()
    {
        _database = factory.Create();
        await _database.MigrateAsync();
        _channels = new ChannelService(new SqlChannelRepository(_database), new StreamKeyProtector(_secret), TimeProvider.System,
            new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        _keys = new ContentKeyStore(_database, new StreamKeyProtector(_secret), TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        (factory as IDisposable)?.Dispose();
    }

    [Fact]
    public async Task Protection_defaults_to_none_and_round_trips()
    {
        var plain = (await _channels.CreateAsync(new ChannelSpec("plain"))).Channel;
        Assert.Equal(ChannelProtection.None, (await _channels.GetAsync(plain.Id))!.Protection);
        var made = (await _channels.CreateAsync(new ChannelSpec("made cbcs", Protection: ChannelProtection.Cbcs))).Channel;
        Assert.Equal(ChannelProtection.Cbcs, (await _channels.GetBySlugAsync(made.Slug))!.Protection);
        Assert.Equal(ChannelProtection.Cenc, (await _channels.SetProtectionAsync(plain.Id, ChannelProtection.Cenc))!.Protection);
        Assert.Equal(ChannelProtection.Cenc, (await _channels.GetAsync(plain.Id))!.Protection);
        Assert.Null(await _channels.SetProtectionAsync("no-such-channel", ChannelProtection.Cenc));
    }

    [Fact]
    public async Task Key_rotation_defaults_to_0_round_trips_and_is_set_with_the_protection()
    {
        var plain = (await _channels.CreateAsync(new ChannelSpec("plain"))).Channel;
        Assert.Equal(0, plain.KeyRotationSegments);
        Assert.Equal(0, (await _channels.GetAsync(plain.Id))!.KeyRotationSegments);
        var made = (await _channels.CreateAsync(new ChannelSpec("made rotating", Protection: ChannelProtection.Cenc, KeyRotationSegments: 1000))).Channel;
        Assert.Equal(1000, made.KeyRotationSegments);
        Assert.Equal((ChannelProtection.Cenc, 1000), Read(await _channels.GetBySlugAsync(made.Slug)));
        Assert.Equal(1000, (await _channels.ListAsync()).Single(c => c.Id == made.Id).KeyRotationSegments);

        // Set with the scheme through the one door; without a rotation, the channel's is kept.
        Assert.Equal((ChannelProtection.Cbcs, 10), Read(await _channels.SetProtectionAsync(plain.Id, ChannelProtection.Cbcs, 10)));
        Assert.Equal((ChannelProtection.Cbcs, 10), Read(await _channels.GetAsync(plain.Id)));
        Assert.Equal((ChannelProtection.Aes128, 10), Read(await _channels.SetProtectionAsync(plain.Id, ChannelProtection.Aes128)));
        // Kept while the scheme is none; 0 returns to one key per broadcast.
        Assert.Equal((ChannelProtection.None, 10), Read(await _channels.SetProtectionAsync(plain.Id, ChannelProtection.None, 10)));
        Assert.Equal((ChannelProtection.None, 10), Read(await _channels.GetAsync(plain.Id)));
        Assert.Equal((ChannelProtection.Cenc, 0), Read(await _channels.SetProtectionAsync(plain.Id, ChannelProtection.Cenc, 0)));
        var row = await new SqlChannelRepository(_database).GetByIdAsync(plain.Id);
        Assert.Equal((ChannelProtection.Cenc, 0), (row!.Protection, row.KeyRotationSegments));
        // Other changes to the channel leave it as set.
        await _channels.SetProtectionAsync(plain.Id, ChannelProtection.Cenc, 7);
        await _channels.UpdateAsync(plain.Id, "renamed", requireSchedule: true, lowLatency: true);
        Assert.Equal((ChannelProtection.Cenc, 7), Read(await _channels.GetAsync(plain.Id)));
        Assert.False(await new SqlChannelRepository(_database).SetProtectionAsync("no-such-channel", ChannelProtection.Cenc, 7));

        static (ChannelProtection, int) Read(Channel? channel)
        {
            Assert.NotNull(channel);
            return (channel.Protection, channel.KeyRotationSegments);
        }
    }

    [Fact]
    public async Task A_key_is_kept_encrypted_and_found_by_its_channel_only()
    {
        var one = (await _channels.CreateAsync(new ChannelSpec("one"))).Channel;
        var two = (await _channels.CreateAsync(new ChannelSpec("two"))).Channel;
        var first = await _keys.CreateAsync(one.Id);
        var second = await _keys.CreateAsync(one.Id);
        Assert.NotEqual(first.KeyId, second.KeyId);
        Assert.NotEqual(first.Key, second.Key);
        Assert.DoesNotContain(Convert.ToHexStringLower(first.Key), first.ToString(), StringComparison.Ordinal);

        var found = await _keys.FindAsync(one.Id, [first.KeyId, second.KeyId, RandomNumberGenerator.GetBytes(16)]);
        Assert.Equal(2, found.Count);
        Assert.Equal(first.Key, found.Single(k => k.KeyId.AsSpan().SequenceEqual(first.KeyId)).Key);
        Assert.Empty(await _keys.FindAsync(two.Id, [first.KeyId]));
        Assert.Empty(await _keys.FindAsync(one.Id, [new byte[15]]));
        await Assert.ThrowsAsync<ArgumentException>(() => _keys.FindAsync(one.Id, [.. Enumerable.Range(0, 17).Select(_ => new byte[16])]));

        // At rest: the key is nowhere in the table's bytes.
        await using (var connection = await _database.OpenAsync())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT key_ciphertext FROM content_keys";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                var cell = reader.GetFieldValue<byte[]>(0);
                Assert.False(cell.AsSpan().IndexOf(first.Key) >= 0 || cell.AsSpan().IndexOf(second.Key) >= 0, "a key stored in the clear");
            }
        }

        // Another server secret reads nothing; the channel's deletion takes its keys.
        var otherSecret = new ContentKeyStore(_database, new StreamKeyProtector(RandomNumberGenerator.GetBytes(32)), TimeProvider.System);
        Assert.Empty(await otherSecret.FindAsync(one.Id, [first.KeyId]));
        Assert.True(await new SqlChannelRepository(_database).DeleteAsync(one.Id));
        Assert.Empty(await _keys.FindAsync(one.Id, [first.KeyId]));
    }
}

public sealed class SqliteContentProtectionStoreTests() : ContentProtectionStoreContract(new SqliteTestDatabases());

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresContentProtectionStoreTests(PostgresTestCluster cluster) : ContentProtectionStoreContract(new PostgresTestDatabases(cluster));
