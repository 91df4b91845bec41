using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Control.Webhooks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// Body of <c>POST /api/webhooks</c> and <c>PATCH /api/webhooks/{id}</c>: the URL, a description, the event types (absent
/// or empty: every type) and whether it is enabled. On a PATCH, an absent field keeps its value.
/// </summary>
public sealed record WebhookEndpointRequest(string? Url, string? Description, List<string>? EventTypes, bool? Enabled);

/// <summary>An endpoint as the API shows it; <see cref="Secret"/> only in the answer that made or rotated it.</summary>
public sealed record WebhookEndpointResponse(
    string Id,
    string Url,
    string Description,
    List<string> EventTypes,
    bool Enabled,
    string? DisabledReason,
    DateTimeOffset? FailingSince,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    string? Secret = null);

/// <summary>One attempt of a delivery: the receiver's status (absent when none came) or the error, the time it took, the answer's first KiB.</summary>
public sealed record WebhookAttemptResponse(DateTimeOffset At, int? Status, string? Error, int LatencyMs, string? AnswerHead);

/// <summary>A delivery of one event to one endpoint: pending, delivered or failed, with its attempts.</summary>
public sealed record WebhookDeliveryResponse(
    string Id,
    string EventId,
    string EventType,
    string? ChannelId,
    string State,
    int Attempts,
    DateTimeOffset? NextAttemptAt,
    int? LastStatus,
    string? LastError,
    DateTimeOffset CreatedAt,
    DateTimeOffset? FinishedAt,
    List<WebhookAttemptResponse> AttemptLog);

/// <summary>The answer of "send test event" and "redeliver": the event that will be sent.</summary>
public sealed record WebhookQueuedResponse(string EventId, string? DeliveryId);

/// <summary>
/// <c>/api/webhooks</c>: the platform's webhook endpoints, their deliveries, redelivery and test events. GETs need
/// <c>webhooks:read</c>, everything else <c>webhooks:write</c>.
/// </summary>
public static class WebhookEndpointsApi
{
    /// <summary>Deliveries one listing shows (newest first).</summary>
    public const int MaxListedDeliveries = 100;

