using Broadcast.Control.Channels;
using Broadcast.Control.Programs;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Api;

/// <summary>
/// <c>/api/channels/{id}/program</c>: the channel's input becomes a composition of other channels and images. PUT (or
/// POST) sets the whole program, PATCH its layout, mix or transition and answers with the state that took effect; GET reads it; DELETE stops it.
/// </summary>
public static class ProgramEndpoints
{
    /// <summary>A program body may carry its images (each at most <see cref="ProgramPlanner.MaxImageBytes"/>, base64).</summary>
    private const long MaxBodyBytes = 2 * 1024 * 1024;

    public static IEndpointRouteBuilder MapProgramApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/program").RequireAuthorization(ControlAuth.AdminPolicy).WithTags("channels")
            .RequireScopes(ApiScopes.ChannelsRead, ApiScopes.ChannelsWrite, channelRouteValue: "id");
        group.MapGet("", GetAsync).Produces<ProgramResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("", SetAsync).Accepts<ProgramRequest>("application/json").Produces<ProgramResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("", SetAsync).Accepts<ProgramRequest>("application/json").Produces<ProgramResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPatch("", PatchAsync).Accepts<ProgramPatchRequest>("application/json").Produces<ProgramResponse>().ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("", StopAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/levels", LevelsAsync).Produces<ProgramLevelsResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/preview.jpg", PreviewAsync).Produces(StatusCodes.Status200OK, contentType: "image/jpeg")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string id, ChannelService channels, ProgramService programs, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        return await programs.GetAsync(channel, cancellationToken).ConfigureAwait(false) is { } program
            ? Results.Json(program, ControlJsonContext.Default.ProgramResponse)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No program",
                detail: $"Channel '{id}' takes its input from a publisher or a pull; PUT a program to compose one instead.");
    }

    /// <summary>
    /// The control room's level meters, polled several times a second: each input's own level (before its fader) and the
    /// program bus's, peaks of the last 300 ms in dBFS (null: silence). 404 while no program of the channel runs here.
    /// </summary>
    private static async Task<IResult> LevelsAsync(string id, HttpContext context, ChannelService channels, IProgramRunner runner,
        CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        if (runner.Levels(channel.Slug) is not { } levels)
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not running here",
                detail: $"No program of channel '{id}' runs on this node.");
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(levels, ControlJsonContext.Default.ProgramLevelsResponse);
    }

    /// <summary>
    /// The control room's input previews: the newest sheet of the program running on this node (one tile per input, top
    /// to bottom), renewed about once a second; <c>Preview-Inputs</c> names the tiles' inputs in order, <c>Preview-Tile</c>
    /// their size. Never cached: each request gets the newest. Sheets are drawn while they are asked for (the control room
    /// asks each second): 404 while no program of the channel runs here, or before the first sheet of a new ask.
    /// </summary>
    private static async Task<IResult> PreviewAsync(string id, HttpContext context, ChannelService channels, IProgramRunner runner,
        CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        if (runner.Preview(channel.Slug) is not { } preview)
            return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No preview",
                detail: $"No program of channel '{id}' runs on this node, or its first preview is not drawn yet (ask again in a second).");
        var headers = context.Response.Headers;
        headers.CacheControl = "no-store";
        headers["Preview-Inputs"] = string.Join(',', preview.Inputs);
        headers["Preview-Tile"] = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{preview.TileWidth}x{preview.TileHeight}");
        headers["Preview-Drawn"] = preview.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return Results.Bytes(preview.Jpeg, "image/jpeg");
    }

    private static async Task<IResult> SetAsync(string id, HttpContext context, ChannelService channels, ProgramService programs,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ProgramRequest, MaxBodyBytes, cancellationToken)
            .ConfigureAwait(false);
        if (error is not null) return error;
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        var program = await programs.SetAsync(channel, request!, Actor(context), cancellationToken).ConfigureAwait(false);
        return Results.Json(program, ControlJsonContext.Default.ProgramResponse);
    }

    private static async Task<IResult> PatchAsync(string id, HttpContext context, ChannelService channels, ProgramService programs,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ProgramPatchRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        return await programs.PatchAsync(channel, request!, Actor(context), cancellationToken).ConfigureAwait(false) is { } program
            ? Results.Json(program, ControlJsonContext.Default.ProgramResponse)
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No program",
                detail: $"Channel '{id}' has no program; PUT one first.");
    }

    private static async Task<IResult> StopAsync(string id, HttpContext context, ChannelService channels, ProgramService programs,
        CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } channel) return RequestBodies.NotFound("Channel", id);
        return await programs.StopAsync(channel, Actor(context), cancellationToken).ConfigureAwait(false)
            ? Results.NoContent()
            : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "No program", detail: $"Channel '{id}' has no program.");
    }

    /// <summary>Who made the change, for the audit log: the dashboard user's name, or "admin" for the API token.</summary>
    private static string Actor(HttpContext context) => context.User.Identity?.Name ?? "admin";
}
