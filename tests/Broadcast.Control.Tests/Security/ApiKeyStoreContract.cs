using Broadcast.Control.Persistence;
using Broadcast.Control.Security.ApiKeys;
using PostgresTestCluster = Broadcast.TestSupport.PostgresTestCluster;

namespace Broadcast.Control.Tests.Security;

/// <summary>The api_keys table (migration 0019) behaves the same on SQLite and PostgreSQL.</summary>
public abstract class ApiKeyStoreContract : ChannelTableContract
{
    private SqlApiKeyRepository _keys = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _keys = new SqlApiKeyRepository(Database);
    }

    private static readonly DateTimeOffset At = new(2026, 5, 1, 13, 45, 0, 123, TimeSpan.Zero);

    private static ApiKey Key(string id, string[]? channels = null) => new(id, "Backend " + id, ["clips:write", "channels:read"],
        channels ?? [], At.AddDays(90), At, null, System.Security.Cryptography.SHA256.HashData([1, 2, 3, (byte)id[0]]));

    [Fact]
    public async Task A_key_is_stored_read_listed_touched_and_deleted_with_its_hash_and_lists()
    {
        var channel = await ChannelAsync();
        var key = Key("0123456789abcdef", [channel, "another"]);
        Assert.True(await _keys.TryInsertAsync(key, 10));
        var read = await _keys.GetAsync(key.Id);
        Assert.NotNull(read);
        Assert.Equal((key.Id, key.Name, key.ExpiresAt, key.CreatedAt, (DateTimeOffset?)null),
            (read.Id, read.Name, read.ExpiresAt, read.CreatedAt, read.LastUsedAt));
        Assert.Equal(key.Scopes, read.Scopes);
        Assert.Equal(key.Channels, read.Channels);
        Assert.Equal(key.SecretHash, read.SecretHash);

        var second = Key("fedcba9876543210");
        Assert.True(await _keys.TryInsertAsync(second with { CreatedAt = At.AddMinutes(1) }, 10));
        Assert.Equal([key.Id, second.Id], (await _keys.ListAsync()).Select(k => k.Id));
        Assert.Empty((await _keys.GetAsync(second.Id))!.Channels);

        Assert.True(await _keys.SetLastUsedAsync(key.Id, At.AddHours(1)));
        Assert.Equal(At.AddHours(1), (await _keys.GetAsync(key.Id))!.LastUsedAt);

        Assert.True(await _keys.DeleteAsync(key.Id));
        Assert.False(await _keys.DeleteAsync(key.Id));
        Assert.Null(await _keys.GetAsync(key.Id));
        Assert.False(await _keys.SetLastUsedAsync(key.Id, At));
        Assert.Equal([second.Id], (await _keys.ListAsync()).Select(k => k.Id));
    }

    [Fact]
    public async Task The_cap_refuses_a_key_past_it_and_a_repeated_id()
    {
        Assert.True(await _keys.TryInsertAsync(Key("aaaaaaaaaaaaaaaa"), 2));
        Assert.True(await _keys.TryInsertAsync(Key("bbbbbbbbbbbbbbbb"), 2));
        Assert.False(await _keys.TryInsertAsync(Key("cccccccccccccccc"), 2));
        Assert.Equal(2, (await _keys.ListAsync()).Count);
        await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => _keys.TryInsertAsync(Key("aaaaaaaaaaaaaaaa"), 10));
    }
}

public sealed class SqliteApiKeyStoreTests : ApiKeyStoreContract
{
    protected override ControlDatabase Create() => Sqlite();
}

[Trait("Kind", "Component")]
[Collection(PostgresCollection.Name)]
public sealed class PostgresApiKeyStoreTests(PostgresTestCluster cluster) : ApiKeyStoreContract
{
    protected override ControlDatabase Create() => new PostgresControlDatabase(cluster.CreateDatabase("apikeys"));
}
