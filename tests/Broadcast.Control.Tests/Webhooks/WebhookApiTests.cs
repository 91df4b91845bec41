using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Persistence;
using Broadcast.Control.Webhooks;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using StandardWebhooks;

namespace Broadcast.Control.Tests.Webhooks;

/// <summary>
/// <c>/api/webhooks</c> on a real control host (its delivery worker running on the real clock) and a real receiver on
/// loopback, allowed by the operator as <c>receiver-api.test</c>: the secret shown once and kept encrypted, URLs the
/// outbound policy refuses answered 400, and a channel's creation and a broadcast's whole life arriving in order, each
/// verified with the Standard Webhooks library.
/// </summary>
public sealed class WebhookApiTests
{
    private const string Token = "test-admin-token-webhooks-0123456789ab";
    private const string ReceiverHost = "receiver-api.test";

    private static Task<ControlApiHost> HostAsync()
    {
        ControlApiHost.Resolver.Map(ReceiverHost, "127.0.0.1");
        return ControlApiHost.StartAsync(Token, new Dictionary<string, string?> { ["Outbound:AllowedHosts"] = ReceiverHost });
    }

    private static string ReceiverUrl(LoopbackHttpEndpoint receiver) => new UriBuilder(receiver.Url("hooks")) { Host = ReceiverHost }.Uri.ToString();

