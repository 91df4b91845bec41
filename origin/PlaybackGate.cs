using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin;

/// <summary>
/// Signed playback on the origin, in the style of CloudFront signed cookies: the token arrives once as
/// <c>?token=</c> (on the master playlist or MPD, or any object of the stream), and the answer sets a cookie
/// holding the same token, scoped to <c>Path=/live/{stream}/</c>; media playlists and segments are then requested
/// with their plain URLs, so their cache keys hold no per-viewer part. The cookie is the token itself (stateless:
/// any origin verifies it), HttpOnly, SameSite=Lax, Secure on https, and lives as long as the token.
/// </summary>
public static class PlaybackGate
{
    /// <summary>Query parameter that carries a token.</summary>
    public const string TokenParameter = "token";

    /// <summary>Cookie that carries a token for the rest of the stream.</summary>
    public const string CookieName = "broadcast_playback";

    private static readonly StringValues ForbiddenCacheControl = "no-store";
    private static readonly StringValues NotReadyRetryAfter = "5";
    private static readonly StringValues ViewerOnlyDefault = "private, no-cache";

    /// <summary>The stream a store key belongs to: its first segment (<c>{stream}/…</c>).</summary>
    public static ReadOnlySpan<char> StreamOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int slash = key.IndexOf('/');
        return slash < 0 ? key : key.AsSpan(0, slash);
    }

    /// <summary>
    /// True when the request carries a good token for <paramref name="stream"/>: the query parameter first (then
    /// the cookie is set), else the cookie. A bad query token is not rescued by a cookie: the URL the viewer opened
    /// is what they asked for.
    /// </summary>
    public static bool Authorize(HttpContext context, ReadOnlySpan<char> stream, IPlaybackAccess access)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(access);
        HttpRequest request = context.Request;
        return Authorize(context, stream, request.Query.TryGetValue(TokenParameter, out StringValues fromQuery), fromQuery, access);
    }

    /// <summary>As <see cref="Authorize(HttpContext, ReadOnlySpan{char}, IPlaybackAccess)"/> with the query token(s) given separately.</summary>
    internal static bool Authorize(HttpContext context, ReadOnlySpan<char> stream, bool hasQueryToken, StringValues fromQuery, IPlaybackAccess access)
    {
        HttpRequest request = context.Request;
        if (hasQueryToken)
        {
            if (fromQuery.Count != 1 || !access.IsAuthorized(stream, fromQuery[0], context.Connection.RemoteIpAddress, out DateTimeOffset expiresAt))
            {
                return false;
            }

            context.Response.Cookies.Append(CookieName, fromQuery[0]!, new CookieOptions
            {
                Path = "/live/" + stream.ToString() + "/",
                HttpOnly = true,
                Secure = request.IsHttps,
                SameSite = SameSiteMode.Lax,
                Expires = expiresAt,
                IsEssential = true,
            });
            return true;
        }

        return request.Cookies.TryGetValue(CookieName, out string? fromCookie)
            && access.IsAuthorized(stream, fromCookie, context.Connection.RemoteIpAddress, out _);
    }

    /// <summary>403 with no body and nothing that says why (expired, forged, other stream and unknown key look alike).</summary>
    public static void Forbid(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCodes.Status403Forbidden;
        response.Headers.CacheControl = ForbiddenCacheControl;
        response.ContentLength = 0;
    }

    /// <summary>503 with Retry-After and no body: this node does not know yet which streams are private (fail closed).</summary>
    public static void NotReady(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        response.Headers.CacheControl = ForbiddenCacheControl;
        response.Headers.RetryAfter = NotReadyRetryAfter;
        response.ContentLength = 0;
    }

    /// <summary>
    /// Makes whatever the origin answers for a private stream (an object, a range, a 304, a 404, an LL-HLS part held
    /// until written, an LL-DASH segment sent while it grows, an error) viewer-only: just before the headers go out,
    /// the Cache-Control the serving path chose is passed through <see cref="ViewerOnly"/>, so no path can hand a
    /// shared cache a public policy for it. Called once per authorised request of a private stream.
    /// </summary>
    public static void KeepViewerOnly(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.OnStarting(static state =>
        {
            IHeaderDictionary headers = ((HttpResponse)state).Headers;
            string current = headers.CacheControl.ToString();
            headers.CacheControl = current.Length == 0 ? ViewerOnlyDefault : ViewerOnly(current);
            return Task.CompletedTask;
        }, response);
    }

    /// <summary>
    /// The Cache-Control of a private stream's object when no edge validates tokens: the same lifetime, but only the
    /// viewer's own browser may keep it (<c>private</c>), so a shared cache never hands it to someone without a token.
    /// </summary>
    public static string ViewerOnly(string cacheControl)
    {
        ArgumentNullException.ThrowIfNull(cacheControl);
        const string Public = "public";
        if (cacheControl.StartsWith(Public, StringComparison.OrdinalIgnoreCase))
        {
            return string.Concat("private", cacheControl.AsSpan(Public.Length));
        }

        return cacheControl.Contains("private", StringComparison.OrdinalIgnoreCase)
            || cacheControl.Contains("no-store", StringComparison.OrdinalIgnoreCase)
            ? cacheControl
            : "private, " + cacheControl;
    }
}
