using Broadcast.Origin;
using Broadcast.Packager.Storage;

namespace Broadcast.Server.ObjectNotifications;

/// <summary>
/// PostgreSQL <c>LISTEN/NOTIFY</c> "object stored" notifications between processes, when <c>Database:Kind</c> is
/// <c>postgres</c> with a connection string: an ingest node on S3 notifies after each upload; a node with the origin
/// role but not ingest (it sees no puts of its own) listens and wakes its blocked LL-HLS/LL-DASH requests.
/// </summary>
internal static class ObjectNotificationSetup
{
    public static void Add(IServiceCollection services, IConfiguration configuration, ServerRoles roles)
    {
        if (!string.Equals(configuration["Database:Kind"], "postgres", StringComparison.OrdinalIgnoreCase)) return;
        if (configuration["Database:ConnectionString"] is not { Length: > 0 } connectionString) return;

        if (roles.Ingest && string.Equals(configuration["Storage:Kind"], "s3", StringComparison.OrdinalIgnoreCase))
        {
            services.AddSingleton(sp => new StoredObjectNotifier(connectionString, sp.GetRequiredService<ILogger<StoredObjectNotifier>>()));
            services.AddHostedService(sp => sp.GetRequiredService<StoredObjectNotifier>());
        }

        if (roles.Origin && !roles.Ingest)
        {
            services.AddSingleton(sp => new StoredObjectListener(connectionString, sp.GetRequiredService<ObjectArrivals>(),
                sp.GetRequiredService<RecentObjectCache>(), sp.GetRequiredService<ILogger<StoredObjectListener>>()));
            services.AddHostedService(sp => sp.GetRequiredService<StoredObjectListener>());
        }
    }

    /// <summary>The S3 store the upload queue writes to: wrapped to notify after each put when notifications are on.</summary>
    public static ISegmentStore UploadTarget(IServiceProvider sp, ISegmentStore s3) =>
        sp.GetService<StoredObjectNotifier>() is { } notifier ? new NotifyingSegmentStore(s3, notifier) : s3;
}
