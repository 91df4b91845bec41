using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Channels;
using Broadcast.Control.Persistence;
using Broadcast.Control.Restream;
using Broadcast.Control.Security;
using Broadcast.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Restream;

/// <summary>Destinations through the real service and repository, on each back-end (migrations 0003 and 0018).</summary>
public abstract class DestinationStoreContract(Func<ControlDatabase> create) : IAsyncLifetime
{
    private ControlDatabase _database = null!;
    private ChannelService _channels = null!;
    private DestinationService _destinations = null!;
    private SqlDestinationRepository _repository = null!;
    private readonly StreamKeyProtector _protector = new(RandomNumberGenerator.GetBytes(32));

    public async Task InitializeAsync()
    {
        _database = create();
        await _database.MigrateAsync();
        var channelRepository = new SqlChannelRepository(_database);
        _channels = new ChannelService(channelRepository, _protector, TimeProvider.System, new Broadcast.Control.Events.LocalPublishRuleChanges(), NullLogger<ChannelService>.Instance);
        _repository = new SqlDestinationRepository(_database);
        _destinations = new DestinationService(_repository, channelRepository, _protector, new NoDestinationLiveStatus(),
            new Broadcast.Network.Outbound.OutboundGuard(new Broadcast.Network.Outbound.OutboundUrlPolicy(), new FakeHostResolver()), TimeProvider.System,
            NullLogger<DestinationService>.Instance);
    }

    public async Task DisposeAsync() => await _database.DisposeAsync();

    [Fact]
    public async Task Round_trips_updates_deletes_and_cascades_with_the_channel()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Restream store"))).Channel;
        var a = await _destinations.CreateAsync(channel.Id, new DestinationSpec("rtmp://a.example/live", "key-aaaa-1111", null, null, null));
        var b = await _destinations.CreateAsync(channel.Id, new DestinationSpec("rtmps://b.example/app", "key-bbbb-2222", false, true, true));
        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.True(a!.Enabled);
        Assert.False(b!.Enabled);
        Assert.True(b.AllowUntrustedCertificate);
        Assert.False(a.Multitrack);
        Assert.True(b.Multitrack);

        var list = await _destinations.ListAsync(channel.Id);
        // Listed oldest first; two destinations created within one timestamp tick are ordered by id (random after
        // its time prefix), so the list is checked for that (created, id) order instead of assuming a before b.
        Assert.Equal(new[] { a.Id, b.Id }.Order(StringComparer.Ordinal), list!.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.Equal(list!.OrderBy(d => d.CreatedAt).ThenBy(d => d.Id, StringComparer.Ordinal).Select(d => d.Id), list!.Select(d => d.Id));
        Assert.Equal(a, await _destinations.GetAsync(channel.Id, a.Id));
        Assert.True((await _destinations.GetAsync(channel.Id, b.Id))!.Multitrack);
        Assert.Null(await _destinations.GetAsync("other-channel", a.Id));

        // Each destination decrypts to its own key, in the same (created, id) order as the list.
        var keys = await _destinations.ListWithKeysAsync(channel.Id);
        Assert.Equal(list!.Select(d => d.Id), keys.Select(k => k.Destination.Id));
        Assert.Equal("key-aaaa-1111", keys.Single(k => k.Destination.Id == a.Id).StreamKey);
        Assert.Equal("key-bbbb-2222", keys.Single(k => k.Destination.Id == b.Id).StreamKey);

        var updated = await _destinations.UpdateAsync(channel.Id, b.Id, new DestinationSpec("rtmps://c.example/app", null, true, null, null));
        Assert.Equal("rtmps://c.example/app", updated!.Url);
        Assert.True(updated.Enabled);
        Assert.True(updated.Multitrack); // null leaves it as it was
        Assert.True(updated.AllowUntrustedCertificate);
        var plain = await _destinations.UpdateAsync(channel.Id, b.Id, new DestinationSpec(null, null, null, null, false));
        Assert.False(plain!.Multitrack);
        Assert.False((await _destinations.GetAsync(channel.Id, b.Id))!.Multitrack);
        Assert.True((await _destinations.UpdateAsync(channel.Id, a.Id, new DestinationSpec(null, null, null, null, true)))!.Multitrack);
        Assert.True((await _destinations.ListWithKeysAsync(channel.Id)).Single(k => k.Destination.Id == a.Id).Destination.Multitrack);
        Assert.Equal("key-bbbb-2222", (await _destinations.ListWithKeysAsync(channel.Id)).Single(k => k.Destination.Id == b.Id).StreamKey);

        Assert.True(await _destinations.DeleteAsync(channel.Id, a.Id));
        Assert.False(await _destinations.DeleteAsync(channel.Id, a.Id));
        Assert.True(await _channels.DeleteAsync(channel.Id));
        Assert.Empty(await _repository.ListAsync(channel.Id));
    }

    [Fact]
    public async Task No_plaintext_key_at_rest_and_a_copied_ciphertext_does_not_decrypt()
    {
        var channel = (await _channels.CreateAsync(new ChannelSpec("Restream at rest"))).Channel;
        var a = await _destinations.CreateAsync(channel.Id, new DestinationSpec("rtmp://a.example/live", "secret-key-for-a-0001", null, null, null));
        var b = await _destinations.CreateAsync(channel.Id, new DestinationSpec("rtmp://b.example/live", "secret-key-for-b-0002", null, null, null));

        await using (var connection = await _database.OpenAsync())
        await using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT * FROM restream_destinations";
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                for (int i = 0; i < reader.FieldCount; i++)
                {
                    var cell = reader.GetValue(i) is byte[] bytes ? Encoding.UTF8.GetString(bytes) : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
                    Assert.DoesNotContain("secret-key-for", cell, StringComparison.Ordinal);
                }
            }
        }

        // b's ciphertext put on a's row: bound to its destination id, it does not decrypt there.
        var rowA = (await _repository.GetAsync(channel.Id, a!.Id))!;
        var rowB = (await _repository.GetAsync(channel.Id, b!.Id))!;
        Assert.True(await _repository.UpdateAsync(rowA with { KeyCiphertext = rowB.KeyCiphertext }));
        var keys = await _destinations.ListWithKeysAsync(channel.Id);
        Assert.Equal([b.Id], keys.Select(k => k.Destination.Id));
    }
}

public sealed class SqliteDestinationStoreTests : DestinationStoreContract, IDisposable
{
    private static readonly TempDirectory Directory = new();
    private static int _count;

    public SqliteDestinationStoreTests()
        : base(() => new SqliteControlDatabase($"Data Source={Directory.File($"dest{Interlocked.Increment(ref _count)}/broadcast.db")}"))
    {
    }

    public void Dispose() => Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresDestinationStoreTests(PostgresTestCluster cluster)
    : DestinationStoreContract(() => new PostgresControlDatabase(cluster.CreateDatabase("restream")));
