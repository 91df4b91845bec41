using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin;

/// <summary>Which of the origin's routes a node maps.</summary>
[Flags]
public enum OriginRoutes
{
    None = 0,

    /// <summary><c>/live/{**path}</c> and <c>/time</c>: the origin role.</summary>
    Media = 1,

    /// <summary><c>/playback/authorize</c>, a CDN edge's token check: every node that can judge a playback token.</summary>
    PlaybackAuthorization = 2,
}

public static class OriginEndpointRouteBuilderExtensions
{
    private static readonly string[] GetHead = [HttpMethods.Get, HttpMethods.Head];
    private static readonly string[] Options = [HttpMethods.Options];

    /// <summary>The origin's one <c>Map…</c>: the routes <paramref name="routes"/> names (the media routes by default).</summary>
    public static IEndpointRouteBuilder MapOrigin(this IEndpointRouteBuilder endpoints, OriginRoutes routes = OriginRoutes.Media)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (routes.HasFlag(OriginRoutes.Media)) MapMedia(endpoints);
        if (routes.HasFlag(OriginRoutes.PlaybackAuthorization)) endpoints.MapPlaybackAuthorization();
        return endpoints;
    }

    /// <summary>
    /// Maps <c>/live/{**path}</c> (GET, HEAD, OPTIONS) and <c>/time</c> (GET, HEAD, OPTIONS). Handlers are plain
    /// <see cref="RequestDelegate"/>s on one handler instance: no parameter binding or service lookup per request.
    /// </summary>
    private static void MapMedia(IEndpointRouteBuilder endpoints)
    {
        OriginRequestHandler handler = endpoints.ServiceProvider.GetRequiredService<OriginRequestHandler>();
        OriginMetrics metrics = endpoints.ServiceProvider.GetRequiredService<OriginMetrics>();

        endpoints.MapMethods("/live/{**path}", GetHead, async context =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                await handler.ServeLiveAsync(context).ConfigureAwait(false);
            }
            finally
            {
                string key = context.Request.RouteValues["path"] as string ?? "";
                metrics.Record(OriginMetrics.KindOf(key, context.Request.Query.ContainsKey("_HLS_msn")), context.Response.StatusCode, start);
            }
        }).WithDisplayName("Origin live object");
        endpoints.MapMethods("/live/{**path}", Options, handler.PreflightAsync).WithDisplayName("Origin live preflight");
        endpoints.MapMethods("/time", GetHead, async context =>
        {
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            await handler.ServeTimeAsync(context).ConfigureAwait(false);
            metrics.Record(OriginRequestKind.Time, context.Response.StatusCode, start);
        }).WithDisplayName("Origin time");
        endpoints.MapMethods("/time", Options, handler.PreflightAsync).WithDisplayName("Origin time preflight");
    }
}
