using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// Every admin endpoint the real application maps, found through its EndpointDataSource, declares the scope an API key
/// needs for it or that it is the operator's alone, so a new route cannot forget; and a key with one scope on one
/// channel is refused on every route but its channel's clip writes.
/// </summary>
public sealed partial class ApiKeyScopeTests
{
    private static readonly string[] SteeringArguments =
        ["--Steering:Pathways:0:Id=a", $"--Steering:Pathways:0:BaseUrl=http://127.0.0.1:{Broadcast.TestSupport.FreePort.Tcp()}"];

    private static IEnumerable<(string Method, string Pattern, Endpoint Endpoint)> AdminRoutes(InProcessServer server)
    {
        foreach (var endpoint in server.Services.GetServices<EndpointDataSource>().SelectMany(s => s.Endpoints).OfType<RouteEndpoint>())
        {
            bool admin = endpoint.Metadata.GetOrderedMetadata<IAuthorizeData>()
                .Any(a => a.Policy is ControlAuth.AdminPolicy or ControlAuth.ChatModerationPolicy);
            if (!admin || endpoint.Metadata.GetMetadata<IAllowAnonymous>() is not null) continue;
            string pattern = "/" + endpoint.RoutePattern.RawText!.Trim('/');
            foreach (string method in endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? [HttpMethods.Get])
                yield return (method, pattern, endpoint);
        }
    }

    [Fact]
    public async Task Every_admin_endpoint_declares_a_scope_or_is_admin_only()
    {
        await using var server = await InProcessServer.StartAsync(SteeringArguments);
        var undeclared = new List<string>();
        var declared = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (method, pattern, endpoint) in AdminRoutes(server))
        {
            string route = $"{method} {pattern}";
            if (endpoint.Metadata.GetMetadata<AdminOnlyMetadata>() is not null) declared[route] = "admin only";
            else if (endpoint.Metadata.GetMetadata<ApiScopeMetadata>() is { } scope)
            {
                Assert.True(ApiScopes.IsKnown(scope.ScopeFor(method)), route);
                declared[route] = scope.ScopeFor(method);
            }
            else undeclared.Add(route);
        }

