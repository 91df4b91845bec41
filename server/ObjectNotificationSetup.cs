using Broadcast.Control.Persistence;
using Broadcast.Origin;
using Broadcast.Storage;
using Broadcast.Storage.Notifications;

namespace Broadcast.Server;

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
            services.AddSingleton(sp =>
            {
                var arrivals = sp.GetRequiredService<ObjectArrivals>();
                var cache = sp.GetRequiredService<RecentObjectCache>();
                return new StoredObjectListener(connectionString, PostgresListener.RunAsync,
                    key =>
                    {
                        // Invalidate first: a waiter woken by Notify must read the new version, not a copy held from before.
                        cache.Invalidate(key);
                        arrivals.Notify(key);
                    },
                    subscribed => arrivals.Subscribed = subscribed, sp.GetRequiredService<ILogger<StoredObjectListener>>());
            });
            services.AddHostedService(sp => sp.GetRequiredService<StoredObjectListener>());
        }
    }

    /// <summary>The S3 store the upload queue writes to: wrapped to notify after each put when notifications are on.</summary>
    public static ISegmentStore UploadTarget(IServiceProvider sp, ISegmentStore s3) =>
        sp.GetService<StoredObjectNotifier>() is { } notifier ? new NotifyingSegmentStore(s3, notifier) : s3;
}
