using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Restream;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Restream;

/// <summary><c>/api/channels/{id}/destinations</c> on a real Kestrel over SQLite, with the pipeline stood in for.</summary>
public sealed class DestinationApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-destinations-0123";
    private readonly FakeDestinationStatus _status = new();
    private ControlApiHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>(), services => services.AddSingleton<IDestinationLiveStatus>(_status));
        _client = _host.Client;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>Stands in for the restream supervisor: records change notices, reports states it is told.</summary>
    private sealed class FakeDestinationStatus : IDestinationLiveStatus
    {
        public ConcurrentQueue<string> Changed { get; } = new();

        public ConcurrentDictionary<string, RestreamState> States { get; } = new();

        public RestreamState? Get(string destinationId) => States.GetValueOrDefault(destinationId);

        public Task DestinationsChangedAsync(string channelSlug, CancellationToken cancellationToken)
        {
            Changed.Enqueue(channelSlug);
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Create_list_patch_and_delete_with_the_key_masked_and_the_pipeline_told()
    {
        var (channelId, slug) = await CreateChannelAsync("restream-crud");
        using var created = await PostAsync($"/api/channels/{channelId}/destinations",
            """{"url":"rtmps://live-api-s.facebook.com:443/rtmp/","streamKey":"FB-1234567890-abcd","enabled":true}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await JsonAsync(created);
        var id = body.GetProperty("id").GetString()!;
        Assert.Equal($"/api/channels/{channelId}/destinations/{id}", created.Headers.Location?.OriginalString);
        Assert.Equal("rtmps://live-api-s.facebook.com:443/rtmp/", body.GetProperty("url").GetString());
        Assert.Equal("********abcd", body.GetProperty("streamKey").GetString());
        Assert.True(body.GetProperty("enabled").GetBoolean());
        Assert.Equal("idle", body.GetProperty("state").GetProperty("state").GetString());
        Assert.Equal([slug], _status.Changed);

        _status.States[id] = new RestreamState(id, RestreamPhase.Retrying, 1234, LastError: "connection refused", Attempts: 2);
        var list = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations"));
        var only = Assert.Single(list.EnumerateArray());
        Assert.Equal("retrying", only.GetProperty("state").GetProperty("state").GetString());
        Assert.Equal("connection refused", only.GetProperty("state").GetProperty("lastError").GetString());
        Assert.Equal(1234, only.GetProperty("state").GetProperty("bytesSent").GetInt64());
        Assert.DoesNotContain("FB-1234567890", list.GetRawText());

        using var patched = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent("""{"enabled":false}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var patchedBody = await JsonAsync(patched);
        Assert.False(patchedBody.GetProperty("enabled").GetBoolean());
        Assert.Equal("stopped", patchedBody.GetProperty("state").GetProperty("state").GetString());
        Assert.Equal("********abcd", patchedBody.GetProperty("streamKey").GetString());
        Assert.Equal(2, _status.Changed.Count);

        using var rekeyed = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent("""{"streamKey":"new-key-wxyz9876"}""", Encoding.UTF8, "application/json"));
        Assert.Equal("********9876", (await JsonAsync(rekeyed)).GetProperty("streamKey").GetString());

        var service = _host.App.Services.GetRequiredService<DestinationService>();
        var withKey = Assert.Single(await service.ListWithKeysAsync(channelId));
        Assert.Equal("new-key-wxyz9876", withKey.StreamKey);

        using var deleted = await _client.DeleteAsync($"/api/channels/{channelId}/destinations/{id}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/api/channels/{channelId}/destinations/{id}")).StatusCode);
        Assert.Empty((await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations"))).EnumerateArray());
        Assert.Equal(4, _status.Changed.Count);
    }

    [Theory]
    [InlineData("""{"url":"http://example.com/live","streamKey":"k"}""", "url", "scheme 'http'")]
    [InlineData("""{"url":"srt://example.com:9000/live","streamKey":"k"}""", "url", "scheme 'srt'")]
    [InlineData("""{"url":"rtmp://example.com","streamKey":"k"}""", "url", "application path")]
    [InlineData("""{"url":"rtmp://user:pw@example.com/live","streamKey":"k"}""", "url", "user name")]
    [InlineData("""{"url":"not a url","streamKey":"k"}""", "url", "spaces")]
    [InlineData("""{"url":"example.com/live","streamKey":"k"}""", "url", "absolute")]
    [InlineData("""{"streamKey":"k"}""", "url", "required")]
    [InlineData("""{"url":"rtmp://example.com/live"}""", "streamKey", "required")]
    [InlineData("""{"url":"rtmp://example.com/live","streamKey":"a b"}""", "streamKey", "spaces")]
    [InlineData("""{"url":42,"streamKey":"k"}""", "url", "wrong type")]
    [InlineData("""{"url":"rtmp://example.com/live","streamKey":"k","enabled":"yes"}""", "enabled", "wrong type")]
    [InlineData("""{"url":"rtmp://example.com/live","streamKey":"k","multitrack":1}""", "multitrack", "wrong type")]
    public async Task Invalid_destination_is_a_400_problem_naming_the_field(string json, string field, string message)
    {
        var (channelId, _) = await CreateChannelAsync("restream-invalid");
        using var response = await PostAsync($"/api/channels/{channelId}/destinations", json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await JsonAsync(response)).GetProperty("errors");
        Assert.Contains(message, errors.GetProperty(field)[0].GetString());
        Assert.Empty((await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations"))).EnumerateArray());
    }

    [Fact]
    public async Task Patch_with_an_invalid_scheme_names_the_field_and_changes_nothing()
    {
        var (channelId, _) = await CreateChannelAsync("restream-patch");
        var id = (await JsonAsync(await PostAsync($"/api/channels/{channelId}/destinations", """{"url":"rtmp://a.example/live","streamKey":"key-1"}""")))
            .GetProperty("id").GetString();
        using var response = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent("""{"url":"https://a.example/live"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await JsonAsync(response)).GetProperty("errors").TryGetProperty("url", out _));
        var get = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations/{id}"));
        Assert.Equal("rtmp://a.example/live", get.GetProperty("url").GetString());
    }

    [Fact]
    public async Task Multitrack_is_off_unless_asked_for_and_a_patch_without_it_leaves_it_alone()
    {
        var (channelId, _) = await CreateChannelAsync("restream-multitrack");
        var plain = await JsonAsync(await PostAsync($"/api/channels/{channelId}/destinations",
            """{"url":"rtmp://a.example/live","streamKey":"key-1"}"""));
        Assert.False(plain.GetProperty("multitrack").GetBoolean());

        using var created = await PostAsync($"/api/channels/{channelId}/destinations",
            """{"url":"rtmp://b.example/live","streamKey":"key-2","multitrack":true}""");
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await JsonAsync(created);
        Assert.True(body.GetProperty("multitrack").GetBoolean());
        var id = body.GetProperty("id").GetString();
        var read = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations/{id}"));
        Assert.True(read.GetProperty("multitrack").GetBoolean());

        using var disabled = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent("""{"enabled":false}""", Encoding.UTF8, "application/json"));
        Assert.True((await JsonAsync(disabled)).GetProperty("multitrack").GetBoolean());

        using var single = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent("""{"multitrack":false}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, single.StatusCode);
        Assert.False((await JsonAsync(single)).GetProperty("multitrack").GetBoolean());
        var list = await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations"));
        Assert.All(list.EnumerateArray(), d => Assert.False(d.GetProperty("multitrack").GetBoolean()));
    }

    [Fact]
    public async Task Unknown_channel_or_destination_is_404()
    {
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync("/api/channels/nope/destinations", """{"url":"rtmp://a/live","streamKey":"k"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/api/channels/nope/destinations")).StatusCode);
        var (channelId, _) = await CreateChannelAsync("restream-404");
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/api/channels/{channelId}/destinations/nope")).StatusCode);
    }

    [Fact]
    public async Task Stream_key_is_encrypted_at_rest()
    {
        const string key = "plain-secret-key-0123456789";
        var (channelId, _) = await CreateChannelAsync("restream-at-rest");
        Assert.Equal(HttpStatusCode.Created, (await PostAsync($"/api/channels/{channelId}/destinations",
            JsonSerializer.Serialize(new { url = "rtmp://a.example/live", streamKey = key }))).StatusCode);
        var repository = _host.App.Services.GetRequiredService<IDestinationRepository>();
        var row = Assert.Single(await repository.ListAsync(channelId));
        Assert.DoesNotContain(key, Encoding.UTF8.GetString(row.KeyCiphertext));
        Assert.Equal(1, row.KeyCiphertext[0]); // the StreamKeyProtector format version
        Assert.Equal("********6789", row.KeyHint);
    }

    [Fact]
    public async Task OpenApi_lists_the_destination_routes()
    {
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        var doc = await anonymous.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/channels/{id}/destinations", doc);
        Assert.Contains("/api/channels/{id}/destinations/{destinationId}", doc);
    }

    private async Task<(string Id, string Slug)> CreateChannelAsync(string name)
    {
        using var response = await PostAsync("/api/channels", JsonSerializer.Serialize(new { name }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await JsonAsync(response);
        return (body.GetProperty("id").GetString()!, body.GetProperty("slug").GetString()!);
    }

    private Task<HttpResponseMessage> PostAsync(string path, string json) =>
        _client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Theory]
    [InlineData("rtmp://127.0.0.1/live", "a loopback address")]
    [InlineData("rtmp://loopback.test/live", "the host resolves to a loopback address")]
    [InlineData("rtmp://[::1]:1935/live", "a loopback address")]
    [InlineData("rtmp://169.254.169.254/live", "link-local")]
    [InlineData("rtmps://metadata.test/live", "the host resolves to a link-local address")]
    [InlineData("rtmp://10.0.0.5/live", "a private address")]
    [InlineData("rtmps://private.test/live2", "the host resolves to a private address")]
    [InlineData("rtmp://172.20.1.1/live", "a private address")]
    [InlineData("rtmp://192.168.0.2/live", "a private address")]
    [InlineData("rtmp://100.100.100.100/live", "carrier-grade NAT")]
    [InlineData("rtmp://[fc00::1]/live", "unique-local")]
    [InlineData("rtmp://[fe80::1]/live", "link-local")]
    [InlineData("rtmp://[::ffff:10.0.0.1]/live", "a private address")]
    [InlineData("rtmp://mapped.test/live", "the host resolves to a private address")]
    [InlineData("rtmp://rebind.test/live", "the host resolves to a loopback address")]
    [InlineData("rtmp://0.0.0.0/live", "unspecified")]
    [InlineData("rtmp://255.255.255.255/live", "broadcast")]
    [InlineData("rtmp://live.example.com:25/live", "port 25")]
    public async Task Destinations_the_outbound_policy_refuses_are_400_naming_the_url(string url, string words)
    {
        var (channelId, _) = await CreateChannelAsync("restream-refused");
        using var response = await PostAsync($"/api/channels/{channelId}/destinations", JsonSerializer.Serialize(new { url, streamKey = "key-1234" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var message = (await JsonAsync(response)).GetProperty("errors").GetProperty("url")[0].GetString()!;
        Assert.Contains("refused by the outbound policy", message, StringComparison.Ordinal);
        Assert.Contains(words, message, StringComparison.Ordinal);
        Assert.Empty((await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations"))).EnumerateArray());

        // A PATCH to the same URL is refused too, and changes nothing.
        var id = (await JsonAsync(await PostAsync($"/api/channels/{channelId}/destinations", """{"url":"rtmp://live.example.com/live","streamKey":"key-1"}""")))
            .GetProperty("id").GetString();
        using var patch = await _client.PatchAsync($"/api/channels/{channelId}/destinations/{id}",
            new StringContent(JsonSerializer.Serialize(new { url }), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, patch.StatusCode);
        Assert.Contains(words, (await JsonAsync(patch)).GetProperty("errors").GetProperty("url")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("rtmp://live.example.com/live",
            (await JsonAsync(await _client.GetAsync($"/api/channels/{channelId}/destinations/{id}"))).GetProperty("url").GetString());
    }

    [Fact]
    public async Task An_allow_listed_loopback_destination_is_accepted()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?> { ["Outbound:AllowedNetworks"] = "127.0.0.0/8" },
            services => services.AddSingleton<IDestinationLiveStatus>(new FakeDestinationStatus()));
        using var channel = await host.Client.PostAsync("/api/channels",
            new StringContent(JsonSerializer.Serialize(new { name = $"Allowed {Guid.NewGuid():N}" }), Encoding.UTF8, "application/json"));
        var channelId = (await JsonAsync(channel)).GetProperty("id").GetString();
        foreach (var url in new[] { "rtmp://127.0.0.1:19350/live", "rtmps://localhost:19360/live" })
        {
            using var created = await host.Client.PostAsync($"/api/channels/{channelId}/destinations",
                new StringContent(JsonSerializer.Serialize(new { url, streamKey = "key-1234" }), Encoding.UTF8, "application/json"));
            Assert.True(created.StatusCode == HttpStatusCode.Created, $"{url}: {await created.Content.ReadAsStringAsync()}");
        }
        using var refused = await host.Client.PostAsync($"/api/channels/{channelId}/destinations",
            new StringContent("""{"url":"rtmp://10.0.0.5/live","streamKey":"key-1234"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }

}
