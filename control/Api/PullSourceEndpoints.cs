using Broadcast.Control.Channels;
using Broadcast.Control.Events;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Control.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Api;

/// <summary>Body of <c>PUT /api/channels/{id}/source</c> and the <c>pullSource</c> field of an event request.</summary>
/// <param name="AllowUntrustedCertificate">rtmps:// and https:// only: accept a certificate that does not validate
/// (test servers). Default false.</param>
public sealed record PullSourceRequest(string? Url, bool? Loop, bool? AllowUntrustedCertificate = null);

/// <summary>A pull source and, when its pull runs (or last ran) on the channel, its state.</summary>
public sealed record PullSourceResponse(string Url, bool Loop, DateTimeOffset UpdatedAt, PullSourceStateResponse? Status,
    bool AllowUntrustedCertificate = false);

/// <summary>state: starting | live | retrying | stopped | failed; reason: the last error, why it failed or stopped.</summary>
public sealed record PullSourceStateResponse(string State, string? Reason, int Attempts, DateTimeOffset Since, DateTimeOffset? NextAttemptAt,
    string Source,
    string? Detail);

/// <summary><c>/api/channels/{id}/source</c>: a channel takes its input from a URL instead of a publisher (PUT), or goes back to push
/// (DELETE).</summary>
public static class PullSourceEndpoints
{
    public static IEndpointRouteBuilder MapPullSourceApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/source").RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id")
            .WithTags("channels");
        group.MapGet("", GetAsync).Produces<PullSourceResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("", PutAsync).Accepts<PullSourceRequest>("application/json").Produces<PullSourceResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string id, ChannelService channels, PullSourceService sources, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        return await sources.GetForChannelAsync(id, cancellationToken).ConfigureAwait(false) is { } source
            ? Results.Json(ToResponse(source, sources.StatusOf(channel, null, source)), ControlJsonContext.Default.PullSourceResponse)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No pull source",
                detail: $"Channel '{id}' takes its input from a publisher; PUT a source to pull one instead.");
    }

    private static async Task<IResult> PutAsync(string id, HttpContext context, ChannelService channels, PullSourceService sources,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.PullSourceRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        var source = await sources.SetForChannelAsync(id, request!.Url, request.Loop ?? false, request.AllowUntrustedCertificate ?? false,
            cancellationToken)
            .ConfigureAwait(false);
        return source is null
            ? RequestBodies.NotFound("Channel", id)
            : Results.Json(ToResponse(source, sources.StatusOf(channel, null, source)), ControlJsonContext.Default.PullSourceResponse);
    }

    private static async Task<IResult> DeleteAsync(string id, ChannelService channels, PullSourceService sources, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        await sources.DeleteForChannelAsync(id, cancellationToken).ConfigureAwait(false);
        return Results.NoContent();
    }

    internal static PullSourceResponse ToResponse(PullSource source, PullSourceStatus? status) => new(source.Url, source.Loop, source.UpdatedAt,
        status is null ? null : new PullSourceStateResponse(status.State, status.Reason, status.Attempts, status.Since, status.NextAttemptAt,
            status.Source, status.Detail),
        source.AllowUntrustedCertificate);

    /// <summary>Validates an event request's <c>pullSource</c> (400 naming <c>pullSource.url</c>) before anything is stored.</summary>
    internal static async Task<IResult?> ValidateEventSourceAsync(HttpContext context, EventRequest request, CancellationToken cancellationToken)
    {
        if (request.PullSource is not { Url: { Length: > 0 } url }) return null;
        await context.RequestServices.GetRequiredService<PullSourceService>()
            .ValidateAsync(url, "pullSource.url", cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// Stores an event request's <c>pullSource</c>: a url sets it, an empty url removes it, an omitted field keeps it (PATCH) or
    /// removes it (PUT, which replaces). Returns the response with the event's source.
    /// </summary>
    internal static async Task<EventResponse> ApplyEventSourceAsync(HttpContext context, BroadcastEvent ev, EventRequest request, bool replace,
        EventResponse response, CancellationToken cancellationToken)
    {
        var sources = context.RequestServices.GetRequiredService<PullSourceService>();
        if (request.PullSource is { } wanted)
            await sources.SetForEventAsync(ev, wanted.Url, wanted.Loop ?? false, wanted.AllowUntrustedCertificate ?? false,
                cancellationToken).ConfigureAwait(false);
        else if (replace && await sources.GetForEventAsync(ev.Id, cancellationToken).ConfigureAwait(false) is not null)
            await sources.SetForEventAsync(ev, null, false, false, cancellationToken).ConfigureAwait(false);
        return await WithEventSourceAsync(context, response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The event response with its <c>pullSource</c> (and that pull's state while it runs).</summary>
    internal static async Task<EventResponse> WithEventSourceAsync(HttpContext context, EventResponse response, CancellationToken cancellationToken)
    {
        var sources = context.RequestServices.GetRequiredService<PullSourceService>();
        if (await sources.GetForEventAsync(response.Id, cancellationToken).ConfigureAwait(false) is not { } source) return response;
        var channel = await context.RequestServices.GetRequiredService<ChannelService>()
            .GetAsync(response.ChannelId, cancellationToken).ConfigureAwait(false);
        return response with { PullSource = ToResponse(source, channel is null ? null : sources.StatusOf(channel, response.Id, source)) };
    }

    /// <summary>Event list entries with their <c>pullSource</c> (url and loop; the state is on <c>GET /api/events/{id}</c>).</summary>
    internal static async Task<List<EventResponse>> WithEventSourcesAsync(HttpContext context, List<EventResponse> responses,
        CancellationToken cancellationToken)
    {
        var sources = await context.RequestServices.GetRequiredService<PullSourceService>()
            .ListForEventsAsync(cancellationToken).ConfigureAwait(false);
        return sources.Count == 0 ? responses : responses
            .Select(r => sources.TryGetValue(r.Id, out var s) ? r with { PullSource = ToResponse(s, null) } : r).ToList();
    }
}
