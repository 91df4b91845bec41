using System.Security.Claims;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Broadcast.Control.Tests.Security;

/// <summary>Scoped API keys made and checked: the token, its refusals, the last-use write, and the scope and channel rule.</summary>
public sealed class ApiKeyServiceTests : ChannelTableContract
{
    private static readonly DateTimeOffset Start = new(2026, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private readonly ManualClock _clock = new(Start);
    private CountingRepository _repository = null!;
    private ApiKeyService _keys = null!;

    protected override ControlDatabase Create() => Sqlite();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _repository = new CountingRepository(new SqlApiKeyRepository(Database));
        _keys = new ApiKeyService(_repository, Channels, _clock, NullLogger<ApiKeyService>.Instance);
    }

    private Task<IssuedApiKey> CreateAsync(string[]? scopes = null, string[]? channels = null, TimeSpan? lifetime = null) =>
        _keys.CreateAsync(new ApiKeySpec("Backend", scopes ?? [ApiScopes.ClipsWrite], channels, Start + (lifetime ?? TimeSpan.FromDays(30))));

    [Fact]
    public async Task A_new_key_authenticates_with_its_token_and_only_its_hash_is_stored()
    {
        var channel = await ChannelAsync();
        var issued = await CreateAsync(channels: [channel]);
        Assert.StartsWith("bk_" + issued.Key.Id + "_", issued.Token, StringComparison.Ordinal);
        Assert.Equal(3 + 16 + 1 + 43, issued.Token.Length);
        var stored = (await _repository.GetAsync(issued.Key.Id))!;
        Assert.DoesNotContain(issued.Token[20..], Convert.ToHexString(stored.SecretHash), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(32, stored.SecretHash.Length);

        var (key, refusal) = await _keys.AuthenticateAsync(issued.Token);
        Assert.Equal(ApiKeyRefusal.None, refusal);
        Assert.Equal([ApiScopes.ClipsWrite], key!.Scopes);
        Assert.Equal([channel], key.Channels);
    }

    [Fact]
    public async Task Expired_revoked_wrong_secret_and_malformed_tokens_are_refused()
    {
        var issued = await CreateAsync(lifetime: TimeSpan.FromHours(1));
        char last = issued.Token[^1];
        string wrongSecret = issued.Token[..^1] + (last == 'A' ? 'B' : 'A');
        Assert.Equal(ApiKeyRefusal.WrongSecret, (await _keys.AuthenticateAsync(wrongSecret)).Refusal);
        Assert.Equal(ApiKeyRefusal.Malformed, (await _keys.AuthenticateAsync(issued.Token[..^1])).Refusal);
        Assert.Equal(ApiKeyRefusal.Malformed, (await _keys.AuthenticateAsync("bk_" + new string('Z', 16) + issued.Token[19..])).Refusal);
        Assert.Equal(ApiKeyRefusal.Unknown, (await _keys.AuthenticateAsync("bk_" + new string('0', 16) + issued.Token[19..])).Refusal);

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(ApiKeyRefusal.Expired, (await _keys.AuthenticateAsync(issued.Token)).Refusal);

        var other = await CreateAsync();
        Assert.Equal(ApiKeyRefusal.None, (await _keys.AuthenticateAsync(other.Token)).Refusal);
        Assert.True(await _keys.RevokeAsync(other.Key.Id));
        Assert.Equal(ApiKeyRefusal.Unknown, (await _keys.AuthenticateAsync(other.Token)).Refusal);
        Assert.False(await _keys.RevokeAsync(other.Key.Id));
    }

    [Fact]
    public async Task The_last_use_is_written_at_most_once_a_minute()
    {
        var issued = await CreateAsync();
        for (int i = 0; i < 5; i++) await _keys.AuthenticateAsync(issued.Token);
        Assert.Equal(1, _repository.Touches);
        Assert.Equal(Start, (await _repository.GetAsync(issued.Key.Id))!.LastUsedAt);
        _clock.Advance(TimeSpan.FromSeconds(59));
        await _keys.AuthenticateAsync(issued.Token);
        Assert.Equal(1, _repository.Touches);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await _keys.AuthenticateAsync(issued.Token);
        Assert.Equal(2, _repository.Touches);
        Assert.Equal(Start.AddMinutes(1), (await _repository.GetAsync(issued.Key.Id))!.LastUsedAt);

        // Another node wrote it a moment ago: this node does not write it again within the minute.
        var fresh = new ApiKeyService(_repository, Channels, _clock, NullLogger<ApiKeyService>.Instance);
        _clock.Advance(TimeSpan.FromSeconds(30));
        await fresh.AuthenticateAsync(issued.Token);
        Assert.Equal(2, _repository.Touches);
    }

    [Theory]
    [InlineData("", "clips:write", 30, "name")]
    [InlineData("Backend", "", 30, "scopes")]
    [InlineData("Backend", "clips:delete", 30, "scopes")]
    [InlineData("Backend", "clips:write", -1, "expiresAt")]
    [InlineData("Backend", "clips:write", 5000, "expiresAt")]
    public async Task Bad_input_is_refused_by_field(string name, string scope, int days, string field)
    {
        var error = await Assert.ThrowsAsync<ValidationFailedException>(() => _keys.CreateAsync(new ApiKeySpec(name,
            scope.Length == 0 ? [] : [scope], null, Start.AddDays(days))));
        Assert.Equal([field], error.Errors.Keys);
        Assert.Empty(await _keys.ListAsync());
    }

    [Fact]
    public async Task An_unknown_channel_and_a_missing_expiry_are_refused_and_the_cap_holds()
    {
        var unknown = await Assert.ThrowsAsync<ValidationFailedException>(() => CreateAsync(channels: ["no-such-channel"]));
        Assert.Contains("no-such-channel", unknown.Errors["channels"][0], StringComparison.Ordinal);
        var noExpiry = await Assert.ThrowsAsync<ValidationFailedException>(() =>
            _keys.CreateAsync(new ApiKeySpec("Backend", [ApiScopes.ClipsWrite], null, null)));
        Assert.Equal(["expiresAt"], noExpiry.Errors.Keys);

        for (int i = 0; i < ApiKeyService.MaxKeys; i++) await CreateAsync();
        await Assert.ThrowsAsync<ConflictException>(() => CreateAsync());
        Assert.Equal(ApiKeyService.MaxKeys, (await _keys.ListAsync()).Count);
    }

    private static ClaimsPrincipal Principal(string[] scopes, string[] channels) =>
        ApiKeyClaims.PrincipalFor(new ApiKey("0123456789abcdef", "k", scopes, channels, Start, Start, null, []));

    private static EndpointMetadataCollection Metadata(params object[] items) => new(items);

    [Fact]
    public void A_route_needs_its_scope_for_the_method_and_one_of_the_keys_channels()
    {
        var clips = Metadata(new ApiScopeMetadata(ApiScopes.ClipsRead, ApiScopes.ClipsWrite, "id"));
        var limited = Principal([ApiScopes.ClipsWrite], ["a"]);
        var routeA = new RouteValueDictionary { ["id"] = "a" };
        var routeB = new RouteValueDictionary { ["id"] = "b" };

        Assert.Equal((null, null), ApiKeyAccess.Check(limited, clips, HttpMethods.Post, routeA));
        var (message, missing) = ApiKeyAccess.Check(limited, clips, HttpMethods.Get, routeA);
        Assert.Equal(ApiScopes.ClipsRead, missing);
        Assert.Contains("'clips:read'", message, StringComparison.Ordinal);
        Assert.Contains("other channels", ApiKeyAccess.Check(limited, clips, HttpMethods.Post, routeB).Message, StringComparison.Ordinal);
        Assert.Contains("not one channel's", ApiKeyAccess.Check(limited, clips, HttpMethods.Post, new RouteValueDictionary()).Message,
            StringComparison.Ordinal);
        // A route that names no channel value: only a key for every channel.
        var events = Metadata(new ApiScopeMetadata(ApiScopes.EventsRead, ApiScopes.EventsWrite, null));
        Assert.NotNull(ApiKeyAccess.Check(Principal([ApiScopes.EventsWrite], ["a"]), events, HttpMethods.Post, routeA).Message);
        Assert.Equal((null, null), ApiKeyAccess.Check(Principal([ApiScopes.EventsWrite], []), events, HttpMethods.Post, routeA));
        Assert.Equal((null, null), ApiKeyAccess.Check(Principal([ApiScopes.ClipsWrite], []), clips, HttpMethods.Post, routeB));
        // A read across channels that filters to the key's channels opens to a limited key; a write there does not.
        var filtered = Metadata(new ApiScopeMetadata(ApiScopes.EventsRead, ApiScopes.EventsWrite, null), ChannelFilteredMetadata.Instance);
        var reader = Principal([ApiScopes.EventsRead, ApiScopes.EventsWrite], ["a"]);
        Assert.Equal((null, null), ApiKeyAccess.Check(reader, filtered, HttpMethods.Get, new RouteValueDictionary()));
        Assert.Contains("not one channel's", ApiKeyAccess.Check(reader, filtered, HttpMethods.Post, new RouteValueDictionary()).Message,
            StringComparison.Ordinal);
        Assert.Equal(new HashSet<string> { "a" }, ApiKeyClaims.LimitedChannels(reader));
        Assert.True(ApiKeyClaims.MaySee(reader, "a"));
        Assert.False(ApiKeyClaims.MaySee(reader, "b"));
        Assert.Null(ApiKeyClaims.LimitedChannels(Principal([ApiScopes.EventsRead], [])));
        Assert.True(ApiKeyClaims.MaySee(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Role, ControlAuth.AdminRole)], "admin")), "b"));
    }

    [Fact]
    public void No_key_opens_an_admin_only_route_or_one_that_declares_nothing()
    {
        var all = Principal([.. ApiScopes.All], []);
        Assert.NotNull(ApiKeyAccess.Check(all, Metadata(AdminOnlyMetadata.Instance), HttpMethods.Get, null).Message);
        Assert.NotNull(ApiKeyAccess.Check(all, Metadata(), HttpMethods.Get, null).Message);
        Assert.NotNull(ApiKeyAccess.Check(all, null, HttpMethods.Get, null).Message);
        Assert.NotNull(ApiKeyAccess.Check(all, Metadata(new ApiScopeMetadata(ApiScopes.ClipsRead, ApiScopes.ClipsWrite, "id"),
            AdminOnlyMetadata.Instance), HttpMethods.Get, null).Message);
    }

    private sealed class CountingRepository(IApiKeyRepository inner) : IApiKeyRepository
    {
        public int Touches;

        public Task<bool> TryInsertAsync(ApiKey key, int maxKeys, CancellationToken cancellationToken = default) =>
            inner.TryInsertAsync(key, maxKeys, cancellationToken);

        public Task<ApiKey?> GetAsync(string id, CancellationToken cancellationToken = default) => inner.GetAsync(id, cancellationToken);

        public Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken cancellationToken = default) => inner.ListAsync(cancellationToken);

        public Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default) => inner.DeleteAsync(id, cancellationToken);

        public Task<bool> SetLastUsedAsync(string id, DateTimeOffset at, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Touches);
            return inner.SetLastUsedAsync(id, at, cancellationToken);
        }
    }
}
