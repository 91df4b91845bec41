using Broadcast.Refusals;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin;

/// <summary>Which of the origin's parts a node runs.</summary>
[Flags]
public enum OriginRoutes
{
    None = 0,

    /// <summary><c>/live/{**path}</c> and <c>/time</c>: the origin role.</summary>
    Media = 1,

    /// <summary><c>/playback/authorize</c>, a CDN edge's token check: every node that can judge a playback token.</summary>
    PlaybackAuthorization = 2,
}

public static class OriginApplicationExtensions
{
    private static readonly string[] Options = [HttpMethods.Options];

    /// <summary>
    /// The origin's one <c>Use…</c>. <see cref="OriginRoutes.Media"/>: a GET or HEAD of <c>/live/…</c> or <c>/time</c> is
    /// answered here, ahead of routing and of every middleware after this call, so call it first (after forwarded
    /// headers). These are a node's busiest requests and need none of what follows (routing, the dashboard's headers and
    /// files, sign-in, antiforgery, the sign-in rate limit): passing through it all cost a live playlist 16.3 µs of CPU a
    /// request, against 14.4 µs here (bench/RESULTS.md, "The origin's requests ahead of routing"). Their CORS preflights
    /// stay endpoints, beside WHEP's under <c>/live/{channel}/whep</c>. <see cref="OriginRoutes.PlaybackAuthorization"/>
    /// maps the edge's token check.
    /// </summary>
    public static WebApplication UseOrigin(this WebApplication app, OriginRoutes routes = OriginRoutes.Media)
    {
        ArgumentNullException.ThrowIfNull(app);
        // The routes under the one error boundary; the GETs answered ahead of routing write their own statuses.
        var endpoints = app.MapGroup("").WithRefusalBoundary();
        if (routes.HasFlag(OriginRoutes.Media)) UseMedia(app, endpoints);
        if (routes.HasFlag(OriginRoutes.PlaybackAuthorization)) endpoints.MapPlaybackAuthorization();
        return app;
    }

    /// <summary>
    /// GET and HEAD of <c>/live</c>, <c>/live/{**path}</c> and <c>/time</c>, as routing matched them: in any case, <c>/time</c>
    /// with or without a trailing slash.
    /// The key is the rest of the decoded path, as a catch-all route value was; the handler checks the raw target as well.
    /// Other methods go on to routing: the preflights below, WHEP, and routing's 405 for the rest. One handler instance:
    /// no service is resolved per request.
    /// </summary>
    private static void UseMedia(WebApplication app, IEndpointRouteBuilder endpoints)
    {
        OriginRequestHandler handler = app.Services.GetRequiredService<OriginRequestHandler>();
        OriginMetrics metrics = app.Services.GetRequiredService<OriginMetrics>();

        app.Use((context, next) =>
        {
            string method = context.Request.Method;
            if (!HttpMethods.IsGet(method) && !HttpMethods.IsHead(method)) return next(context);
            PathString path = context.Request.Path;
            if (path.StartsWithSegments("/live", StringComparison.OrdinalIgnoreCase, out PathString rest))
            {
                // An AES-128 key (/live/{channel}/key/{kid}) is no stored object: its route answers it (or no route, 404).
                if (Protection.HlsKeyEndpoint.IsKeyPath(rest.Value)) return next(context);
                return ServeLiveAsync(context, rest.HasValue ? rest.Value![1..] : null);
            }
            if (path.StartsWithSegments("/time", StringComparison.OrdinalIgnoreCase, out PathString timeRest)
                && (!timeRest.HasValue || timeRest.Value == "/")) return ServeTimeAsync(context);
            return next(context);
        });
        endpoints.MapMethods("/live/{**path}", Options, handler.PreflightAsync).WithDisplayName("Origin live preflight");
        endpoints.MapMethods("/time", Options, handler.PreflightAsync).WithDisplayName("Origin time preflight");

        async Task ServeLiveAsync(HttpContext context, string? key)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await handler.ServeLiveAsync(context, key).ConfigureAwait(false);
            }
            finally
            {
                metrics.Record(OriginMetrics.KindOf(key ?? "", context.Request.Query.ContainsKey("_HLS_msn")), context.Response.StatusCode, start);
            }
        }

        async Task ServeTimeAsync(HttpContext context)
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            await handler.ServeTimeAsync(context).ConfigureAwait(false);
            metrics.Record(OriginRequestKind.Time, context.Response.StatusCode, start);
        }
    }
}
