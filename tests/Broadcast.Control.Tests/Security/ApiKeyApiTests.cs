using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Clips;
using Broadcast.Control.Tests.Clips;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Security;

/// <summary><c>/api/keys</c> and what a key may do, on a real Kestrel over SQLite (the clip store stood in for).</summary>
public sealed class ApiKeyApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-keys-0123456789abcd";
    private ControlApiHost _host = null!;
    private HttpClient _admin = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(),
            services => services.AddSingleton<IClipMedia>(new FakeClipMedia()));
        _admin = _host.Client;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_clips_write_key_on_one_channel_makes_a_clip_there_and_is_refused_elsewhere()
    {
        string mine = await CreateChannelAsync("keys-mine");
        string other = await CreateChannelAsync("keys-other");
        var (id, token) = await CreateKeyAsync(["clips:write"], [mine]);
        using var key = Client(token);

        using var made = await key.PostAsync($"/api/channels/{mine}/clips", Json("""{"from":-10,"to":-2}"""));
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);

        using var elsewhere = await key.PostAsync($"/api/channels/{other}/clips", Json("""{"from":-10,"to":-2}"""));
        await AssertForbiddenAsync(elsewhere, null, "other channels");
        using var read = await key.GetAsync($"/api/channels/{mine}/clips");
        await AssertForbiddenAsync(read, "clips:read", "'clips:read'");
        using var channel = await key.GetAsync($"/api/channels/{mine}");
        await AssertForbiddenAsync(channel, "channels:read", "'channels:read'");
        using var keys = await key.GetAsync("/api/keys");
        await AssertForbiddenAsync(keys, null, "operator's alone");
        using var users = await key.GetAsync("/api/users");
        await AssertForbiddenAsync(users, null, "operator's alone");
        using var session = await key.GetAsync("/api/session");
        Assert.Equal(HttpStatusCode.Forbidden, session.StatusCode);

        // The admin token keeps full access and sees the key's last use, never its secret.
        var listed = Assert.Single((await JsonAsync(await _admin.GetAsync("/api/keys"))).EnumerateArray());
        Assert.Equal(id, listed.GetProperty("id").GetString());
        Assert.NotEqual(JsonValueKind.Null, listed.GetProperty("lastUsedAt").ValueKind);
        Assert.False(listed.TryGetProperty("token", out var shown) && shown.ValueKind != JsonValueKind.Null);
        Assert.DoesNotContain(token, await (await _admin.GetAsync("/api/keys")).Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_address_sending_ten_refused_keys_is_answered_without_a_lookup_for_five_minutes_and_the_admin_token_still_works()
    {
        string mine = await CreateChannelAsync("keys-junk");
        var (_, token) = await CreateKeyAsync(["channels:read"], []);
        for (int i = 0; i < 10; i++)
        {
            using var junk = Client($"bk_{i:x16}_{new string('A', 43)}");
            using var refused = await junk.GetAsync($"/api/channels/{mine}");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("not valid", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Blocked now: even the real key from this address waits (as a stream key does), without a database lookup.
        using var real = Client(token);
        using var blocked = await real.GetAsync($"/api/channels/{mine}");
        Assert.Equal(HttpStatusCode.Unauthorized, blocked.StatusCode);
        Assert.Contains("Too many refused API keys from this address", await blocked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var admin = await _admin.GetAsync($"/api/channels/{mine}");
        Assert.Equal(HttpStatusCode.OK, admin.StatusCode);
    }

    [Fact]
    public async Task A_key_for_every_channel_uses_its_scopes_anywhere_and_a_revoked_or_tampered_key_is_unauthorized()
    {
        string first = await CreateChannelAsync("keys-first");
        var (id, token) = await CreateKeyAsync(["channels:read", "events:read"], null);
        using var key = Client(token);
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/api/channels")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync($"/api/channels/{first}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await key.GetAsync("/api/events")).StatusCode);
        using var write = await key.PostAsync("/api/channels", Json("""{"name":"nope"}"""));
        await AssertForbiddenAsync(write, "channels:write", "'channels:write'");

        using var tampered = Client(token[..^2] + (token[^2] == 'a' ? "bb" : "aa"));
        using var refused = await tampered.GetAsync("/api/channels");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);

        Assert.Equal(HttpStatusCode.NoContent, (await _admin.DeleteAsync($"/api/keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await key.GetAsync("/api/channels")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.DeleteAsync($"/api/keys/{id}")).StatusCode);
    }

    [Theory]
    [InlineData("""{"name":"k","scopes":["clips:write"]}""", "expiresAt")]
    [InlineData("""{"name":"k","scopes":["clips:write"],"expiresAt":"2026-05-01T10:00:00+02:00"}""", "expiresAt")]
    [InlineData("""{"name":"k","scopes":["root"],"expiresAt":"{soon}"}""", "scopes")]
    [InlineData("""{"name":"k","scopes":["clips:write"],"channels":["missing"],"expiresAt":"{soon}"}""", "channels")]
    public async Task Bad_requests_are_refused_with_the_field(string body, string field)
    {
        string soon = DateTimeOffset.UtcNow.AddDays(30).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var response = await _admin.PostAsync("/api/keys", Json(body.Replace("{soon}", soon, StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await JsonAsync(response)).GetProperty("errors").TryGetProperty(field, out _), field);
    }

    [Fact]
    public async Task OpenApi_describes_the_key_routes_and_their_bodies()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        using var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var paths = doc.RootElement.GetProperty("paths");
        Assert.True(paths.GetProperty("/api/keys").TryGetProperty("post", out var post));
        Assert.True(paths.GetProperty("/api/keys").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/api/keys/{keyId}").TryGetProperty("delete", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("201", out _));
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.TryGetProperty("CreateApiKeyRequest", out _));
        Assert.True(schemas.GetProperty("ApiKeyResponse").GetProperty("properties").TryGetProperty("lastUsedAt", out _));
    }

    private static async Task AssertForbiddenAsync(HttpResponseMessage response, string? scope, string detail)
    {
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await JsonAsync(response);
        Assert.Contains(detail, body.GetProperty("detail").GetString(), StringComparison.Ordinal);
        if (scope is null) Assert.False(body.TryGetProperty("requiredScope", out _));
        else Assert.Equal(scope, body.GetProperty("requiredScope").GetString());
    }

    private async Task<(string Id, string Token)> CreateKeyAsync(string[] scopes, string[]? channels)
    {
        string expires = DateTimeOffset.UtcNow.AddDays(30).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        using var response = await _admin.PostAsync("/api/keys", Json(JsonSerializer.Serialize(new { name = "backend", scopes, channels, expiresAt = expires })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await JsonAsync(response);
        return (body.GetProperty("id").GetString()!, body.GetProperty("token").GetString()!);
    }

    private HttpClient Client(string token)
    {
        var client = new HttpClient { BaseAddress = _host.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private async Task<string> CreateChannelAsync(string name)
    {
        using var response = await _admin.PostAsync("/api/channels", Json(JsonSerializer.Serialize(new { name })));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await JsonAsync(response)).GetProperty("id").GetString()!;
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
