using Broadcast.Control.Restream;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Network.Outbound;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>Body of <c>POST /api/channels/{id}/destinations</c> and <c>PATCH …/destinations/{destinationId}</c>.</summary>
public sealed record DestinationRequest(string? Url, string? StreamKey, bool? Enabled, bool? AllowUntrustedCertificate, bool? Multitrack);

/// <summary>A destination as the API shows it: the stream key masked, the pipeline's state alongside.</summary>
public sealed record DestinationResponse(
    string Id,
    string ChannelId,
    string Url,
    string StreamKey,
    bool Enabled,
    bool AllowUntrustedCertificate,
    bool Multitrack,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DestinationStateResponse State);

/// <summary>
/// A destination's restream state on the wire: <c>idle</c> (channel not live), <c>connecting</c>, <c>live</c>,
/// <c>retrying</c> (with the last error and the next attempt) or <c>stopped</c> (disabled). A multitrack destination also
/// counts the encoder's tracks it is sent beside the default ones.
/// </summary>
public sealed record DestinationStateResponse(
    string State,
    long BytesSent,
    DateTimeOffset? ConnectedSince,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? NextAttemptAt,
    int Attempts,
    long FramesDropped,
    int VideoTracks,
    int AudioTracks)
{
    public static DestinationStateResponse From(RestreamState s) => new(Name(s.Phase), s.BytesSent, s.ConnectedSince, s.LastError, s.LastErrorAt,
        s.NextAttemptAt, s.Attempts, s.FramesDropped, s.VideoTracks, s.AudioTracks);

    private static string Name(RestreamPhase phase) => phase switch
    {
        RestreamPhase.Idle => "idle",
        RestreamPhase.Connecting => "connecting",
        RestreamPhase.Live => "live",
        RestreamPhase.Retrying => "retrying",
        _ => "stopped",
    };
}

/// <summary><c>/api/channels/{id}/destinations</c>: restream destinations. Every route requires the "admin" policy.</summary>
public static class DestinationEndpoints
{
    public static IEndpointRouteBuilder MapDestinationsApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/destinations").RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id")
            .WithTags("destinations");
        group.MapPost("", CreateAsync).Accepts<DestinationRequest>("application/json").Produces<DestinationResponse>(StatusCodes.Status201Created)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("", ListAsync).Produces<List<DestinationResponse>>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{destinationId}", GetAsync).Produces<DestinationResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPatch("/{destinationId}", UpdateAsync).Accepts<DestinationRequest>("application/json").Produces<DestinationResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{destinationId}", DeleteAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> CreateAsync(string id, HttpContext context, DestinationService destinations,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.DestinationRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        var created = await destinations.CreateAsync(id, ToSpec(request!), cancellationToken).ConfigureAwait(false);
        if (created is null) return RequestBodies.NotFound("Channel", id);
        context.Response.Headers.Location = $"/api/channels/{id}/destinations/{created.Id}";
        return Results.Json(ToResponse(created, destinations), ControlJsonContext.Default.DestinationResponse,
            statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> ListAsync(string id, DestinationService destinations, CancellationToken cancellationToken)
    {
        var list = await destinations.ListAsync(id, cancellationToken).ConfigureAwait(false);
        return list is null
            ? RequestBodies.NotFound("Channel", id)
            : Results.Json(list.Select(d => ToResponse(d, destinations)).ToList(), ControlJsonContext.Default.ListDestinationResponse);
    }

    private static async Task<IResult> GetAsync(string id, string destinationId, DestinationService destinations, CancellationToken cancellationToken)
    {
        var destination = await destinations.GetAsync(id, destinationId, cancellationToken).ConfigureAwait(false);
        return destination is null
            ? RequestBodies.NotFound("Destination", destinationId)
            : Results.Json(ToResponse(destination, destinations), ControlJsonContext.Default.DestinationResponse);
    }

    private static async Task<IResult> UpdateAsync(string id, string destinationId, HttpContext context, DestinationService destinations,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.DestinationRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        var updated = await destinations.UpdateAsync(id, destinationId, ToSpec(request!), cancellationToken).ConfigureAwait(false);
        return updated is null
            ? RequestBodies.NotFound("Destination", destinationId)
            : Results.Json(ToResponse(updated, destinations), ControlJsonContext.Default.DestinationResponse);
    }

    private static async Task<IResult> DeleteAsync(string id, string destinationId, DestinationService destinations,
        CancellationToken cancellationToken) =>
        await destinations.DeleteAsync(id, destinationId, cancellationToken).ConfigureAwait(false)
            ? Results.NoContent()
            : RequestBodies.NotFound("Destination", destinationId);

    private static DestinationSpec ToSpec(DestinationRequest r) => new(r.Url, r.StreamKey, r.Enabled, r.AllowUntrustedCertificate, r.Multitrack);

    private static DestinationResponse ToResponse(Destination d, DestinationService destinations) =>
        new(d.Id, d.ChannelId, d.Url, d.StreamKeyHint, d.Enabled, d.AllowUntrustedCertificate, d.Multitrack, d.CreatedAt, d.UpdatedAt,
            DestinationStateResponse.From(destinations.StateOf(d)));
}
