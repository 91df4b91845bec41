using System.Globalization;
using System.Text;
using System.Text.Json;
using Broadcast.Origin;
using Broadcast.Refusals;
using Broadcast.WebRtc.Ice;
using Broadcast.WebRtc.Sdp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// The WHEP routes (IETF WISH "WebRTC-HTTP Egress Protocol" draft, the playback twin of WHIP, RFC 9725):
/// <c>POST /live/{channel}/whep</c> with the viewer's <c>application/sdp</c> offer answers <c>201</c> with the SDP answer
/// and the session's <c>Location</c>; <c>DELETE</c> on it ends the session; <c>OPTIONS</c> says what is allowed (and is
/// the CORS preflight: WHEP players run on other origins); ICE servers go out as <c>Link: rel="ice-server"</c> headers
/// (RFC 9725 §4.6). Trickle ICE is not offered: <c>PATCH</c> answers 405 and viewers send their candidates in the offer.
/// A private channel's playback token comes as a bearer token (the WHEP way) or as <c>?token=</c>.
/// </summary>
public static class WhepEndpoints
{
    public const string SdpContentType = "application/sdp";
    public const int MaxOfferBytes = 64 * 1024;

    public static IEndpointRouteBuilder MapWhep(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var service = endpoints.ServiceProvider.GetRequiredService<WhepService>();
        var ice = endpoints.ServiceProvider.GetRequiredService<IceServers>();
        // A refusal of the service (its kind: 400, 404, 429, 502, 503…) is answered as problem+json by the one boundary.
        var whep = endpoints.MapGroup("").WithRefusalBoundary();
        whep.MapPost("/live/{channel}/whep", context => OfferAsync(context, service, ice)).WithDisplayName("WHEP offer");
        whep.MapMethods("/live/{channel}/whep", [HttpMethods.Options], context => Options(context, ice, "OPTIONS, POST"))
            .WithDisplayName("WHEP options");
        whep.MapDelete("/live/{channel}/whep/{session}", context => DeleteAsync(context, service)).WithDisplayName("WHEP end");
        whep.MapMethods("/live/{channel}/whep/{session}", [HttpMethods.Options], context => Options(context, ice, "OPTIONS, PATCH, DELETE"))
            .WithDisplayName("WHEP session options");
        whep.MapMethods("/live/{channel}/whep/{session}", [HttpMethods.Patch], context => PatchAsync(context, service, ice))
            .WithDisplayName("WHEP ICE restart");
        return endpoints;
    }

    private static async Task OfferAsync(HttpContext context, WhepService service, IceServers ice)
    {
        var request = context.Request;
        var response = context.Response;
        AddCors(response);
        string channel = (string)request.RouteValues["channel"]!;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals(SdpContentType, StringComparison.OrdinalIgnoreCase))
        {
            await Problem(context, StatusCodes.Status415UnsupportedMediaType, $"the offer must be sent as {SdpContentType}").ConfigureAwait(false);
            return;
        }

        if (!Authorized(context, channel, out string? token, out int refusal, out string why))
        {
            if (refusal == StatusCodes.Status401Unauthorized) response.Headers.WWWAuthenticate = "Bearer";
            await Problem(context, refusal, why).ConfigureAwait(false);
            return;
        }

        if (await ReadOfferOrRefuseAsync(context).ConfigureAwait(false) is not { } offer) return;

