using Broadcast.Origin;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Broadcast.Storage.S3;

namespace Broadcast.Server;

/// <summary>
/// Store selection (<c>Storage:Kind</c>): the filesystem under <c>Storage:Path</c>, or an S3 bucket
/// (<c>Storage:S3:*</c>). On ingest nodes the S3 store sits behind an <see cref="UploadQueue"/>, so an S3 outage
/// delays uploads instead of stalling the packager; origin-only nodes read the bucket directly.
/// </summary>
internal static class SegmentStoreSetup
{
    public static void AddSegmentStore(IServiceCollection services, IConfiguration configuration, ServerRoles roles)
    {
        string kind = configuration["Storage:Kind"] is { Length: > 0 } k ? k : "filesystem";
        if (string.Equals(kind, "filesystem", StringComparison.OrdinalIgnoreCase))
        {
            string path = configuration["Storage:Path"] is { Length: > 0 } p ? p : "./data/media";
            if (!roles.Ingest)
            {
                services.AddSingleton<ISegmentStore>(_ => new FileSystemSegmentStore(Path.GetFullPath(path)));
                return;
            }
            // Ingest writes through a fallback: a full disk holds the live window in memory instead of failing the broadcast.
            var held = configuration.GetSection(UploadQueueOptions.SectionName).Get<UploadQueueOptions>() ?? new UploadQueueOptions();
            services.AddSingleton(sp => new WriteFallbackSegmentStore(new FileSystemSegmentStore(Path.GetFullPath(path)), Path.GetFullPath(path),
                held,
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<WriteFallbackSegmentStore>>(),
                key => IsRecorded(sp.GetService<IPackagerStatus>(), key)));
            services.AddSingleton<IUploadBacklog>(sp => sp.GetRequiredService<WriteFallbackSegmentStore>());
            services.AddSingleton<ISegmentStore>(sp => sp.GetRequiredService<WriteFallbackSegmentStore>());
            return;
        }

        if (!string.Equals(kind, "s3", StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"Storage:Kind '{kind}' is not supported; use 'filesystem' or 's3'.");

        var s3 = configuration.GetSection(S3StoreOptions.SectionName).Get<S3StoreOptions>() ?? new S3StoreOptions();
        s3.Validate(); // a missing bucket name fails here, before anything listens
        var queue = configuration.GetSection(UploadQueueOptions.SectionName).Get<UploadQueueOptions>() ?? new UploadQueueOptions();
        queue.SpillDirectory ??= Path.GetFullPath("./data/upload-spill");

        services.AddSingleton(sp => new S3SegmentStore(s3, sp.GetRequiredService<ILogger<S3SegmentStore>>()));
        // The node's first hosted service (hosted services start in order): the process stops with a message naming the
        // bucket, endpoint or credentials before it accepts a publish it could not store, and before any background
        // service has started, whose cancellation the host would otherwise log as a failure ("BackgroundService
        // failed", "is stopping the host") beside the one line that says what is wrong.
        services.Insert(0, ServiceDescriptor.Singleton<IHostedService, S3StartupCheck>());
        // The bucket can be away: this node's origin keeps every segment it writes, so the live window plays through an outage.
        services.PostConfigure<OriginOptions>(o => o.KeepUnwatchedSegments ??= true);
        if (roles.Ingest)
        {
            services.AddSingleton(sp => new UploadQueue(
                ObjectNotificationSetup.UploadTarget(sp, sp.GetRequiredService<S3SegmentStore>()), queue, s3.MaxConcurrentUploads,
                key => IsRecorded(sp.GetService<IPackagerStatus>(), key),
                sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<UploadQueue>>()));
            services.AddSingleton<IUploadBacklog>(sp => sp.GetRequiredService<UploadQueue>());
            services.AddSingleton<ISegmentStore>(sp => sp.GetRequiredService<UploadQueue>());
        }
        else
        {
            services.AddSingleton<ISegmentStore>(sp => sp.GetRequiredService<S3SegmentStore>());
        }
    }

    /// <summary>A segment key of a broadcast the packager records: those are never dropped from the backlog.</summary>
    private static bool IsRecorded(IPackagerStatus? packager, string key)
    {
        if (packager is null) return true;
        foreach (var s in packager.Streams)
        {
            if (s.Recording && key.StartsWith(s.Channel + "/", StringComparison.Ordinal)
                && key.Contains("/" + s.BroadcastId + "-", StringComparison.Ordinal))
                return true;
        }

        return false;
    }
}
