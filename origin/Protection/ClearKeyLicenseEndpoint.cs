using System.Globalization;
using System.Net;
using Broadcast.Network;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin.Protection;

/// <summary>
/// The content keys a license may hand out: those of a channel's broadcasts (the built-in ClearKey provider's, kept by the
/// control plane). The origin does not know where they are kept; server/ passes an implementation in.
/// </summary>
public interface IContentKeys
{
    /// <summary>Those of <paramref name="keyIds"/> that are keys of broadcasts of the channel whose slug is
    /// <paramref name="channel"/>; unknown KIDs and other channels' are left out.</summary>
    ValueTask<IReadOnlyList<ContentKey>> FindAsync(string channel, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken);
}

/// <summary>
/// <c>POST /live/{channel}/license</c>: the W3C Clear Key license server (EME §9.1.4) for a protected channel, under the same
/// playback authorization as its playlists. Under <c>/live/{channel}/</c> so the playback cookie the manifest request set
/// (<see cref="PlaybackGate"/>, <c>Path=/live/{channel}/</c>) comes with the player's license request; a token may also come as
/// <c>?token=</c> or <c>Authorization: Bearer</c>. A private channel's license without a token is 401, with a bad one 403; a
/// body that is not a license request is 400 with the reason, over 4 KiB 413. Only keys of that channel's broadcasts are
/// answered (404 when none of the KIDs is one); never cached, never logged. Found keys are kept a minute in memory
/// (<see cref="CachedContentKeys"/>), so a starting audience reads the store once per key; an address whose requests keep
/// naming no key of the channel, or keep being malformed, is answered 429 for a while without reading anything.
/// </summary>
public static class ClearKeyLicenseEndpoint
{
    /// <summary>The license path under a channel's prefix: <c>/live/{channel}/license</c>.</summary>
    public const string Name = "license";

    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues Json = "application/json";
    private static readonly StringValues BearerChallenge = "Bearer";
    private static readonly StringValues AllowOriginAny = "*";
    private static readonly StringValues AllowMethods = "POST, OPTIONS";
    private static readonly StringValues AllowHeaders = "Content-Type, Authorization";

    /// <summary>Refused requests (malformed, or naming no key of the channel) from one address within
    /// <see cref="RefusalWindow"/> that make it wait <see cref="RefusalBlock"/>: a player asks once per session and key.</summary>
    public const int MaxRefusals = 20;

    public static readonly TimeSpan RefusalWindow = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan RefusalBlock = TimeSpan.FromMinutes(5);

    /// <summary>The license URL the manifests name for <paramref name="channel"/> (path-absolute: the player resolves it
    /// against the page, as the manifests' own URLs are).</summary>
    public static string UrlFor(string channel) => $"/live/{channel}/{Name}";

    /// <summary>Maps the endpoint, and the AES-128 key endpoint beside it (<see cref="HlsKeyEndpoint"/>), where an
    /// <see cref="IContentKeys"/> is registered (nodes with the channel database, and origin-only nodes that ask a control node).</summary>
    public static IEndpointRouteBuilder MapClearKeyLicense(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var services = endpoints.ServiceProvider;
        var store = services.GetService<IContentKeys>();
        if (store is null) return endpoints;
        IPlaybackAccess access = services.GetService<IPlaybackAccess>() ?? PublicPlaybackAccess.Instance;
        var time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        var license = new LicenseService(new CachedContentKeys(store, time), access,
            new FailedAttemptGuard(MaxRefusals, RefusalWindow, RefusalBlock, time),
            services.GetService<ILoggerFactory>()?.CreateLogger(typeof(ClearKeyLicenseEndpoint)) ?? NullLogger.Instance, time);
        var routes = endpoints.MapGroup("").WithRefusalBoundary();
        routes.MapPost("/live/{channel}/" + Name, (HttpContext context, string channel) => HandleAsync(context, channel, license))
            .WithDisplayName("ClearKey license")
            // No state changes; a signed-in admin watching in the same browser sends the session cookie with it.
            .DisableAntiforgery();
        // A player page on another origin (CORS, no credentials: the playback cookie is not sent, so a private channel's
        // token comes as Authorization: Bearer) asks first; this route is more specific than the origin's /live/{**path}.
        MapPreflight(routes, "/live/{channel}/" + Name, AllowMethods, AllowHeaders, "ClearKey license preflight");
        // The raw key of an AES-128 HLS broadcast, under the license's authorization, refusal counting and key cache.
        HlsKeyEndpoint.Map(routes, license);
        return endpoints;
    }

