using Broadcast.Control.Api;
using Broadcast.Control.Channels;
using Broadcast.Control.Security;
using Broadcast.Control.Security.ApiKeys;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Broadcast.Control.Chat;

/// <summary>Body of <c>PUT /api/channels/{id}/chat</c>: a missing field keeps its value.</summary>
public sealed record ChatSettingsRequest(string? Mode, int? SlowModeSeconds, string? Links, List<string?>? BlockedWords);

/// <summary>A channel's chat settings as the API shows them.</summary>
public sealed record ChatSettingsResponse(string ChannelId, string Mode, int SlowModeSeconds, string Links, IReadOnlyList<string> BlockedWords);

/// <summary><c>/api/channels/{id}/chat</c>: a channel's chat settings and bans. Every route requires the "admin" policy.</summary>
public static class ChatEndpoints
{
    public static IEndpointRouteBuilder MapChatApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var group = endpoints.MapGroup("/api/channels/{id}/chat").WithRefusalBoundary().RequireAuthorization(ControlAuth.AdminPolicy)
            .RequireScope(ApiScopes.ChatModerate, channelRouteValue: "id")
            .WithTags("chat"); // cookie callers: the pipeline's antiforgery check (CookieAntiforgeryMiddleware)
        group.MapGet("", GetAsync).Produces<ChatSettingsResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("", PutAsync).Accepts<ChatSettingsRequest>("application/json").Produces<ChatSettingsResponse>()
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/bans", ListBansAsync).Produces<List<ChatBanView>>().ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/bans/{banId}", DeleteBanAsync).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status404NotFound);
        return endpoints;
    }

    private static async Task<IResult> GetAsync(string id, ChannelService channels, ChatService chat, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        return Results.Json(Response(id, await chat.GetSettingsAsync(id, cancellationToken).ConfigureAwait(false)),
            ControlJsonContext.Default.ChatSettingsResponse);
    }

    private static async Task<IResult> PutAsync(string id, HttpContext context, ChannelService channels, ChatService chat,
        CancellationToken cancellationToken)
    {
        var (request, error) = await RequestBodies.ReadAsync(context, ControlJsonContext.Default.ChatSettingsRequest,
            cancellationToken).ConfigureAwait(false);
        if (error is not null) return error;
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        var saved = await chat.SaveSettingsAsync(id, request!.Mode, request.SlowModeSeconds, request.Links, request.BlockedWords,
            cancellationToken).ConfigureAwait(false);
        return Results.Json(Response(id, saved), ControlJsonContext.Default.ChatSettingsResponse);
    }

    private static async Task<IResult> ListBansAsync(string id, ChannelService channels, ChatService chat, CancellationToken cancellationToken)
    {
        if (await channels.GetAsync(id, cancellationToken).ConfigureAwait(false) is null) return RequestBodies.NotFound("Channel", id);
        return Results.Json((await chat.ListBansAsync(id, cancellationToken).ConfigureAwait(false)).ToList(),
            ControlJsonContext.Default.ListChatBanView);
    }

    private static async Task<IResult> DeleteBanAsync(string id, string banId, HttpContext context, ChatService chat,
        CancellationToken cancellationToken)
        => await chat.UnbanAsync(id, banId, context.User.Identity?.Name ?? "admin", cancellationToken).ConfigureAwait(false)
            ? Results.NoContent()
            : RequestBodies.NotFound("Ban", banId);

    private static ChatSettingsResponse Response(string id, ChatRoomSettings s)
        => new(id, ChatRoomSettings.ModeName(s.Mode), s.SlowModeSeconds, ChatRoomSettings.LinksName(s.Links), s.BlockedWords);
}
