using Broadcast.Control.Channels;
using Broadcast.Storage;

namespace Broadcast.Observability;

/// <summary>What a node tells about itself: readiness, the store's backlog, and control's view of its live channels.</summary>
public static class ObservabilityEndpoints
{
    /// <summary>The channel live status control shows (<see cref="IChannelLiveStatus"/>), read from this node's pipeline.</summary>
    public static IServiceCollection AddChannelLiveStatus(this IServiceCollection services) =>
        services.AddSingleton<IChannelLiveStatus, PipelineChannelLiveStatus>();

    /// <summary>
    /// The audience kept per broadcast, sampled on this node: read by control's
    /// <see cref="Broadcast.Control.Analytics.AudienceSampler"/> on nodes with the database, or handed to a control node by
    /// <see cref="Broadcast.Control.Analytics.AudienceForwarder"/> on origin-only nodes. Broadcasts are the packager's where
    /// it runs, else named by the live state in the store; WHEP viewers too where WHEP is served (each bucket's, those that
    /// left in it included: <see cref="Broadcast.WebRtc.Whep.WhepAttendance"/>).
    /// </summary>
    public static IServiceCollection AddAudienceSource(this IServiceCollection services) =>
        services.AddSingleton<Broadcast.Control.Analytics.IAudienceSource>(sp => new PipelineAudienceSource(
            sp.GetRequiredService<Broadcast.Origin.ViewerSessions>(), sp.GetService<Broadcast.Packager.Live.IPackagerStatus>(),
            sp.GetService<Broadcast.WebRtc.Whep.WhepService>() is { } whep ? whep.Attendance : null, sp.GetService<ISegmentStore>(),
            sp.GetService<TimeProvider>(), sp.GetService<Broadcast.Origin.Cmcd.CmcdAudience>()));

    /// <summary>The readiness probe <see cref="MapReadiness"/> answers with.</summary>
    public static IServiceCollection AddReadiness(this IServiceCollection services) => services.AddSingleton<ReadinessProbe>();

    /// <summary><c>GET /readyz</c>: see <see cref="ReadinessProbe"/>.</summary>
    public static IEndpointRouteBuilder MapReadiness(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/readyz", (HttpContext context, ReadinessProbe probe) => probe.HandleAsync(context));
        return endpoints;
    }

    /// <summary>
    /// <c>GET /status/store</c> (anonymous, for monitoring): the upload backlog of this node (ingest with S3), or the objects
    /// a failing disk holds in memory, as JSON. The last error is classified words only (<see cref="StoreErrorSummary"/>).
    /// </summary>
    public static IEndpointRouteBuilder MapStoreStatus(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/status/store", (IServiceProvider sp) => sp.GetService<IUploadBacklog>() is { } backlog
            ? Results.Json(Anonymous(backlog.GetStatus()))
            : Results.Json(new { kind = "filesystem" }));
        return endpoints;
    }

    private static UploadBacklogStatus Anonymous(UploadBacklogStatus status) => status with { LastError = StoreErrorSummary.Of(status.LastError) };
}