        WhepAnswer answer;
        try
        {
            answer = await service.StartAsync(channel, offer, context.Connection.RemoteIpAddress, context.RequestAborted,
                token).ConfigureAwait(false);
        }
        catch (Refusal e) when (e.Kind is RefusalKind.TooMany or RefusalKind.Unavailable)
        {
            // Where and when to try again, beside the problem the boundary writes: an address at its limit once one of its
            // sessions ends (at most the connect timeout); a node that cannot serve it now, the same channel over (LL-)HLS.
            if (e.Kind == RefusalKind.TooMany)
                response.Headers.RetryAfter = ((int)Math.Ceiling(service.Options.ConnectTimeout.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            else
            {
                response.Headers.RetryAfter = "10";
                response.Headers.Append(HeaderNames.Link,
                    $"</live/{channel}/master.m3u8>; rel=\"alternate\"; type=\"application/vnd.apple.mpegurl\"");
            }

            throw;
        }

        response.StatusCode = StatusCodes.Status201Created;
        response.ContentType = SdpContentType;
        response.Headers.Location = $"/live/{channel}/whep/{answer.Id}";
        response.Headers.ETag = answer.ETag;
        response.Headers.CacheControl = "no-store";
        // A viewer allowed to play gets TURN credentials (a client that gathers after the answer, as OBS does, uses them) named
        // after its address: the TURN server's per-user quota then bounds what one address holds, however many sessions it opens.
        IceServerLinks.Append(response, ice.ForViewer(context.Connection.RemoteIpAddress));
        await response.WriteAsync(answer.Sdp, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>PATCH</c> on a session: an ICE restart (RFC 9725 §4.3.2): <c>If-Match: *</c> (or the session's entity tag) and a
    /// fragment with new ICE credentials get <c>200</c>, Janus's new credentials and candidates, the new entity tag and,
    /// where TURN is configured, a fresh TURN credential (named after the viewer's address) in <c>Link</c> headers: a viewer renews its
    /// credential by restarting before the old one expires (Turn:ViewerCredentialLifetime), and a session that ended
    /// gets none. A fragment with candidates alone is trickle ICE, which is not offered: 422, as §4.3.1 asks of a session
    /// that restarts but does not trickle.
    /// </summary>
    private static async Task PatchAsync(HttpContext context, WhepService service, IceServers ice)
    {
        var request = context.Request;
        var response = context.Response;
        AddCors(response);
        response.Headers.CacheControl = "no-store";
        string channel = (string)request.RouteValues["channel"]!;
        string session = (string)request.RouteValues["session"]!;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var type)
            || !type.MediaType.Equals(TrickleIceFragment.ContentType, StringComparison.OrdinalIgnoreCase))
        {
            await Problem(context, StatusCodes.Status415UnsupportedMediaType,
                $"an ICE restart is sent as {TrickleIceFragment.ContentType}").ConfigureAwait(false);
            return;
        }

        if (service.ETagOf(channel, session) is not { } etag)
        {
            await Problem(context, StatusCodes.Status404NotFound, "no such WHEP session").ConfigureAwait(false);
            return;
        }

        string? body = await ReadBodyAsync(request, TrickleIceFragment.MaxBytes, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await Problem(context, StatusCodes.Status413PayloadTooLarge,
                $"a fragment is at most {TrickleIceFragment.MaxBytes} bytes").ConfigureAwait(false);
            return;
        }

        if (!TrickleIceFragment.TryParse(body, out var fragment, out string error))
        {
            await Problem(context, StatusCodes.Status400BadRequest, $"malformed SDP fragment: {error}").ConfigureAwait(false);
            return;
        }

        if (fragment.Ufrag is null)
        {
            await Problem(context, StatusCodes.Status422UnprocessableEntity,
                "trickle ICE is not supported: send every candidate in the offer, or restart ICE with new credentials").ConfigureAwait(false);
            return;
        }

        string ifMatch = request.Headers.IfMatch.ToString().Trim();
        if (ifMatch.Length == 0)
        {
            await Problem(context, StatusCodes.Status428PreconditionRequired,
                "an ICE restart carries If-Match: * (RFC 9725 §4.3.2)").ConfigureAwait(false);
            return;
        }

        if (ifMatch != "*" && ifMatch != etag)
        {
            await Problem(context, StatusCodes.Status412PreconditionFailed, "If-Match names another state of this session").ConfigureAwait(false);
            return;
        }

        var restart = await service.RestartIceAsync(channel, session, fragment, context.RequestAborted).ConfigureAwait(false);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = TrickleIceFragment.ContentType;
        response.Headers.ETag = restart.ETag;
        IceServerLinks.Append(response, ice.ForViewer(context.Connection.RemoteIpAddress));
        await response.WriteAsync(restart.Fragment, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, WhepService service)
    {
        AddCors(context.Response);
        string channel = (string)context.Request.RouteValues["channel"]!;
        string session = (string)context.Request.RouteValues["session"]!;
        if (!await service.EndAsync(channel, session).ConfigureAwait(false))
        {
            await Problem(context, StatusCodes.Status404NotFound, "no such WHEP session").ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
    }

    private static Task Options(HttpContext context, IceServers ice, string allow)
    {
        var response = context.Response;
        AddCors(response);
        response.Headers.Allow = allow;
        response.Headers.AccessControlAllowMethods = allow;
        response.Headers.AccessControlAllowHeaders = "Content-Type, Authorization, If-Match";
        response.Headers.AccessControlMaxAge = "600";
        if (allow.Contains("POST", StringComparison.Ordinal))
        {
            response.Headers["Accept-Post"] = SdpContentType;
            // Anyone may ask: only the fixed servers, never a TURN credential.
            IceServerLinks.Append(response, ice.Public);
        }

        response.StatusCode = StatusCodes.Status204NoContent;
        return Task.CompletedTask;
    }

    /// <summary>
    /// A private channel needs a good playback token, as its HLS and DASH do: 401 without one, 403 with a bad one. The
    /// token (null for a public channel) stays with the session: it ends when the token no longer authorises the channel.
    /// </summary>
    private static bool Authorized(HttpContext context, string channel, out string? token, out int refusal, out string why)
    {
        token = null;
        refusal = 0;
        why = "";
        var access = context.RequestServices.GetService<IPlaybackAccess>();
        if (access is null) return true;
        if (!access.IsReady)
        {
            refusal = StatusCodes.Status503ServiceUnavailable;
            why = "this node does not know yet which channels are private; try again";
            return false;
        }

        if (!access.IsPrivate(channel)) return true;
        token = PlaybackTokenOf(context.Request);
        if (string.IsNullOrEmpty(token))
        {
            refusal = StatusCodes.Status401Unauthorized;
            why = "this channel is private: send its playback token as a bearer token";
            return false;
        }

        if (!access.IsAuthorized(channel, token, context.Connection.RemoteIpAddress, out _))
        {
            refusal = StatusCodes.Status403Forbidden;
            why = "the playback token is not valid for this channel";
            return false;
        }

        return true;
    }

    /// <summary>
    /// The playback token a real-time request carries for a private channel: as a bearer token (the WHEP way), else as
    /// the one <c>?token=</c> of a watch link; null when there is none.
    /// </summary>
    internal static string? PlaybackTokenOf(HttpRequest request)
    {
        string authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        return request.Query.TryGetValue(PlaybackGate.TokenParameter, out StringValues query) && query.Count == 1 ? query[0] : null;
    }

    /// <summary>The offer in the request's body, or null when it is over <see cref="MaxOfferBytes"/>: then the answer is a 413 already.</summary>
    internal static async Task<string?> ReadOfferOrRefuseAsync(HttpContext context)
    {
        string? offer = await ReadOfferAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        if (offer is null) await Problem(context, StatusCodes.Status413PayloadTooLarge,
            $"an offer is at most {MaxOfferBytes} bytes").ConfigureAwait(false);
        return offer;
    }

    /// <summary>The body as text, or null past <see cref="MaxOfferBytes"/> (read no further than that).</summary>
    internal static Task<string?> ReadOfferAsync(HttpRequest request, CancellationToken cancellationToken)
        => ReadBodyAsync(request, MaxOfferBytes, cancellationToken);

    /// <summary>The body as text, or null past <paramref name="limit"/> bytes (read no further than that).</summary>
    private static async Task<string?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength > limit) return null;
        var buffer = new byte[limit + 1];
        int length = 0;
        while (length < buffer.Length)
        {
            int n = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (n == 0) break;
            length += n;
        }

        return length > limit ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }

    internal static void AddCors(HttpResponse response)
    {
        response.Headers.AccessControlAllowOrigin = "*";
        response.Headers.AccessControlExposeHeaders = "Location, Link, Accept-Post, Retry-After, ETag";
    }

    internal static Task Problem(HttpContext context, int status, string detail)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        response.Headers.CacheControl = "no-store";
        return response.WriteAsync(JsonSerializer.Serialize(new { type = "about:blank", title = ReasonOf(status), status, detail }),
            context.RequestAborted);
    }

    private static string ReasonOf(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
}
