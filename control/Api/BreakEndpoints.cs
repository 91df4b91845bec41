using Broadcast.Control.Breaks;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>Body of <c>POST /api/channels/{id}/breaks</c>: the break's planned length in seconds (milliseconds kept).</summary>
public sealed record AdBreakRequest(decimal? Duration);

/// <summary>
/// An ad break: <c>id</c> is the SCTE-35 splice_event_id (the DATERANGE ID is <c>splice-{id}</c>, the DASH Event id is
/// <c>id</c>); <c>start</c> is the break's START-DATE once its first segment exists, else absent (<c>state</c> "waiting").
/// </summary>
public sealed record AdBreakResponse(uint Id, string State, decimal Duration, DateTimeOffset RequestedAt, DateTimeOffset? Start);

/// <summary><c>/api/channels/{id}/breaks</c>: ad breaks (SCTE-35 markers) in the live broadcast. Requires the "admin" policy.</summary>
public static class BreakEndpoints
{
    /// <summary>Bounds of a break: see <see cref="Broadcast.Media.Scte35.SpliceCue.MinDuration"/>.</summary>
    private static readonly decimal MinSeconds = Seconds(Broadcast.Media.Scte35.SpliceCue.MinDuration);

    private static readonly decimal MaxSeconds = Seconds(Broadcast.Media.Scte35.SpliceCue.MaxDuration);

    private static decimal Seconds(TimeSpan t) => (decimal)t.Ticks / TimeSpan.TicksPerSecond;

    public static IEndpointRouteBuilder MapBreaksApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapPost("/api/channels/{id}/breaks", InsertAsync).RequireAuthorization(ControlAuth.AdminPolicy).WithTags("breaks")
            .RequireScope(ApiScopes.BreaksWrite, channelRouteValue: "id")
            .Accepts<AdBreakRequest>("application/json").Produces<AdBreakResponse>(StatusCodes.Status201Created)
            .Produces<AdBreakResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        return endpoints;
    }

    /// <summary>
    /// 201 when the break began before the answer (its first segment boundary came: <c>start</c> is its START-DATE), 202
    /// when it is accepted and waits for that boundary; 409 when nothing is live on this node or another break waits or runs.
    /// </summary>
    private static async Task<IResult> InsertAsync(string id, HttpContext context, ChannelService channels, IAdBreakInserter breaks,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.AdBreakRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (request!.Duration is not { } seconds) return RequestBodies.Invalid("duration", "The duration (seconds) is required.");
        if (seconds < MinSeconds || seconds > MaxSeconds)
            return RequestBodies.Invalid("duration", $"The duration must be between {MinSeconds} and {MaxSeconds} seconds.");
        var channel = await channels.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (channel is null) return RequestBodies.NotFound("Channel", id);

        var duration = TimeSpan.FromMilliseconds((long)decimal.Round(seconds * 1000, MidpointRounding.AwayFromZero));
        var result = await breaks.InsertAsync(channel, duration, cancellationToken).ConfigureAwait(false);
        return result.State switch
        {
            AdBreakState.NotLive => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "Not live",
                detail: $"Channel '{channel.Slug}' has no live broadcast on this node."),
            AdBreakState.Busy => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "A break is under way",
                detail: "Another ad break is waiting for its segment boundary or running; breaks do not overlap. Ask again when it has ended."),
            _ => Results.Json(ToResponse(result), ControlJsonContext.Default.AdBreakResponse,
                statusCode: result.State == AdBreakState.Started ? StatusCodes.Status201Created : StatusCodes.Status202Accepted),
        };
    }

    private static AdBreakResponse ToResponse(AdBreakInsertion b) =>
        new(b.Id, b.State == AdBreakState.Started ? "started" : "waiting", Seconds(b.Duration), b.RequestedAt, b.Start);
}
