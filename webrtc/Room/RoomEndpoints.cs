using System.Globalization;
using System.Text.Json;
using Broadcast.Origin;
using Broadcast.Refusals;
using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Whep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Broadcast.WebRtc.Room;

/// <summary>
/// The live room's signalling (our server speaks to Janus for every browser). Hosts, under the admin policy
/// (<c>/api/rooms/{channel}</c>): the room's participants and green room, publishing from the studio, invites, admitting
/// or refusing guests, muting, removing and banning. Guests and participants (<c>/room/{channel}</c>): asking to join
/// (a knock, with an invite or none) and polling it with its secret, publishing once admitted (the grant as bearer),
/// leaving (the participant's resource URL, with its token, is its capability), the room's list and subscriptions to the
/// others' media (the participant's token as bearer). Lists show public ids only: a participant never learns another's token. Offers and answers are
/// <c>application/sdp</c>, with every ICE candidate in them.
/// </summary>
public static class RoomEndpoints
{
    /// <summary>The response header that gives a publisher its public participant id.</summary>
    public const string ParticipantIdHeader = "X-Participant-Id";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
        { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) } };

    /// <param name="hostConventions">What the composer adds to the host's routes (e.g. which API credentials may use them).</param>
    public static IEndpointRouteBuilder MapRoom(this IEndpointRouteBuilder endpoints, string hostPolicy,
        Action<IEndpointConventionBuilder>? hostConventions = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var rooms = endpoints.ServiceProvider.GetRequiredService<RoomService>();
        var lobby = endpoints.ServiceProvider.GetRequiredService<RoomLobby>();
        var ice = endpoints.ServiceProvider.GetRequiredService<IceServers>();

        // Both groups under the one error boundary: a refusal of the room (its kind: 400, 401, 403, 404, 409, 429, 502, 503) is
        // answered there as problem+json.
        var host = endpoints.MapGroup("/api/rooms/{channel}").WithRefusalBoundary().RequireAuthorization(hostPolicy).WithTags("rooms");
        hostConventions?.Invoke(host);
        host.MapGet("", (string channel) => Results.Json(new { participants = rooms.Participants(channel), knocks = lobby.Knocks(channel) }, Json));
        // The studio's RTCPeerConnection configuration: TURN credentials of its own (a host behind a firewall still gets on air).
        host.MapGet("/ice-servers", (HttpContext context, string channel) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(new { iceServers = ice.For($"room.{channel}") }, Json);
        });
        host.MapPost("/participants", (HttpContext context, string channel) => PublishAsync(context, rooms, channel, HostName(context), "studio",
            Screen(context)));
        host.MapPost("/invites", async (HttpContext context, string channel) =>
        {
            if (!await IsChannelAsync(context, channel).ConfigureAwait(false)) return Refused(404, "no such channel");
            var invite = lobby.Invite(channel);
            return Results.Json(new { invite.Token, invite.ExpiresAt, url = $"/room/{Uri.EscapeDataString(channel)}/join?invite={invite.Token}" },
                Json, statusCode: 201);
        });
        host.MapPut("/layout", async (HttpContext context, string channel, LayoutRequest request, CancellationToken cancellationToken) =>
        {
            // An unknown kind or participants the layout cannot take: a refusal naming its field (400 with errors).
            var show = context.RequestServices.GetRequiredService<IRoomShow>();
            return await show.ChooseLayoutAsync(channel, request.Kind ?? "", request.Participants ?? [], cancellationToken).ConfigureAwait(false)
                ? Results.NoContent()
                : Refused(404, "the room's show is not on air");
        });
        host.MapPost("/knocks/{id}/admit",
            (string channel, string id) => lobby.Admit(channel, id) ? Results.NoContent() : Refused(404, "no such guest waiting"));
        host.MapPost("/knocks/{id}/refuse",
            (string channel, string id, bool? ban) => lobby.Refuse(channel, id, ban == true) ? Results.NoContent() : Refused(404, "no such guest"));
        host.MapPost("/participants/{id}/mute", async (string channel, string id, MuteRequest request, CancellationToken cancellationToken) =>
        {
            return await rooms.MuteAsync(channel, id, request.Muted, cancellationToken).ConfigureAwait(false) ? Results.NoContent()
                : Refused(404, "no such participant");
        });
        host.MapDelete("/participants/{id}", async (string channel, string id, bool? ban) =>
        {
            var address = rooms.AddressOf(channel, id);
            if (!await rooms.RemoveAsync(channel, id, ban == true ? "removed and banned by a host" : "removed by a host").ConfigureAwait(false))
                return Refused(404, "no such participant");
            if (ban == true) lobby.Ban(channel, address);
            return Results.NoContent();
        });

        // Anonymous: every body has a cap before anything is read (Kestrel's default would buffer 28.6 MB into a JSON
        // binder). Offers and answers are capped like WHEP's; the JSON bodies are a name and an invite or an id.
        var room = endpoints.MapGroup("/room/{channel}").WithRefusalBoundary().WithTags("rooms")
            .WithMetadata(new BodyLimit(WhepEndpoints.MaxOfferBytes));
        room.MapPost("/knocks", async (HttpContext context, string channel, KnockRequest request) =>
        {
            if (!await IsChannelAsync(context, channel).ConfigureAwait(false)) return Refused(404, "no such channel");
            // A private channel's room is behind the channel's own token, as its stream is, or a host's invite: anyone
            // else is answered as for a channel that does not exist (no 201-or-404 oracle of which private channels exist).
            if (!MayKnock(context, channel, request.Invite)) return Refused(404, "no such channel");
            var (id, secret) = lobby.Ask(channel, request.Name ?? "", request.Invite, context.Connection.RemoteIpAddress);
            return Results.Json(new { id, secret }, Json, statusCode: 201);
        }).WithMetadata(new BodyLimit(MaxJsonBodyBytes));
        room.MapGet("/knocks/{id}", (HttpContext context, string channel, string id) =>
        {
            var status = lobby.Status(channel, id, Bearer(context));
            if (status is null) return Refused(404, "no such request to join (or not yours)");
            context.Response.Headers.CacheControl = "no-store";
            // An admitted guest's page configures its connections with these before it publishes (TURN only for the admitted).
            return Results.Json(new { state = status.State, grant = status.Grant,
                iceServers = status.Grant is null ? null : ice.For($"room.{channel}") }, Json);
        });
        room.MapPost("/participants", async (HttpContext context, string channel) =>
        {
            if (Screen(context))
            {
                // A participant (its token as bearer) shares a screen: a participant of its own that leaves with it.
                await ShareScreenAsync(context, rooms, channel).ConfigureAwait(false);
                return;
            }

            string? name = lobby.Redeem(channel, Bearer(context), context.Connection.RemoteIpAddress);
            if (name is null && Bearer(context) is { Length: > 0 } token && IsSdp(context.Request))
            {
                // Not a grant: a participant that Janus's restart took out, coming back with its token.
                await RejoinAsync(context, rooms, channel, token).ConfigureAwait(false);
                return;
            }

            if (name is null)
            {
                context.Response.Headers.WWWAuthenticate = "Bearer";
                await WhepEndpoints.Problem(context, StatusCodes.Status401Unauthorized,
                    "a guest publishes once a host admitted them: send the grant from the green room as the bearer token").ConfigureAwait(false);
                return;
            }

            await PublishAsync(context, rooms, channel, name, "guest", isScreen: false).ConfigureAwait(false);
        });
        room.MapDelete("/participants/{token}", async (string channel, string token) =>
            await rooms.LeaveAsync(channel, token, "it left").ConfigureAwait(false) ? Results.NoContent() : Refused(404, "no such participant"));
        room.MapGet("/participants", (HttpContext context, string channel) =>
        {
            if (rooms.ParticipantOf(channel, Bearer(context)) is not { } self) return Refused(403, "only a participant of the room sees its list");
            context.Response.Headers.CacheControl = "no-store";
            return Results.Json(rooms.Participants(channel).Select(p => new { p.Id, name = p.Display, p.Source, p.IsScreen, p.SharedBy, p.Muted,
                p.Connected, since = p.JoinedAt, self = p.Id == self }), Json);
        });
        room.MapPost("/subscriptions", async (HttpContext context, string channel, SubscribeRequest request) =>
        {
            var offer = await rooms.SubscribeAsync(channel, Bearer(context), request.Participant ?? "",
                context.RequestAborted).ConfigureAwait(false);
            return Results.Json(new { offer.Id, offer.Sdp }, Json, statusCode: 201);
        }).WithMetadata(new BodyLimit(MaxJsonBodyBytes));
        room.MapMethods("/subscriptions/{id}", [HttpMethods.Patch], async (HttpContext context, string channel, string id) =>
        {
            if (!IsSdp(context.Request))
            {
                await WhepEndpoints.Problem(context, StatusCodes.Status415UnsupportedMediaType,
                    $"the answer must be sent as {WhepEndpoints.SdpContentType}").ConfigureAwait(false);
                return;
            }

            string? answer = await WhepEndpoints.ReadOfferAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
            if (answer is null) await WhepEndpoints.Problem(context, StatusCodes.Status413PayloadTooLarge,
                "the answer is too large").ConfigureAwait(false);
            else if (!await rooms.AnswerAsync(channel, Bearer(context), id, answer, context.RequestAborted).ConfigureAwait(false))
                await WhepEndpoints.Problem(context, StatusCodes.Status404NotFound, "no such subscription of yours").ConfigureAwait(false);
            else context.Response.StatusCode = StatusCodes.Status204NoContent;
        });
        room.MapDelete("/subscriptions/{id}", async (HttpContext context, string channel, string id) =>
            await rooms.UnsubscribeAsync(channel, Bearer(context), id).ConfigureAwait(false) ? Results.NoContent() : Refused(404,
                "no such subscription of yours"));
        return endpoints;
    }

    /// <summary>An offer into the room: answered with 201, the SDP answer, and the participant's resource as <c>Location</c>.</summary>
    private static async Task PublishAsync(HttpContext context, RoomService rooms, string channel, string name, string source, bool isScreen)
    {
        if (!IsSdp(context.Request))
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status415UnsupportedMediaType,
                $"the offer must be sent as {WhepEndpoints.SdpContentType}").ConfigureAwait(false);
            return;
        }

        if (!await IsChannelAsync(context, channel).ConfigureAwait(false))
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status404NotFound, "no such channel").ConfigureAwait(false);
            return;
        }

        if (await WhepEndpoints.ReadOfferOrRefuseAsync(context).ConfigureAwait(false) is not { } offer) return;

        var answer = await rooms.JoinAsync(channel, name, source, isScreen, offer, context.Connection.RemoteIpAddress,
            context.RequestAborted).ConfigureAwait(false);

        await WriteAnswerAsync(context, channel, answer).ConfigureAwait(false);
    }

    private static async Task WriteAnswerAsync(HttpContext context, string channel, RoomAnswer answer)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status201Created;
        response.ContentType = WhepEndpoints.SdpContentType;
        response.Headers.Location = string.Create(CultureInfo.InvariantCulture, $"/room/{Uri.EscapeDataString(channel)}/participants/{answer.Token}");
        // The public id (what the room's lists show and hosts act on), apart from the token in the Location.
        response.Headers[ParticipantIdHeader] = answer.Id;
        response.Headers.CacheControl = "no-store";
        await response.WriteAsync(answer.Sdp, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ShareScreenAsync(HttpContext context, RoomService rooms, string channel)
    {
        string token = Bearer(context);
        if (token.Length == 0)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await WhepEndpoints.Problem(context, StatusCodes.Status401Unauthorized,
                "a participant shares a screen with its own token as the bearer token").ConfigureAwait(false);
            return;
        }

        if (!IsSdp(context.Request))
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status415UnsupportedMediaType,
                $"the offer must be sent as {WhepEndpoints.SdpContentType}").ConfigureAwait(false);
            return;
        }

        // Checked before the body is read: only a participant of this room may make the server hold an offer.
        if (rooms.ParticipantOf(channel, token) is null)
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status403Forbidden,
                "only a participant of the room shares a screen into it").ConfigureAwait(false);
            return;
        }

        if (await WhepEndpoints.ReadOfferOrRefuseAsync(context).ConfigureAwait(false) is not { } offer) return;

        var answer = await rooms.ShareScreenAsync(channel, token, offer, context.Connection.RemoteIpAddress,
            context.RequestAborted).ConfigureAwait(false);
        await WriteAnswerAsync(context, channel, answer).ConfigureAwait(false);
    }

    private static async Task RejoinAsync(HttpContext context, RoomService rooms, string channel, string token)
    {
        if (await WhepEndpoints.ReadOfferOrRefuseAsync(context).ConfigureAwait(false) is not { } offer) return;

        try
        {
            var answer = await rooms.RejoinAsync(channel, token, offer, context.Connection.RemoteIpAddress,
                context.RequestAborted).ConfigureAwait(false);
            await WriteAnswerAsync(context, channel, answer).ConfigureAwait(false);
        }
        catch (Refusal e) when (e.Kind == RefusalKind.Unauthorized)
        {
            // Not a participant's token either: answered as for a guest without its grant.
            context.Response.Headers.WWWAuthenticate = "Bearer";
            throw Refuse.UnknownCredential("a guest publishes once a host admitted them: send the grant from the green room as the bearer token");
        }
    }

    /// <summary>
    /// A knock on a public channel's room is anyone's; on a private channel's, it needs a standing invite to that room or
    /// the channel's playback token (<c>Authorization: Bearer</c> or <c>?token=</c>), checked as the origin checks it.
    /// </summary>
    private static bool MayKnock(HttpContext context, string channel, string? invite)
    {
        var access = context.RequestServices.GetService<IPlaybackAccess>();
        if (access is null || (access.IsReady && !access.IsPrivate(channel))) return true;
        if (context.RequestServices.GetRequiredService<RoomLobby>().IsInvite(channel, invite)) return true;
        return WhepEndpoints.PlaybackTokenOf(context.Request) is { Length: > 0 } token && access.IsReady
            && access.IsAuthorized(channel, token, context.Connection.RemoteIpAddress, out _);
    }

    private static async Task<bool> IsChannelAsync(HttpContext context, string channel) =>
        await context.RequestServices.GetRequiredService<IRoomPublishAuthorizer>()
            .IsChannelAsync(channel, context.RequestAborted).ConfigureAwait(false);

    private static bool IsSdp(HttpRequest request) =>
        MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            && type.MediaType.Equals(WhepEndpoints.SdpContentType, StringComparison.OrdinalIgnoreCase);

    private static string Bearer(HttpContext context)
    {
        string authorization = context.Request.Headers.Authorization.ToString();
        return authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";
    }

    private static string HostName(HttpContext context) =>
        context.Request.Query.TryGetValue("name", out var names) && names.Count == 1
            && !string.IsNullOrWhiteSpace(names[0]) ? names[0]! : context.User.Identity?.Name ?? "Host";

    private static bool Screen(HttpContext context)
        => context.Request.Query.TryGetValue("screen", out var screen) && screen.Count == 1 && screen[0] is "1" or "true";

    private static IResult Refused(int status, string detail) => Results.Problem(statusCode: status, detail: detail);

    /// <summary>A guest's request to join: the name to show and, from a host's link, the invite.</summary>
    /// <summary>The most a room's JSON body (a knock, a subscription) may carry: a name, an invite, an id.</summary>
    public const long MaxJsonBodyBytes = 4 * 1024;

    /// <summary>A route's request body cap, which routing applies before the body is read (a larger one is answered 413).</summary>
    private sealed class BodyLimit(long bytes) : Microsoft.AspNetCore.Http.Metadata.IRequestSizeLimitMetadata
    {
        public long? MaxRequestBodySize { get; } = bytes;
    }

    public sealed record KnockRequest(string? Name, string? Invite);

    public sealed record SubscribeRequest(string? Participant);

    public sealed record MuteRequest(bool Muted);

    /// <summary>A host's layout for the show: <c>auto</c>, <c>single</c>, <c>side-by-side</c>, <c>grid</c> or <c>pip</c>,
    /// over participants' public ids in order.</summary>
    public sealed record LayoutRequest(string? Kind, IReadOnlyList<string>? Participants);
}