    public static IEndpointRouteBuilder MapWebhooksApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/webhooks").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("webhooks")
            .RequireScopes(ApiScopes.WebhooksRead, ApiScopes.WebhooksWrite);
        group.MapPost("", CreateAsync).Accepts<WebhookEndpointRequest>("application/json").Produces<WebhookEndpointResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Registers a webhook endpoint; the answer's signing secret (whsec_…) is shown this once.");
        group.MapGet("", ListAsync).Produces<List<WebhookEndpointResponse>>().WithSummary("Lists the webhook endpoints (never their secrets).");
        group.MapGet("/{endpointId}", GetAsync).Produces<WebhookEndpointResponse>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("One webhook endpoint.");
        group.MapPatch("/{endpointId}", UpdateAsync).Accepts<WebhookEndpointRequest>("application/json").Produces<WebhookEndpointResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Changes an endpoint's URL, description, event types or enabled state; enabling it again resumes its pending deliveries.");
        group.MapDelete("/{endpointId}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Deletes an endpoint with its deliveries.");
        group.MapPost("/{endpointId}/rotate-secret", RotateAsync).Produces<WebhookEndpointResponse>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Replaces the signing secret; the new one is in the answer, shown this once.");
        group.MapPost("/{endpointId}/test", TestAsync).Produces<WebhookQueuedResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound).WithSummary("Queues a webhook.test event for this endpoint alone.");
        group.MapGet("/{endpointId}/deliveries", DeliveriesAsync).Produces<List<WebhookDeliveryResponse>>().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary($"The endpoint's latest deliveries (at most {MaxListedDeliveries}, newest first), each with its attempts.");
        group.MapPost("/{endpointId}/deliveries/{deliveryId}/redeliver", RedeliverAsync).Produces<WebhookQueuedResponse>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Sends a delivered or failed delivery again (same webhook-id), from a fresh retry schedule.");
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, WebhookEndpointService service, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.WebhookEndpointRequest, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        var issued = await service.CreateAsync(Spec(request!), cancellationToken).ConfigureAwait(false);
        context.Response.Headers.Location = $"/api/webhooks/{issued.Endpoint.Id}";
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(Response(issued.Endpoint) with { Secret = issued.Secret }, ControlJsonContext.Default.WebhookEndpointResponse,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(WebhookEndpointService service, CancellationToken cancellationToken)
        => Results.Json((await service.ListAsync(cancellationToken).ConfigureAwait(false)).Select(Response).ToList(),
            ControlJsonContext.Default.ListWebhookEndpointResponse);

    private static async Task<IResult> GetAsync(string endpointId, WebhookEndpointService service, CancellationToken cancellationToken)
        => await service.GetAsync(endpointId, cancellationToken).ConfigureAwait(false) is { } endpoint
            ? Results.Json(Response(endpoint), ControlJsonContext.Default.WebhookEndpointResponse)
            : RequestBodies.NotFound("Webhook endpoint", endpointId);

    private static async Task<IResult> UpdateAsync(string endpointId, HttpContext context, WebhookEndpointService service, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.WebhookEndpointRequest, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        return await service.UpdateAsync(endpointId, Spec(request!), cancellationToken).ConfigureAwait(false) is { } endpoint
            ? Results.Json(Response(endpoint), ControlJsonContext.Default.WebhookEndpointResponse)
            : RequestBodies.NotFound("Webhook endpoint", endpointId);
    }

    private static async Task<IResult> DeleteAsync(string endpointId, WebhookEndpointService service, CancellationToken cancellationToken)
        => await service.DeleteAsync(endpointId, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : RequestBodies.NotFound("Webhook endpoint", endpointId);

    private static async Task<IResult> RotateAsync(string endpointId, HttpContext context, WebhookEndpointService service, CancellationToken cancellationToken)
    {
        if (await service.RotateSecretAsync(endpointId, cancellationToken).ConfigureAwait(false) is not { } issued)
            return RequestBodies.NotFound("Webhook endpoint", endpointId);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(Response(issued.Endpoint) with { Secret = issued.Secret }, ControlJsonContext.Default.WebhookEndpointResponse);
    }

    private static async Task<IResult> TestAsync(string endpointId, WebhookOutbox outbox, CancellationToken cancellationToken)
        => await outbox.AppendTestAsync(endpointId, cancellationToken).ConfigureAwait(false) is { } eventId
            ? Results.Json(new WebhookQueuedResponse(eventId, null), ControlJsonContext.Default.WebhookQueuedResponse, statusCode: StatusCodes.Status202Accepted)
            : RequestBodies.NotFound("Webhook endpoint", endpointId);

    private static async Task<IResult> DeliveriesAsync(string endpointId, WebhookEndpointService service, SqlWebhookDeliveries deliveries,
        CancellationToken cancellationToken)
    {
        if (await service.GetAsync(endpointId, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Webhook endpoint", endpointId);
        var list = await deliveries.ListAsync(endpointId, MaxListedDeliveries, cancellationToken).ConfigureAwait(false);
        var answer = new List<WebhookDeliveryResponse>(list.Count);
        foreach (var d in list)
        {
            var attempts = await deliveries.AttemptsAsync(d.Id, cancellationToken).ConfigureAwait(false);
            answer.Add(new WebhookDeliveryResponse(d.Id, d.EventId, d.EventType, d.ChannelId, d.State, d.Attempts,
                d.State == SqlWebhookDeliveries.Pending ? d.NextAttemptAt : null, d.LastStatus, d.LastError, d.CreatedAt, d.FinishedAt,
                [.. attempts.Select(a => new WebhookAttemptResponse(a.At, a.Status, a.Error, a.LatencyMs, a.AnswerHead))]));
        }

        return Results.Json(answer, ControlJsonContext.Default.ListWebhookDeliveryResponse);
    }

    private static async Task<IResult> RedeliverAsync(string endpointId, string deliveryId, SqlWebhookDeliveries deliveries, WebhookOutbox outbox,
        TimeProvider time, CancellationToken cancellationToken)
    {
        if (await deliveries.FindAsync(deliveryId, cancellationToken).ConfigureAwait(false) is not { } found || found.EndpointId != endpointId)
            return RequestBodies.NotFound("Delivery", deliveryId);
        if (!await deliveries.RedeliverAsync(deliveryId, time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            return RequestBodies.Conflict("The delivery is pending already: it is sent on its schedule.");
        outbox.Notify();
        var listed = await deliveries.ListAsync(endpointId, MaxListedDeliveries, cancellationToken).ConfigureAwait(false);
        string eventId = listed.FirstOrDefault(d => d.Id == deliveryId)?.EventId ?? "";
        return Results.Json(new WebhookQueuedResponse(eventId, deliveryId), ControlJsonContext.Default.WebhookQueuedResponse,
            statusCode: StatusCodes.Status202Accepted);
    }

    private static WebhookEndpointSpec Spec(WebhookEndpointRequest request) => new(request.Url, request.Description, request.EventTypes, request.Enabled);

    internal static WebhookEndpointResponse Response(WebhookEndpoint e)
        => new(e.Id, e.Url, e.Description, [.. e.EventTypes], e.Enabled, e.DisabledReason, e.FailingSince, e.CreatedAt, e.UpdatedAt);
}
