using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Analytics;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests.Analytics;

/// <summary>
/// <c>GET /api/channels/{id}/broadcasts</c> on a real control host: the channel's broadcasts with audience kept, newest
/// first, limited; a key with channels:read (of the channel) allowed and others refused; a bad limit a 400 naming it; an
/// unknown channel a 404; the route in the OpenAPI document.
/// </summary>
public sealed class AudienceBroadcastsApiTests
{
    private const string Token = "test-admin-token-audience-list-0123456";
    private const long T0 = 1_796_000_000;

    [Fact]
    public async Task The_broadcasts_are_listed_newest_first_to_a_reader_of_the_channel()
    {
        await using var host = await ControlApiHost.StartAsync(Token, new Dictionary<string, string?>());
        string id = await host.CreateChannelAsync("Evening");
        string other = await host.CreateChannelAsync("Morning");
        var store = host.App.Services.GetRequiredService<AudienceStore>();
        string path = $"/api/channels/{id}/broadcasts";

        using (var empty = await host.Client.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.OK, empty.StatusCode);
            Assert.Equal(0, JsonDocument.Parse(await empty.Content.ReadAsStringAsync()).RootElement.GetArrayLength());
        }

        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0, "a", 3, 3, 0, 0, 0),
            [new("v1", T0, T0, "hls"), new("v2", T0, T0, "hls"), new("v3", T0, T0, "hls")]);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0, "b", 2, 2, 0, 0, 0), [new("v4", T0, T0, "hls")]);
        await store.WriteAsync(new AudienceSampleRow("20261130T054000Z", id, T0 + 10, "a", 1, 1, 0, 0, 0), [new("v1", T0 + 10, T0 + 10, "hls")]);
        await store.WriteAsync(new AudienceSampleRow("20261201T180000Z", id, T0 + 86_400, "a", 1, 1, 0, 0, 0), [new("v9", T0 + 86_400, T0 + 86_400, "hls")]);
        await store.WriteAsync(new AudienceSampleRow("20261202T090000Z", other, T0 + 2 * 86_400, "a", 8, 8, 0, 0, 0), []);

        using var listed = await host.Client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal("application/json", listed.Content.Headers.ContentType?.MediaType);
        var list = JsonDocument.Parse(await listed.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["20261201T180000Z", "20261130T054000Z"], list.EnumerateArray().Select(b => b.GetProperty("broadcastId").GetString()));
        var first = list[1];
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(T0), first.GetProperty("firstBucket").GetDateTimeOffset());
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(T0 + 10), first.GetProperty("lastBucket").GetDateTimeOffset());
        // As the report's times: ISO 8601 in UTC.
        Assert.Equal("2026-11-30T00:53:20+00:00", first.GetProperty("firstBucket").GetString());
        Assert.Equal((5L, 4L), (first.GetProperty("peakViewers").GetInt64(), first.GetProperty("uniqueViewers").GetInt64()));
        Assert.Equal(5, first.EnumerateObject().Count());

        var one = JsonDocument.Parse(await host.Client.GetStringAsync(path + "?limit=1")).RootElement;
        Assert.Equal("20261201T180000Z", Assert.Single(one.EnumerateArray()).GetProperty("broadcastId").GetString());
        Assert.Equal(2, JsonDocument.Parse(await host.Client.GetStringAsync(path + "?limit=100")).RootElement.GetArrayLength());

        foreach (string bad in new[] { "0", "101", "-1", "abc", "1.5", "", "%201" })
        {
            using var refused = await host.Client.GetAsync(path + "?limit=" + bad);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.True(problem.GetProperty("errors").TryGetProperty("limit", out _), bad);
        }

        using var unknown = await host.Client.GetAsync("/api/channels/nope/broadcasts");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);

        // A key that reads channels may list them; one with another scope, or limited to another channel, may not.
        Assert.Equal(HttpStatusCode.OK, (await host.ClientWith(await host.CreateKeyAsync("channels:read")).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.ClientWith(await host.CreateKeyAsync("clips:read")).GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await host.ClientWith(await host.CreateKeyAsync("channels:read", other)).GetAsync(path)).StatusCode);
        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync(path)).StatusCode);

        using var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var route = doc.RootElement.GetProperty("paths").GetProperty("/api/channels/{id}/broadcasts").GetProperty("get");
        Assert.True(route.GetProperty("responses").TryGetProperty("400", out _));
        Assert.True(doc.RootElement.GetProperty("components").GetProperty("schemas").TryGetProperty("AudienceBroadcast", out _));
    }
}