        Assert.True(undeclared.Count == 0, "Admin routes that declare no API key scope (RequireScopes) nor AdminOnly:\n" + string.Join('\n', undeclared));
        Assert.Equal(ApiScopes.ClipsWrite, declared["POST /api/channels/{id}/clips"]);
        Assert.Equal(ApiScopes.ChannelsRead, declared["GET /api/channels"]);
        Assert.Equal(ApiScopes.SteeringRead, declared["GET /api/steering"]);
        Assert.Equal("admin only", declared["POST /api/keys"]);
        Assert.Equal("admin only", declared["GET /api/users"]);
        Assert.Equal("admin only", declared["POST /api/rooms/{channel}/invites"]);
        Assert.Contains(declared, d => d.Key.StartsWith("GET /dashboard", StringComparison.Ordinal) && d.Value == "admin only");
    }

    [Fact]
    public async Task A_clips_write_key_on_one_channel_passes_only_its_channels_clip_writes()
    {
        await using var server = await InProcessServer.StartAsync(SteeringArguments);
        var channel = await server.CreateChannelAsync("scoped-key");
        string token;
        using (var create = server.Authorized(HttpMethod.Post, "/api/keys"))
        {
            create.Content = System.Net.Http.Json.JsonContent.Create(new
            {
                name = "clipper", scopes = new[] { ApiScopes.ClipsWrite }, channels = new[] { channel.Id },
                expiresAt = DateTimeOffset.UtcNow.AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
            });
            using var created = await server.Http.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            token = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        }

        var failures = new List<string>();
        int asked = 0;
        foreach (var (method, pattern, _) in AdminRoutes(server))
        {
            string route = $"{method} {pattern}";
            using var request = new HttpRequestMessage(new HttpMethod(method), Concrete(pattern, channel.Id));
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            if (method is "POST" or "PUT" or "PATCH") request.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
            using var response = await server.Http.SendAsync(request);
            asked++;
            // clips:write: making, renaming and deleting the channel's clips; reading them needs clips:read.
            bool allowed = pattern.StartsWith("/api/channels/{id}/clips", StringComparison.Ordinal) && method is not ("GET" or "HEAD");
            bool ok = allowed
                ? response.StatusCode is not (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                : response.StatusCode == HttpStatusCode.Forbidden;
            if (!ok) failures.Add($"{route} -> {(int)response.StatusCode}");
        }

        Assert.True(failures.Count == 0, "Answered otherwise than expected for a clips:write key on one channel:\n" + string.Join('\n', failures));
        Assert.True(asked > 50, $"only {asked} routes seen");

        // The same route on another channel is refused.
        var other = await server.CreateChannelAsync("scoped-key-other");
        using var elsewhere = new HttpRequestMessage(HttpMethod.Post, $"/api/channels/{other.Id}/clips");
        elsewhere.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        elsewhere.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var refused = await server.Http.SendAsync(elsewhere);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    [Fact]
    public async Task A_key_limited_to_one_channel_reads_lists_of_its_channel_only_and_writes_none_across_channels()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        var mine = await server.CreateChannelAsync("limited-mine");
        var theirs = await server.CreateChannelAsync("limited-theirs");
        string myEvent = await CreateEventAsync(server, mine.Id), theirEvent = await CreateEventAsync(server, theirs.Id);
        var recordings = server.Services.GetRequiredService<Broadcast.Control.Recordings.RecordingService>();
        var myRecording = await recordings.AddAsync(mine.Id, null, "20260101T000000Z", "/live/limited-mine/r/master.m3u8",
            "/live/limited-mine/r/manifest.mpd", 60_000, 1_000);
        var theirRecording = await recordings.AddAsync(theirs.Id, null, "20260101T000000Z", "/live/limited-theirs/r/master.m3u8",
            "/live/limited-theirs/r/manifest.mpd", 60_000, 1_000);
        string token = await CreateKeyAsync(server, [ApiScopes.ChannelsRead, ApiScopes.EventsRead, ApiScopes.EventsWrite, ApiScopes.RecordingsRead],
            [mine.Id]);

        async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpMethod method, string path, object? body = null)
        {
            using var request = new HttpRequestMessage(method, path);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            if (body is not null) request.Content = System.Net.Http.Json.JsonContent.Create(body);
            using var response = await server.Http.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }

        static string[] Ids(string json, string property = "id") =>
            [.. JsonDocument.Parse(json).RootElement.EnumerateArray().Select(e => e.GetProperty(property).GetString()!)];

        var channels = await SendAsync(HttpMethod.Get, "/api/channels");
        Assert.Equal(HttpStatusCode.OK, channels.Status);
        Assert.Equal([mine.Id], Ids(channels.Body));
        var events = await SendAsync(HttpMethod.Get, "/api/events");
        Assert.Equal(HttpStatusCode.OK, events.Status);
        Assert.Equal([myEvent], Ids(events.Body));
        Assert.Empty(Ids((await SendAsync(HttpMethod.Get, $"/api/events?channelId={theirs.Id}")).Body));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/api/events/{myEvent}")).Status);
        // Another channel's event and recording are answered as missing, not as forbidden: their existence is not told.
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"/api/events/{theirEvent}")).Status);
        Assert.Equal([myRecording.Id], Ids((await SendAsync(HttpMethod.Get, "/api/recordings")).Body));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, $"/api/recordings/{myRecording.Id}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(HttpMethod.Get, $"/api/recordings/{theirRecording.Id}")).Status);
        // Writes across channels stay refused to a limited key, events:write or not.
        var create = await SendAsync(HttpMethod.Post, "/api/events", new { channelId = mine.Id, title = "x" });
        Assert.Equal(HttpStatusCode.Forbidden, create.Status);
        Assert.Contains("not one channel's", create.Body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await SendAsync(HttpMethod.Delete, $"/api/events/{theirEvent}")).Status);
    }

    private static async Task<string> CreateEventAsync(InProcessServer server, string channelId)
    {
        var startsAt = DateTimeOffset.UtcNow.AddHours(3);
        using var create = server.Authorized(HttpMethod.Post, "/api/events");
        create.Content = System.Net.Http.Json.JsonContent.Create(new
        {
            channelId, title = "Event of " + channelId, startsAt = Iso(startsAt), endsAt = Iso(startsAt.AddHours(1)),
        });
        using var created = await server.Http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
    }

    private static async Task<string> CreateKeyAsync(InProcessServer server, string[] scopes, string[] channels)
    {
        using var create = server.Authorized(HttpMethod.Post, "/api/keys");
        create.Content = System.Net.Http.Json.JsonContent.Create(new { name = "limited", scopes, channels, expiresAt = Iso(DateTimeOffset.UtcNow.AddDays(1)) });
        using var created = await server.Http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
    }

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A request path for a route pattern: a channel id for <c>{id}</c>, a harmless value for every other parameter.</summary>
    private static string Concrete(string pattern, string channelId) => RouteParameter().Replace(pattern, m =>
        m.Value == "{id}" ? channelId : m.Value.Contains("**", StringComparison.Ordinal) ? "x/y" : "x");

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();
}