    /// <summary>What one license request needs: the keys (cached), the playback authorization and the refusals' guard.</summary>
    internal sealed class LicenseService(IContentKeys keys, IPlaybackAccess access, FailedAttemptGuard refusals, ILogger logger, TimeProvider time)
    {
        private readonly IntervalGate _unavailableLog = new(TimeSpan.FromSeconds(10), time);

        /// <summary>
        /// The steps a license or key request takes before it names a key: no-store and CORS-open answers, an address
        /// blocked for its refusals (429), a channel name that is none (404), playback access not loaded yet, and a private
        /// channel's token (401 without, 403 refused). False when the answer is written; <paramref name="address"/> is the
        /// one refusals are counted against.
        /// </summary>
        public async Task<(bool Admitted, IPAddress Address)> AdmitAsync(HttpContext context, string channel)
        {
            HttpResponse response = context.Response;
            response.Headers.CacheControl = NoStore;
            response.Headers.AccessControlAllowOrigin = AllowOriginAny;
            IPAddress address = context.Connection.RemoteIpAddress ?? IPAddress.IPv6None;
            if (refusals.IsBlocked(address, out TimeSpan wait))
            {
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                response.ContentLength = 0;
                return (false, address);
            }

            if (OriginPath.Validate(channel) is not null || channel.Contains('/', StringComparison.Ordinal))
            {
                await ProblemAsync(response, StatusCodes.Status404NotFound, "No such channel.").ConfigureAwait(false);
                return (false, address);
            }

            if (!access.IsReady)
            {
                PlaybackGate.NotReady(response);
                return (false, address);
            }

            if (access.IsPrivate(channel) && !Authorized(context, channel, access, out bool tokenGiven))
            {
                if (tokenGiven)
                {
                    PlaybackGate.Forbid(response);
                }
                else
                {
                    response.StatusCode = StatusCodes.Status401Unauthorized;
                    response.Headers.WWWAuthenticate = BearerChallenge;
                    response.ContentLength = 0;
                }

                return (false, address);
            }

            return (true, address);
        }

        /// <summary>The channel's keys among <paramref name="keyIds"/>, or null with a 503 written when they cannot be read now
        /// (an origin-only node whose control node is away: the viewer did nothing wrong, so no refusal is counted).</summary>
        public async Task<IReadOnlyList<ContentKey>?> FindAsync(HttpContext context, string channel, IReadOnlyList<KeyId> keyIds)
        {
            try
            {
                return await keys.FindAsync(channel, keyIds, context.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception e) when (!context.RequestAborted.IsCancellationRequested
                && e is HttpRequestException or TimeoutException or OperationCanceledException or System.Text.Json.JsonException)
            {
                if (_unavailableLog.TryPass()) OriginLog.LicenseKeysUnavailable(logger, channel, e.Message);
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = "5";
                context.Response.ContentLength = 0;
                return null;
            }
        }

        /// <summary>Counts a refused request (malformed, or naming no key of the channel) against its address.</summary>
        public void Refused(IPAddress address, string channel)
        {
            if (refusals.RecordFailure(address, out int count))
                OriginLog.LicenseRequestsBlocked(logger, address, count, channel, (int)RefusalBlock.TotalMinutes);
        }
    }

