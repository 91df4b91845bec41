using Broadcast.Control.Clips;
using Broadcast.Control.Recordings;
using Broadcast.Packager.Live;
using Broadcast.Processes;

namespace Broadcast.Clips;

/// <summary>The clip workflow on a node that has the store (control and ingest nodes).</summary>
public static class ClipsServiceCollectionExtensions
{
    /// <summary>
    /// Clips cut where the store is, their segments held against the packager's retention (call before
    /// <c>AddPackager</c>), a recording's media deleted but for what a clip holds, and each new clip finished in the
    /// background, one at a time, by the node's ffmpeg: its ends cut to the frame, its MP4 made.
    /// </summary>
    public static IServiceCollection AddClips(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddSingleton<IRecordingMedia, StoreRecordingMedia>();
        services.AddSingleton<IClipMedia, StoreClipMedia>();
        services.AddSingleton<IRetentionHold, ClipRetentionHold>();
        services.RequireFfmpeg(configuration, "clips");
        services.AddSingleton(sp => new ClipFinishSettings(sp.GetRequiredService<FfmpegLocator>().Shared,
            Path.Combine(Path.GetTempPath(), "broadcast-clip-cuts")));
        services.AddSingleton<ClipFinisher>().AddHostedService(sp => sp.GetRequiredService<ClipFinisher>());
        return services;
    }
}
