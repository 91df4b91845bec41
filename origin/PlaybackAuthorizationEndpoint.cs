using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin;

/// <summary>
/// <c>GET /playback/authorize</c>: the token check for a CDN edge, asked before it serves <c>/live/…</c> from its
/// cache (nginx <c>auth_request</c>; the CloudFront/Akamai equivalent is the edge validating the token itself). The
/// original request target comes in <c>X-Original-URI</c> (path and query, as nginx's <c>$request_uri</c>), the
/// viewer's cookie in <c>Cookie</c>. Answers 204 when the stream is public or the token is good (with the
/// stream-scoped Set-Cookie when the token came in the query, for the edge to pass on, and for a private stream
/// <c>X-Playback-Scope</c>, which the edge puts in its cache key), else 403. No store read, no body: an edge may
/// cache the answer briefly, keyed by the stream and the token or cookie. Every origin answers it (from the snapshot it
/// holds), so the viewer path does not depend on the control node.
/// </summary>
public static class PlaybackAuthorizationEndpoint
{
    public const string Path = "/playback/authorize";
    public const string OriginalUriHeader = "X-Original-URI";

    /// <summary>On a 204 for a private stream: its <see cref="IPlaybackAccess.ScopeOf"/>, for the edge's cache key.</summary>
    public const string ScopeHeader = "X-Playback-Scope";

    private static readonly StringValues NoStore = "no-store";
    private static readonly StringValues ShortLived = "private, max-age=10";

    /// <summary>
    /// Maps the check on every node that serves <c>/live/</c> or holds the channel database, so an edge can ask any origin
    /// (and fail over between them) rather than one control node. Without an <see cref="IPlaybackAccess"/> registration
    /// (<c>Playback:PublicOnly</c>) every stream is public.
    /// </summary>
    internal static IEndpointRouteBuilder MapPlaybackAuthorization(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        IPlaybackAccess access = endpoints.ServiceProvider.GetService<IPlaybackAccess>() ?? PublicPlaybackAccess.Instance;
        endpoints.MapMethods(Path, [HttpMethods.Get, HttpMethods.Head], context => Handle(context, access)).WithDisplayName("Playback token check");
        return endpoints;
    }

    private static Task Handle(HttpContext context, IPlaybackAccess access)
    {
        HttpResponse response = context.Response;
        response.ContentLength = 0;
        string target = context.Request.Headers[OriginalUriHeader].ToString();
        int queryStart = target.IndexOf('?', StringComparison.Ordinal);
        ReadOnlySpan<char> path = queryStart < 0 ? target : target.AsSpan(0, queryStart);
        const string Live = "/live/";
        if (!path.StartsWith(Live, StringComparison.Ordinal) || OriginPath.ValidateRawTarget(path) is not null
            || OriginPath.Validate(path[Live.Length..]) is not null)
        {
            response.StatusCode = StatusCodes.Status403Forbidden;
            response.Headers.CacheControl = NoStore;
            return Task.CompletedTask;
        }

        // An origin-only node that has no snapshot of the private channels yet cannot tell: 503, so the edge asks
        // another origin (or serves its last answer) instead of caching a refusal.
        if (!access.IsReady)
        {
            PlaybackGate.NotReady(response);
            return Task.CompletedTask;
        }

        ReadOnlySpan<char> key = path[Live.Length..];
        int slash = key.IndexOf('/');
        ReadOnlySpan<char> stream = slash < 0 ? key : key[..slash];
        if (!access.IsPrivate(stream))
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            response.Headers.CacheControl = ShortLived;
            return Task.CompletedTask;
        }

        StringValues tokens = StringValues.Empty;
        bool hasQueryToken = false;
        if (queryStart >= 0 && QueryHelpers.ParseQuery(target[queryStart..]).TryGetValue(PlaybackGate.TokenParameter, out tokens))
        {
            hasQueryToken = true;
        }

        if (PlaybackGate.Authorize(context, stream, hasQueryToken, tokens, access))
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            response.Headers.CacheControl = hasQueryToken ? NoStore : ShortLived;
            if (access.ScopeOf(stream) is { } scope) response.Headers[ScopeHeader] = scope;
            return Task.CompletedTask;
        }

        PlaybackGate.Forbid(response);
        return Task.CompletedTask;
    }
}