    [Fact]
    public async Task An_endpoint_is_made_with_its_secret_shown_once_kept_encrypted_and_rotated_and_bad_urls_are_refused()
    {
        await using var host = await HostAsync();

        var loopback = await host.Client.PostAsJsonAsync("/api/webhooks", new { url = "http://127.0.0.1:9/hooks" });
        Assert.Equal(HttpStatusCode.BadRequest, loopback.StatusCode);
        Assert.Equal("application/problem+json", loopback.Content.Headers.ContentType?.MediaType);
        Assert.Contains("outbound", (await loopback.Content.ReadAsStringAsync()), StringComparison.OrdinalIgnoreCase);
        var notHttp = await host.Client.PostAsJsonAsync("/api/webhooks", new { url = "ftp://hooks.example.com/x" });
        Assert.Equal(HttpStatusCode.BadRequest, notHttp.StatusCode);
        var unknownType = await host.Client.PostAsJsonAsync("/api/webhooks", new { url = "https://hooks.example.com/x", eventTypes = new[] { "stream.exploded" } });
        Assert.Equal(HttpStatusCode.BadRequest, unknownType.StatusCode);
        Assert.Contains("eventTypes", await unknownType.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var created = await host.Client.PostAsJsonAsync("/api/webhooks",
            new { url = "https://hooks.example.com/broadcast", description = "our backend", eventTypes = new[] { "broadcast.started", "broadcast.ended" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        string id = body.RootElement.GetProperty("id").GetString()!;
        string secret = body.RootElement.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        Assert.True(Convert.FromBase64String(secret[6..]).Length >= 24);

        string listed = await host.Client.GetStringAsync("/api/webhooks");
        Assert.Contains(id, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("whsec_", listed, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", listed, StringComparison.Ordinal);
        var database = host.App.Services.GetRequiredService<ControlDatabase>();
        var cells = await Sql.QueryAsync(database, "SELECT url, description, event_types, secret_ciphertext FROM webhook_endpoints", _ => { },
            r => System.Text.Encoding.UTF8.GetString(r.GetFieldValue<byte[]>(3)) + r.GetString(0) + r.GetString(1) + r.GetString(2), CancellationToken.None);
        Assert.DoesNotContain(secret[6..], Assert.Single(cells), StringComparison.Ordinal);

        var rotated = await host.Client.PostAsync($"/api/webhooks/{id}/rotate-secret", null);
        Assert.Equal(HttpStatusCode.OK, rotated.StatusCode);
        using var rotatedBody = JsonDocument.Parse(await rotated.Content.ReadAsStringAsync());
        Assert.NotEqual(secret, rotatedBody.RootElement.GetProperty("secret").GetString());

        var disabled = await host.Client.PatchAsJsonAsync($"/api/webhooks/{id}", new { enabled = false });
        Assert.Equal(HttpStatusCode.OK, disabled.StatusCode);
        using var disabledBody = JsonDocument.Parse(await disabled.Content.ReadAsStringAsync());
        Assert.False(disabledBody.RootElement.GetProperty("enabled").GetBoolean());
        Assert.Equal("our backend", disabledBody.RootElement.GetProperty("description").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.DeleteAsync($"/api/webhooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.DeleteAsync($"/api/webhooks/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await host.Client.PostAsync($"/api/webhooks/{id}/test", null)).StatusCode);
    }

    [Fact]
    public async Task OpenApi_describes_the_webhook_routes_and_their_bodies()
    {
        await using var host = await HostAsync();
        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        using var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var paths = doc.RootElement.GetProperty("paths");
        Assert.True(paths.GetProperty("/api/webhooks").GetProperty("post").GetProperty("responses").TryGetProperty("201", out _));
        Assert.True(paths.GetProperty("/api/webhooks/{endpointId}").TryGetProperty("patch", out _));
        Assert.True(paths.GetProperty("/api/webhooks/{endpointId}/rotate-secret").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/webhooks/{endpointId}/test").TryGetProperty("post", out _));
        Assert.True(paths.GetProperty("/api/webhooks/{endpointId}/deliveries").TryGetProperty("get", out _));
        Assert.True(paths.GetProperty("/api/webhooks/{endpointId}/deliveries/{deliveryId}/redeliver").TryGetProperty("post", out _));
        var schemas = doc.RootElement.GetProperty("components").GetProperty("schemas");
        Assert.True(schemas.TryGetProperty("WebhookEndpointRequest", out _));
        Assert.True(schemas.GetProperty("WebhookEndpointResponse").GetProperty("properties").TryGetProperty("secret", out _));
        Assert.True(schemas.GetProperty("WebhookDeliveryResponse").GetProperty("properties").TryGetProperty("attemptLog", out _));
    }

    [Fact]
    public async Task A_receiver_gets_channel_created_and_a_broadcast_with_a_reconnect_in_order_each_signature_verified()
    {
        await using var receiver = await LoopbackHttpEndpoint.StartAsync();
        await using var host = await HostAsync();
        var created = await host.Client.PostAsJsonAsync("/api/webhooks", new { url = ReceiverUrl(receiver), description = "platform" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var endpoint = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        string endpointId = endpoint.RootElement.GetProperty("id").GetString()!;
        var verifier = new StandardWebhook(endpoint.RootElement.GetProperty("secret").GetString()!);

        var channel = await host.Client.PostAsJsonAsync("/api/channels", new { name = "Studio" });
        Assert.Equal(HttpStatusCode.Created, channel.StatusCode);
        using var channelBody = JsonDocument.Parse(await channel.Content.ReadAsStringAsync());
        string slug = channelBody.RootElement.GetProperty("slug").GetString()!;
        string channelId = channelBody.RootElement.GetProperty("id").GetString()!;
        await WaitFor.ConditionAsync(() => receiver.Received.Count >= 1, TimeSpan.FromSeconds(30), "channel.created at the receiver");

        var broadcasts = host.App.Services.GetRequiredService<BroadcastWebhooks>();
        var startedAt = DateTimeOffset.UtcNow;
        broadcasts.Started(slug, startedAt, "rtmp");
        broadcasts.Reconnecting(slug, startedAt, startedAt.AddSeconds(30));
        broadcasts.Resumed(slug, startedAt);
        broadcasts.Ended(slug, startedAt);
        broadcasts.Started("no-such-channel", startedAt, null);
        await WaitFor.ConditionAsync(() => receiver.Received.Count >= 5, TimeSpan.FromSeconds(30), "the broadcast's four events at the receiver");

        var received = receiver.Received;
        Assert.Equal(5, received.Count);
        var types = new List<string>();
        foreach (var request in received)
        {
            Assert.Equal("POST", request.Method);
            Assert.Equal("/hooks", request.PathAndQuery);
            Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
            verifier.Verify(request.BodyText, WebhookSignatureTests.Headers(request.Headers["webhook-id"],
                long.Parse(request.Headers["webhook-timestamp"], System.Globalization.CultureInfo.InvariantCulture), request.Headers["webhook-signature"]));
            using var payload = JsonDocument.Parse(request.Body);
            Assert.Equal(request.Headers["webhook-id"], payload.RootElement.GetProperty("id").GetString());
            Assert.Equal(slug, payload.RootElement.GetProperty("data").GetProperty("channel").GetString());
            Assert.Equal(channelId, payload.RootElement.GetProperty("data").GetProperty("channelId").GetString());
            types.Add(payload.RootElement.GetProperty("type").GetString()!);
        }
        Assert.Equal(["channel.created", "broadcast.started", "broadcast.reconnecting", "broadcast.resumed", "broadcast.ended"], types);

        // The dashboard's buttons, through the API: a test event, and a delivery sent again under the same webhook-id.
        var test = await host.Client.PostAsync($"/api/webhooks/{endpointId}/test", null);
        Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);
        await WaitFor.ConditionAsync(() => receiver.Received.Count >= 6, TimeSpan.FromSeconds(30), "the test event");
        Assert.Contains("\"webhook.test\"", receiver.Received[5].BodyText, StringComparison.Ordinal);
        using var deliveries = JsonDocument.Parse(await host.Client.GetStringAsync($"/api/webhooks/{endpointId}/deliveries"));
        Assert.Equal(6, deliveries.RootElement.GetArrayLength());
        var started = deliveries.RootElement.EnumerateArray().Single(d => d.GetProperty("eventType").GetString() == "broadcast.started");
        Assert.Equal("delivered", started.GetProperty("state").GetString());
        Assert.Equal(204, Assert.Single(started.GetProperty("attemptLog").EnumerateArray()).GetProperty("status").GetInt32());
        var again = await host.Client.PostAsync($"/api/webhooks/{endpointId}/deliveries/{started.GetProperty("id").GetString()}/redeliver", null);
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        await WaitFor.ConditionAsync(() => receiver.Received.Count >= 7, TimeSpan.FromSeconds(30), "the redelivery");
        Assert.Equal(received[1].Headers["webhook-id"], receiver.Received[6].Headers["webhook-id"]);
    }
}