    /// <summary>The CORS preflight of a route a player on another origin calls with <c>Authorization: Bearer</c> (no cookie
    /// crosses origins); more specific than the origin's <c>/live/{**path}</c>.</summary>
    internal static void MapPreflight(RouteGroupBuilder routes, string pattern, StringValues methods, StringValues allowHeaders, string name)
    {
        routes.MapMethods(pattern, [HttpMethods.Options], context =>
        {
            OriginRequestHandler.WritePreflight(context.Response, methods, allowHeaders);
            return Task.CompletedTask;
        }).WithDisplayName(name);
    }

    private static async Task HandleAsync(HttpContext context, string channel, LicenseService license)
    {
        HttpResponse response = context.Response;
        var (admitted, address) = await license.AdmitAsync(context, channel).ConfigureAwait(false);
        if (!admitted) return;

        byte[]? body = await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            await ProblemAsync(response, StatusCodes.Status413PayloadTooLarge,
                $"A license request is at most {ClearKeyLicenseMessages.MaxRequestBytes} bytes.").ConfigureAwait(false);
            return;
        }

        var request = ClearKeyLicenseMessages.TryRead(body, out string? error);
        if (request is null)
        {
            license.Refused(address, channel);
            await ProblemAsync(response, StatusCodes.Status400BadRequest, error!).ConfigureAwait(false);
            return;
        }

        if (await license.FindAsync(context, channel, request.KeyIds).ConfigureAwait(false) is not { } found) return;
        if (found.Count == 0)
        {
            license.Refused(address, channel);
            await ProblemAsync(response, StatusCodes.Status404NotFound, "None of the key IDs is a key of this channel.").ConfigureAwait(false);
            return;
        }

        byte[] answer = ClearKeyLicenseMessages.WriteResponse(found);
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = Json;
        response.ContentLength = answer.Length;
        await response.Body.WriteAsync(answer, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>A good token for the channel: in the query or cookie (<see cref="PlaybackGate.Authorize(HttpContext, ReadOnlySpan{char}, IPlaybackAccess)"/>),
    /// else as a bearer token; <paramref name="tokenGiven"/> tells a missing token (401) from a refused one (403).</summary>
    private static bool Authorized(HttpContext context, string channel, IPlaybackAccess access, out bool tokenGiven)
    {
        HttpRequest request = context.Request;
        string authorization = request.Headers.Authorization.ToString();
        const string Bearer = "Bearer ";
        bool hasBearer = authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase);
        tokenGiven = hasBearer || request.Query.ContainsKey(PlaybackGate.TokenParameter) || request.Cookies.ContainsKey(PlaybackGate.CookieName);
        if (hasBearer && !request.Query.ContainsKey(PlaybackGate.TokenParameter))
            return access.IsAuthorized(channel, authorization.AsSpan(Bearer.Length).Trim(), context.Connection.RemoteIpAddress, out _);
        return PlaybackGate.Authorize(context, channel, access);
    }

    /// <summary>The body, or null when it is over the limit (by its Content-Length or as it arrives).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        const int Max = ClearKeyLicenseMessages.MaxRequestBytes;
        if (request.ContentLength > Max) return null;
        var buffer = new byte[Max + 1];
        int length = 0;
        while (length < buffer.Length)
        {
            int read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
            if (read == 0) return buffer[..length];
            length += read;
        }

        return null;
    }

    internal static Task ProblemAsync(HttpResponse response, int status, string detail)
    {
        response.StatusCode = status;
        return response.WriteAsJsonAsync(new LicenseProblem(status == StatusCodes.Status400BadRequest ? "Malformed license request"
            : status == StatusCodes.Status413PayloadTooLarge ? "License request too large" : "Not found", status, detail),
            LicenseJsonContext.Default.LicenseProblem, "application/problem+json");
    }
}

/// <summary>An RFC 9457 problem of the license endpoint.</summary>
internal sealed record LicenseProblem(string Title, int Status, string Detail);

[System.Text.Json.Serialization.JsonSerializable(typeof(LicenseProblem))]
[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class LicenseJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
