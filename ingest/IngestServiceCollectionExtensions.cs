using Broadcast.Ingest.Pull;
using Broadcast.Ingest.Restream;
using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmps;
using Broadcast.Ingest.Srt;
using Broadcast.Processes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Broadcast.Ingest;

public static class IngestServiceCollectionExtensions
{
    /// <summary>
    /// Registers the RTMP ingest server (options from the "Rtmp" section) as a hosted service, and
    /// <see cref="IRtmpConnections"/> for the dashboard. The composition root registers
    /// <see cref="Broadcast.Media.LiveStreamRegistry"/> and <see cref="IPublishAuthorizer"/>.
    /// </summary>
    /// <summary>
    /// Everything an ingest node runs: RTMP (with RTMPS and SRT when their ports are set), restream out, and pull
    /// sources when <c>Pull:Enabled</c>. The composition root registers <see cref="Broadcast.Media.LiveStreamRegistry"/>,
    /// <see cref="IPublishAuthorizer"/>, the restream destinations and the pull runner.
    /// </summary>
    public static IServiceCollection AddIngest(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddRtmpIngest(configuration);
        services.AddRestream(configuration);
        if (PullOptions.FromConfiguration(configuration, services.GetFfmpegLocator(configuration)).Enabled) services.AddPull(configuration);
        return services;
    }

    internal static IServiceCollection AddRtmpIngest(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<RtmpOptions>()
            .Bind(configuration.GetSection(RtmpOptions.SectionName))
            .Validate(o => o.Port is >= 0 and <= 65535, "Rtmp:Port must be 0..65535.")
            .Validate(o => o.MaxConnections > 0, "Rtmp:MaxConnections must be positive.")
            .Validate(o => o.MaxMessageSize is >= 1024 and <= 256 * 1024 * 1024, "Rtmp:MaxMessageSize must be 1 KiB..256 MiB.")
            .Validate(o => o.ChunkSize is >= 128 and <= 65536, "Rtmp:ChunkSize must be 128..65536.")
            .Validate(o => o.MemoryBudgetBeforePublish >= 64 * 1024 && o.MemoryBudgetAfterPublish >= o.MemoryBudgetBeforePublish
                && o.MemoryBudgetTotal >= o.MemoryBudgetAfterPublish,
                "Rtmp memory budgets: MemoryBudgetBeforePublish at least 64 KiB, MemoryBudgetAfterPublish at least that, " +
                "MemoryBudgetTotal at least MemoryBudgetAfterPublish.")
            .Validate(o => o.MaxPartialMessagesBeforePublish is >= 1 and <= 64, "Rtmp:MaxPartialMessagesBeforePublish must be 1..64.")
            .Validate(o => o.MaxVideoTracks is >= 1 and <= 255, "Rtmp:MaxVideoTracks must be 1..255 (a track id is one byte; 1 refuses multitrack).")
            .Validate(o => o.MaxAudioTracks is >= 1 and <= 8, "Rtmp:MaxAudioTracks must be 1..8 (1 takes audio track 0 only).")
            .Validate(o => o.HandshakeTimeoutSeconds > 0 && o.IdleTimeoutSeconds > 0, "Rtmp timeouts must be positive.")
            .Validate(o => o.ReceiveCoalescingMilliseconds is >= 0 and <= Rtmp.Receive.ReceiveLoops.MaxCoalescingMilliseconds,
                $"Rtmp:ReceiveCoalescingMilliseconds must be 0..{Rtmp.Receive.ReceiveLoops.MaxCoalescingMilliseconds} (0 turns coalescing off).")
            .Validate(o => o.ReceiveThreads is >= 0 and <= Rtmp.Receive.ReceiveLoops.MaxThreads,
                $"Rtmp:ReceiveThreads must be 0..{Rtmp.Receive.ReceiveLoops.MaxThreads} (0: one per core).")
            .Validate(o => System.Net.IPAddress.TryParse(o.BindAddress, out _), "Rtmp:BindAddress must be an IP address.")
            .Validate(o => o.MaxConnectionsPerIp >= 0 && o.HandshakesPerSecondPerIp >= 0 && o.HandshakeBurstPerIp >= 0
                && o.PublishTimeoutSeconds >= 0 && o.MinBytesPerSecondBeforePublish >= 0 && o.SlowClientGraceSeconds >= 0
                && o.MaxFailedPublishesPerIp >= 0 && o.FailedPublishWindowSeconds >= 0 && o.FailedPublishBlockSeconds >= 0,
                "Rtmp per-IP limits and slow-client settings must not be negative (0 turns one off).");
        services.AddOptions<IngestOptions>()
            .Bind(configuration.GetSection(IngestOptions.SectionName))
            .Validate(o => o.ReconnectGraceSeconds is >= 0 and <= 3600, "Ingest:ReconnectGraceSeconds must be 0..3600.")
            .Validate(o => o.TakeoverSilenceMilliseconds is >= 0 and <= 600_000, "Ingest:TakeoverSilenceMilliseconds must be 0..600000.");
        services.TryAddSingleton<IRtmpConnections, RtmpConnectionRegistry>();
        // One memory budget for every RTMP connection of the process, the RTMPS listener's too.
        services.TryAddSingleton(sp => new RtmpMemoryBudget(sp.GetRequiredService<IOptions<RtmpOptions>>().Value.MemoryBudgetTotal));
        services.TryAddSingleton<RtmpServer>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RtmpServer>());
        services.AddRtmpsIngest(configuration); // only when Rtmps:Port is set
        services.AddSrtIngest(configuration); // only when Srt:Port is set
        return services;
    }
}
