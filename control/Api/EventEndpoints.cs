using Broadcast.Control.Events;
using Broadcast.Control.Recordings;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// <c>/api/events</c> and <c>/api/recordings</c>. Every route requires the "admin" policy.
/// </summary>
public static class EventEndpoints
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var events = endpoints.MapGroup("/api/events").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("events")
            .RequireScopes(ApiScopes.EventsRead, ApiScopes.EventsWrite);
        events.MapPost("", CreateAsync).Accepts<EventRequest>("application/json").Produces<EventResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem();
        events.MapGet("", ListAsync).Produces<List<EventResponse>>().ProducesValidationProblem().FilteredToKeyChannels();
        events.MapGet("/{id}", GetAsync).Produces<EventResponse>().ProducesProblem(StatusCodes.Status404NotFound).FilteredToKeyChannels();
        events.MapPut("/{id}", (string id, HttpContext c, EventService s, CancellationToken ct) => UpdateAsync(id, c, s, replace: true, ct))
            .Accepts<EventRequest>("application/json").Produces<EventResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        events.MapPatch("/{id}", (string id, HttpContext c, EventService s, CancellationToken ct) => UpdateAsync(id, c, s, replace: false, ct))
            .Accepts<EventRequest>("application/json").Produces<EventResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status409Conflict);
        events.MapPost("/{id}/cancel", CancelAsync).Produces<EventResponse>().ProducesProblem(StatusCodes.Status409Conflict);
        events.MapPost("/{id}/end", EndAsync).Produces<EventResponse>().ProducesProblem(StatusCodes.Status409Conflict);
        events.MapDelete("/{id}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status409Conflict);

        var recordings = endpoints.MapGroup("/api/recordings").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("recordings")
            .RequireScopes(ApiScopes.RecordingsRead, ApiScopes.RecordingsWrite);
        recordings.MapGet("", ListRecordingsAsync).Produces<List<RecordingResponse>>().FilteredToKeyChannels();
        recordings.MapGet("/{id}", GetRecordingAsync).Produces<RecordingResponse>().ProducesProblem(StatusCodes.Status404NotFound)
            .FilteredToKeyChannels();
        recordings.MapDelete("/{id}", DeleteRecordingAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(HttpContext context, EventService events, CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.EventRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (!TryToSpec(request!, out var spec, out var errors)) return RequestBodies.Invalid(errors);
        if (await PullSourceEndpoints.ValidateEventSourceAsync(context, request!,
            cancellationToken).ConfigureAwait(false) is { } invalidSource) return invalidSource;
        var ev = await events.CreateAsync(spec, cancellationToken).ConfigureAwait(false);
        context.Response.Headers.Location = $"/api/events/{ev.Id}";
        var response = await PullSourceEndpoints.ApplyEventSourceAsync(context, ev, request!, replace: false, ev.ToResponse(events.PublishLead),
            cancellationToken)
            .ConfigureAwait(false);
        return Results.Json(response, ControlJsonContext.Default.EventResponse, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(string? channelId, string? from, string? to, HttpContext context, EventService events,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        DateTimeOffset? f = null, t = null;
        if (from is not null)
        {
            if (RequestBodies.TryParseUtc(from, out var v, out var message)) f = v;
            else errors["from"] = [$"The from {message}"];
        }

        if (to is not null)
        {
            if (RequestBodies.TryParseUtc(to, out var v, out var message)) t = v;
            else errors["to"] = [$"The to {message}"];
        }

        if (f is not null && t is not null && t <= f) errors["to"] = ["The to must be after from."];
        if (errors.Count > 0) return RequestBodies.Invalid(errors);
        var list = await events.ListAsync(string.IsNullOrEmpty(channelId) ? null : channelId, f, t, cancellationToken).ConfigureAwait(false);
        var responses = await PullSourceEndpoints.WithEventSourcesAsync(context, list.Where(e => ApiKeyClaims.MaySee(context.User, e.ChannelId))
                .Select(e => e.ToResponse(events.PublishLead)).ToList(),
            cancellationToken)
            .ConfigureAwait(false);
        return Results.Json(responses, ControlJsonContext.Default.ListEventResponse);
    }

    private static async Task<IResult> GetAsync(string id, HttpContext context, EventService events, CancellationToken cancellationToken)
        // Another channel's event is answered as one that does not exist, to a key limited to channels.
        => await events.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } ev && ApiKeyClaims.MaySee(context.User, ev.ChannelId)
            ? Results.Json(await PullSourceEndpoints.WithEventSourceAsync(context, ev.ToResponse(events.PublishLead),
                cancellationToken).ConfigureAwait(false),
                ControlJsonContext.Default.EventResponse)
            : RequestBodies.NotFound("Event", id);

    private static async Task<IResult> UpdateAsync(string id, HttpContext context, EventService events, bool replace,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.EventRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (!TryToSpec(request!, out var spec, out var errors)) return RequestBodies.Invalid(errors);
        if (replace)
        {
            // PUT replaces: every field the event has must be sent (description and record may be omitted: "" and false).
            var missing = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (request!.Title is null) missing["title"] = ["The title is required."];
            if (request.StartsAt is null) missing["startsAt"] = ["The startsAt is required."];
            if (request.EndsAt is null) missing["endsAt"] = ["The endsAt is required."];
            if (missing.Count > 0) return RequestBodies.Invalid(missing);
            spec = spec with { Description = spec.Description ?? "", Record = spec.Record ?? false };
        }

        if (await PullSourceEndpoints.ValidateEventSourceAsync(context, request!,
            cancellationToken).ConfigureAwait(false) is { } invalidSource) return invalidSource;
        var ev = await events.UpdateAsync(id, spec, cancellationToken).ConfigureAwait(false);
        return ev is null
            ? RequestBodies.NotFound("Event", id)
            : Results.Json(await PullSourceEndpoints.ApplyEventSourceAsync(context, ev, request!, replace, ev.ToResponse(events.PublishLead),
                cancellationToken)
                .ConfigureAwait(false), ControlJsonContext.Default.EventResponse);
    }

    private static async Task<IResult> CancelAsync(string id, EventService events, CancellationToken cancellationToken)
    {
        var ev = await events.CancelAsync(id, cancellationToken).ConfigureAwait(false);
        return ev is null ? RequestBodies.NotFound("Event", id)
            : Results.Json(ev.ToResponse(events.PublishLead), ControlJsonContext.Default.EventResponse);
    }

    private static async Task<IResult> EndAsync(string id, EventService events, CancellationToken cancellationToken)
    {
        var ev = await events.EndAsync(id, "ended by an admin", cancellationToken).ConfigureAwait(false);
        return ev is null ? RequestBodies.NotFound("Event", id)
            : Results.Json(ev.ToResponse(events.PublishLead), ControlJsonContext.Default.EventResponse);
    }

    private static async Task<IResult> DeleteAsync(string id, EventService events, CancellationToken cancellationToken)
    {
        return await events.DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : RequestBodies.NotFound("Event", id);
    }

    private static async Task<IResult> ListRecordingsAsync(string? channelId, string? eventId, HttpRequest request, RecordingService recordings,
        PublicUrls urls, CancellationToken cancellationToken)
    {
        var list = await recordings.ListAsync(string.IsNullOrEmpty(channelId) ? null : channelId, string.IsNullOrEmpty(eventId) ? null : eventId,
            cancellationToken).ConfigureAwait(false);
        var http = urls.HttpBase(request);
        return Results.Json(list.Where(r => ApiKeyClaims.MaySee(request.HttpContext.User, r.ChannelId)).Select(r => r.ToResponse(http)).ToList(),
            ControlJsonContext.Default.ListRecordingResponse);
    }

    private static async Task<IResult> GetRecordingAsync(string id, HttpRequest request, RecordingService recordings, PublicUrls urls,
        CancellationToken cancellationToken)
        => await recordings.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } r && ApiKeyClaims.MaySee(request.HttpContext.User, r.ChannelId)
            ? Results.Json(r.ToResponse(urls.HttpBase(request)), ControlJsonContext.Default.RecordingResponse)
            : RequestBodies.NotFound("Recording", id);

    private static async Task<IResult> DeleteRecordingAsync(string id, RecordingService recordings, CancellationToken cancellationToken)
        => await recordings.DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? Results.NoContent() : RequestBodies.NotFound("Recording", id);

    private static bool TryToSpec(EventRequest request, out EventSpec spec, out Dictionary<string, string[]> errors)
    {
        errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        DateTimeOffset? startsAt = null, endsAt = null;
        if (request.StartsAt is not null)
        {
            if (RequestBodies.TryParseUtc(request.StartsAt, out var s, out var message)) startsAt = s;
            else errors["startsAt"] = [$"The startsAt {message}"];
        }

        if (request.EndsAt is not null)
        {
            if (RequestBodies.TryParseUtc(request.EndsAt, out var e, out var message)) endsAt = e;
            else errors["endsAt"] = [$"The endsAt {message}"];
        }

        spec = new EventSpec(request.ChannelId, request.Title, request.Description, startsAt, endsAt, request.Record);
        return errors.Count == 0;
    }
}
