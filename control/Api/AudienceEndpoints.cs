using Broadcast.Control.Analytics;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// <c>GET /api/channels/{id}/broadcasts/{broadcastId}/audience</c>: the audience kept for one broadcast (control/API.md
/// "Audience"), as JSON or, with <c>?format=csv</c>, its series as CSV. Requires the "admin" policy (a key's channels:read).
/// </summary>
public static class AudienceEndpoints
{
    /// <summary>Broadcast ids are the packager's names (<c>StoreKeys.IsValidName</c>): short, of these characters only.</summary>
    private const int MaxBroadcastIdLength = 64;

    public static IEndpointRouteBuilder MapAudienceApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGroup("/api/channels/{id}/broadcasts").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("audience")
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id")
            .MapGet("/{broadcastId}/audience", GetAsync).Produces<AudienceReport>(StatusCodes.Status200OK, "application/json", "text/csv")
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string id, string broadcastId, string? format, ChannelService channels, AudienceStore store,
        CancellationToken cancellationToken)
    {
        if (format is not (null or "json" or "csv")) return RequestBodies.Invalid("format", "format must be json or csv.");
        if (broadcastId.Length > MaxBroadcastIdLength || !broadcastId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            return RequestBodies.Invalid("broadcastId", "not a broadcast id.");
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        var report = await store.ReportAsync(id, broadcastId, cancellationToken).ConfigureAwait(false);
        if (report is null) return RequestBodies.NotFound("Audience of broadcast", broadcastId);
        return format == "csv"
            ? Results.Text(report.ToCsv(), "text/csv; charset=utf-8")
            : Results.Json(report, ControlJsonContext.Default.AudienceReport);
    }
}
