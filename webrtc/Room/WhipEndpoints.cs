using System.Globalization;
using Broadcast.Network;
using Broadcast.Refusals;
using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Whep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Broadcast.WebRtc.Room;

/// <summary>
/// WHIP ingest into a channel's live room (RFC 9725): <c>POST /whip</c> with the channel's stream key as the bearer token
/// and the encoder's <c>application/sdp</c> offer answers <c>201</c> with the SDP answer and the session's <c>Location</c>
/// (<c>/whip/{channel}/{id}</c>); <c>DELETE</c> there leaves the room. The resource URL is the session's capability (an
/// unguessable id, as RFC 9725 §4.2 allows). Trickle ICE and ICE restarts are not offered: <c>PATCH</c> answers 405.
/// An optional <c>?name=</c> gives the participant's name in the show. An address that keeps sending wrong keys is
/// blocked for a while (<see cref="RoomOptions.MaxFailedKeysPerAddress"/>): 429 with Retry-After, the key not even looked up.
/// </summary>
public static partial class WhipEndpoints
{
    public static IEndpointRouteBuilder MapWhip(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var service = endpoints.ServiceProvider.GetRequiredService<RoomService>();
        var ice = endpoints.ServiceProvider.GetRequiredService<IceServers>();
        var room = endpoints.ServiceProvider.GetRequiredService<IOptions<RoomOptions>>().Value;
        var keys = new KeyCheck(new FailedAttemptGuard(room.MaxFailedKeysPerAddress, room.FailedKeyWindow, room.FailedKeyBlock,
                endpoints.ServiceProvider.GetService<TimeProvider>()),
            endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(WhipEndpoints).FullName!), room);
        // A refusal of the room (its kind: 400, 404, 409, 502, 503…) is answered as problem+json by the one boundary.
        var whip = endpoints.MapGroup("").WithRefusalBoundary();
        whip.MapPost("/whip", context => OfferAsync(context, service, ice, keys)).WithDisplayName("WHIP offer");
        whip.MapMethods("/whip", [HttpMethods.Options], context => Options(context, ice, "OPTIONS, POST")).WithDisplayName("WHIP options");
        whip.MapDelete("/whip/{channel}/{session}", context => DeleteAsync(context, service)).WithDisplayName("WHIP end");
        whip.MapMethods("/whip/{channel}/{session}", [HttpMethods.Options], context => Options(context, ice, "OPTIONS, DELETE"))
            .WithDisplayName("WHIP session options");
        whip.MapMethods("/whip/{channel}/{session}", [HttpMethods.Patch], context =>
        {
            WhepEndpoints.AddCors(context.Response);
            context.Response.Headers.Allow = "OPTIONS, DELETE";
            return WhepEndpoints.Problem(context, StatusCodes.Status405MethodNotAllowed,
                "trickle ICE and ICE restarts are not supported: send every candidate in the offer");
        }).WithDisplayName("WHIP trickle");
        return endpoints;
    }

    /// <summary>The WHIP key guard and where it logs.</summary>
    private sealed record KeyCheck(FailedAttemptGuard Guard, ILogger Logger, RoomOptions Options);

    private static async Task OfferAsync(HttpContext context, RoomService service, IceServers ice, KeyCheck keys)
    {
        var request = context.Request;
        var response = context.Response;
        WhepEndpoints.AddCors(response);
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals(WhepEndpoints.SdpContentType, StringComparison.OrdinalIgnoreCase))
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status415UnsupportedMediaType,
                $"the offer must be sent as {WhepEndpoints.SdpContentType}").ConfigureAwait(false);
            return;
        }

        string authorization = request.Headers.Authorization.ToString();
        string key = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : "";
        if (key.Length == 0)
        {
            response.Headers.WWWAuthenticate = "Bearer";
            await WhepEndpoints.Problem(context, StatusCodes.Status401Unauthorized,
                "send the channel's stream key as the bearer token").ConfigureAwait(false);
            return;
        }

        var address = context.Connection.RemoteIpAddress ?? System.Net.IPAddress.None;
        if (keys.Guard.IsBlocked(address, out var left))
        {
            response.Headers.RetryAfter = ((int)Math.Ceiling(left.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await WhepEndpoints.Problem(context, StatusCodes.Status429TooManyRequests,
                "too many refused stream keys from this address: try again later")
                .ConfigureAwait(false);
            return;
        }

        var authorizer = context.RequestServices.GetRequiredService<IRoomPublishAuthorizer>();
        string? userAgent = request.Headers.UserAgent is { Count: 1 } agents ? agents[0] : null;
        var decision = await authorizer.AuthorizeAsync(key, context.Connection.RemoteIpAddress, userAgent, context.RequestAborted)
            .ConfigureAwait(false);
        if (decision is not { Allowed: true, Channel: { } channel })
        {
            if (decision.KeyRejected && keys.Guard.RecordFailure(address, out int failures))
                LogAddressBlocked(keys.Logger, address.ToString(), failures, (int)keys.Options.FailedKeyWindow.TotalSeconds,
                    (int)keys.Options.FailedKeyBlock.TotalSeconds);
            if (decision.KeyRejected) response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            await WhepEndpoints.Problem(context, decision.KeyRejected ? StatusCodes.Status401Unauthorized : StatusCodes.Status403Forbidden,
                decision.Reason ?? "publishing is not allowed now").ConfigureAwait(false);
            return;
        }

        if (await WhepEndpoints.ReadOfferOrRefuseAsync(context).ConfigureAwait(false) is not { } offer) return;

        string name = request.Query.TryGetValue("name", out var names) && names.Count == 1 ? names[0] ?? "" : "";
        RoomAnswer answer;
        try
        {
            answer = await service.JoinAsync(channel, name.Length > 0 ? name : "WHIP encoder", "whip", isScreen: false, offer,
                context.Connection.RemoteIpAddress, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Refusal e) when (e.Kind == RefusalKind.Unavailable)
        {
            // When to try again, beside the problem the boundary writes.
            response.Headers.RetryAfter = "5";
            throw;
        }

        response.StatusCode = StatusCodes.Status201Created;
        response.ContentType = WhepEndpoints.SdpContentType;
        response.Headers.Location = string.Create(CultureInfo.InvariantCulture, $"/whip/{Uri.EscapeDataString(channel)}/{answer.Token}");
        response.Headers.CacheControl = "no-store";
        // RFC 9725 §4.6: the publisher's TURN credentials come with its 201 (OBS gathers relay candidates with them then).
        IceServerLinks.Append(response, ice.For($"whip.{channel}"));
        await response.WriteAsync(answer.Sdp, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, RoomService service)
    {
        WhepEndpoints.AddCors(context.Response);
        string channel = (string)context.Request.RouteValues["channel"]!;
        string session = (string)context.Request.RouteValues["session"]!;
        if (!await service.LeaveAsync(channel, session, "its publisher ended the WHIP session").ConfigureAwait(false))
        {
            await WhepEndpoints.Problem(context, StatusCodes.Status404NotFound, "no such WHIP session").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static Task Options(HttpContext context, IceServers ice, string allow)
    {
        var response = context.Response;
        WhepEndpoints.AddCors(response);
        response.Headers.Allow = allow;
        response.Headers.AccessControlAllowMethods = allow;
        response.Headers.AccessControlAllowHeaders = "Content-Type, Authorization";
        response.Headers.AccessControlMaxAge = "600";
        if (allow.Contains("POST", StringComparison.Ordinal))
        {
            response.Headers["Accept-Post"] = WhepEndpoints.SdpContentType;
            IceServerLinks.Append(response, ice.Public);
        }

        response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 8307, Level = LogLevel.Warning,
        Message = "WHIP: {Address} sent {Failures} refused stream keys within {WindowSeconds} s; its WHIP offers are refused for {BlockSeconds} s")]
    private static partial void LogAddressBlocked(ILogger logger, string address, int failures, int windowSeconds, int blockSeconds);
}
