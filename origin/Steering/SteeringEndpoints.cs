using Broadcast.Packager.Manifests;
using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin.Steering;

/// <summary>
/// The steering server: <c>GET /steering/hls</c> and <c>GET /steering/dash</c>, anonymous (a player asks before it plays
/// and a steering answer gives out nothing but pathway ids), and the operator's <c>/api/steering</c>.
/// </summary>
public static class SteeringEndpoints
{
    public const string HlsPath = "/steering/hls";
    public const string DashPath = "/steering/dash";

    /// <summary>
    /// A steering request's whole query: a session, a pathway id and a throughput fit in a fraction of it. Anything longer is
    /// refused before it is parsed.
    /// </summary>
    public const int MaxQueryLength = 512;

    /// <summary>
    /// The query parameter of RELOAD-URI that carries the player's session: present from a player's second request on,
    /// so it marks a returning player (<see cref="AnswerAsync"/>).
    /// </summary>
    public const string SessionParameter = "session";

    private const int MaxSessionLength = 32;
    private const int MaxOverrideBytes = 1024;
    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues AllowOriginAny = "*";
    private static readonly StringValues Json = "application/json";

    /// <summary>Maps the steering requests (when steering is configured) and, with <paramref name="adminPolicy"/>, the operator's API.</summary>
    /// <param name="adminConventions">What the composer adds to the operator's routes (e.g. which API credentials may use them).</param>
    public static void MapSteering(IEndpointRouteBuilder endpoints, string? adminPolicy, Action<IEndpointConventionBuilder>? adminConventions = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        SteeringPathways? pathways = endpoints.ServiceProvider.GetService<SteeringPathways>();
        if (pathways is null) return;
        SteeringOptions options = endpoints.ServiceProvider.GetRequiredService<IOptions<SteeringOptions>>().Value;
        var steering = endpoints.MapGroup("").WithRefusalBoundary();
        steering.MapGet(HlsPath, context => AnswerAsync(context, pathways, SteeringFormat.Hls, options)).WithDisplayName("Steering (HLS)");
        steering.MapGet(DashPath, context => AnswerAsync(context, pathways, SteeringFormat.Dash, options)).WithDisplayName("Steering (DASH)");
        if (adminPolicy is null) return;

        var group = steering.MapGroup("/api/steering").RequireAuthorization(adminPolicy).WithTags("steering");
        adminConventions?.Invoke(group);
        group.MapGet("", () => Results.Json(pathways.Statuses()));
        group.MapPut("/pathways/{id}", async (string id, HttpContext context) =>
        {
            // A body past the limit is refused whether it says its length or is chunked.
            if (context.Request.ContentLength > MaxOverrideBytes) return TooLarge();
            if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                limit.MaxRequestBodySize = MaxOverrideBytes;
            SteeringOverride? body;
            try
            {
                body = await context.Request.ReadFromJsonAsync<SteeringOverride>(context.RequestAborted).ConfigureAwait(false);
            }
            catch (System.Text.Json.JsonException e)
            {
                return Results.Problem(e.Message, statusCode: StatusCodes.Status400BadRequest);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                return TooLarge();
            }

            if (body is null || (body.Weight is null && body.Drained is null))
                return Results.Problem("Give \"weight\" (0-1000) and/or \"drained\" (true or false).", statusCode: StatusCodes.Status400BadRequest);
            if (body.Weight is < 0 or > 1000) return Results.Problem("\"weight\" must be between 0 and 1000.",
                statusCode: StatusCodes.Status400BadRequest);
            if (!pathways.Override(id, body.Weight, body.Drained)) return Results.Problem($"No pathway '{id}'.",
                statusCode: StatusCodes.Status404NotFound);
            return Results.Json(pathways.Statuses().First(s => s.Id == id));
        });
    }

    private static IResult TooLarge() =>
        Results.Problem($"Send a JSON body of at most {MaxOverrideBytes} bytes.", statusCode: StatusCodes.Status413PayloadTooLarge);

    /// <summary>
    /// One steering answer. The player names its pathway (<c>_HLS_pathway</c>, <c>_DASH_pathway</c>) and, from its second
    /// request on, the session the first answer gave it in RELOAD-URI (RFC 8216bis 7.2: the client uses RELOAD-URI for
    /// every later request). The session is what tells a returning player from a new one: a first request carries none,
    /// and the pathway it names is only the one the manifest told every player to start on (hls.js sends the master's
    /// PATHWAY-ID, dash.js the defaultServiceLocation it fetched from, Shaka nothing), so a new player is placed by weight
    /// whatever it names; only a returning player keeps the pathway it names. An unknown pathway or a malformed session is
    /// treated as none (a new player), never as an error: a player whose steering fails keeps its pathway, which is worse.
    /// </summary>
    private static Task AnswerAsync(HttpContext context, SteeringPathways pathways, SteeringFormat format, SteeringOptions options)
    {
        HttpResponse response = context.Response;
        response.Headers.AccessControlAllowOrigin = AllowOriginAny;
        response.Headers.CacheControl = NoStore;
        if (context.Request.QueryString.Value is { Length: > MaxQueryLength })
        {
            response.StatusCode = StatusCodes.Status414RequestUriTooLong;
            return Task.CompletedTask;
        }

        IQueryCollection query = context.Request.Query;
        bool returning = query.TryGetValue(SessionParameter, out StringValues s) && s.Count == 1 && IsSession(s[0]);
        string session = returning ? s[0]! : SteeringPathways.NewSession();
        string? current = returning && query.TryGetValue(format == SteeringFormat.Hls ? "_HLS_pathway" : "_DASH_pathway", out StringValues p)
            && p.Count == 1 ? CurrentPathway(p[0]) : null;
        IReadOnlyList<string> priority = pathways.Decide(current, session);
        string path = format == SteeringFormat.Hls ? HlsPath : DashPath;
        byte[] body = ContentSteering.WriteSteeringManifest(format, pathways.TtlSeconds,
            options.ServerBase(context.Request) + path + "?" + SessionParameter + "=" + session, priority);
        response.ContentType = Json;
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>
    /// The pathway a player says it is on: HLS players send the id; dash.js sends a quoted list with one entry per media
    /// type (<c>"cdn-a,cdn-a"</c>), so the first entry of a list counts. Null when it names no legal id.
    /// </summary>
    internal static string? CurrentPathway(string? value)
    {
        if (string.IsNullOrEmpty(value)) return null;
        ReadOnlySpan<char> named = value.AsSpan().Trim('"');
        int comma = named.IndexOf(',');
        if (comma >= 0) named = named[..comma];
        named = named.Trim();
        return ContentSteering.IsValidPathwayId(named) ? named.ToString() : null;
    }

    private static bool IsSession(string? value) =>
        value is { Length: > 0 and <= MaxSessionLength } && !value.AsSpan().ContainsAnyExcept(SessionChars);

    private static readonly System.Buffers.SearchValues<char> SessionChars =
        System.Buffers.SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
}

/// <summary>The operator's change to a pathway: either or both fields.</summary>
public sealed record SteeringOverride(int? Weight, bool? Drained);
