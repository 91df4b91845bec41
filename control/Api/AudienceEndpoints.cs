using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// <c>GET /api/channels/{id}/broadcasts</c>: the channel's broadcasts with audience kept, newest first, to find an id by;
/// <c>GET /api/channels/{id}/broadcasts/{broadcastId}/audience</c>: the audience kept for one broadcast (control/API.md
/// "Audience"), as JSON or, with <c>?format=csv</c>, its series as CSV. Both require the "admin" policy (a key's channels:read).
/// </summary>
public static class AudienceEndpoints
{
    public static IEndpointRouteBuilder MapAudienceApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/broadcasts").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("audience")
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id");
        group.MapGet("", ListAsync).Produces<List<AudienceBroadcast>>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{broadcastId}/audience", GetAsync).Produces<AudienceReport>(StatusCodes.Status200OK, "application/json", "text/csv")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    /// <summary>The limit is read as text so that a malformed one is this route's 400 naming it, not the binder's.</summary>
    private static async Task<IResult> ListAsync(string id, string? limit, ChannelService channels, AudienceBroadcasts broadcasts,
        CancellationToken cancellationToken)
    {
        int count = AudienceBroadcasts.MaxLimit;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count)
            || count is < 1 or > AudienceBroadcasts.MaxLimit))
            return RequestBodies.Invalid("limit", $"limit must be a whole number from 1 to {AudienceBroadcasts.MaxLimit}.");
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        var list = await broadcasts.ListAsync(id, count, cancellationToken).ConfigureAwait(false);
        return Results.Json(new List<AudienceBroadcast>(list), ControlJsonContext.Default.ListAudienceBroadcast);
    }

    private static async Task<IResult> GetAsync(string id, string broadcastId, string? format, ChannelService channels, AudienceStore store,
        CancellationToken cancellationToken)
    {
        if (format is not (null or "json" or "csv")) return RequestBodies.Invalid("format", "format must be json or csv.");
        if (!BroadcastIds.IsValid(broadcastId))
            return RequestBodies.Invalid("broadcastId", "not a broadcast id.");
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        var report = await store.ReportAsync(id, broadcastId, cancellationToken).ConfigureAwait(false);
        if (report is null) return RequestBodies.NotFound("Audience of broadcast", broadcastId);
        return format == "csv"
            ? Results.Text(report.ToCsv(), "text/csv; charset=utf-8")
            : Results.Json(report, ControlJsonContext.Default.AudienceReport);
    }
}
