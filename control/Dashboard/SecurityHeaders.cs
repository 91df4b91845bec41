using Microsoft.AspNetCore.Http;

namespace Broadcast.Control.Dashboard;

/// <summary>
/// Response headers for dashboard and watch pages. The CSP allows only our own origin: scripts, styles, fonts and
/// the SignalR socket come from here; <c>blob:</c> is needed for media because hls.js feeds the video element
/// through Media Source Extensions; the hls.js worker is loaded from our own file, not a blob. No inline script or
/// style is allowed, so every page keeps its JavaScript in wwwroot.
/// </summary>
public static class SecurityHeaders
{
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; media-src 'self' blob:; worker-src 'self'; frame-ancestors 'none'; base-uri 'self'; " +
        "form-action 'self'; object-src 'none'";

    public static void Apply(HttpResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var headers = response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        // The studio and the guest page take a camera, a microphone and (the studio) a screen: from this origin only.
        headers["Permissions-Policy"] = "camera=(self), microphone=(self), display-capture=(self), geolocation=()";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    /// <summary>True for the paths whose responses get these headers.</summary>
    public static bool Covers(PathString path)
        => path.StartsWithSegments("/dashboard", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/watch", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/room", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/sign-in", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/assets", StringComparison.OrdinalIgnoreCase);
}
