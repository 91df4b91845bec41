using Broadcast.Control.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Analytics;

/// <summary>One viewer of a live broadcast on this node: its unsalted session key, first and last bucket, its delivery.</summary>
public readonly record struct LiveViewer(ulong Key, long FirstSeen, long LastSeen, string Delivery);

/// <summary>The viewers of one live broadcast on this node in one bucket (the pipeline's view; <see cref="IAudienceSource"/>).</summary>
public sealed record LiveAudienceSample(string ChannelSlug, string BroadcastId, int Viewers, int Hls, int LowLatencyHls, int Dash,
    IReadOnlyList<LiveViewer> Sessions, long Uncounted, int Whep = 0);

/// <summary>
/// The viewers this node served per live broadcast in the bucket starting at a Unix second. Owned by control (its
/// consumer); the host implements it over the origin's viewer sessions and the packager's broadcasts.
/// </summary>
public interface IAudienceSource
{
    IReadOnlyList<LiveAudienceSample> Sample(long bucketStart);
}

/// <summary>
/// Every 10 s, on each node that serves playback and has the database: the ended bucket's viewers of each live broadcast
/// into <see cref="AudienceStore"/> (this node's sample row and the viewers, keyed under the day's salt). At most
/// <see cref="MaxSessionsPerFlush"/> viewers per broadcast and bucket are written; the rest count as uncounted (logged once).
/// </summary>
public sealed class AudienceSampler(IAudienceSource? source, AudienceStore store, IChannelRepository channels, string nodeId,
    TimeProvider time, ILogger<AudienceSampler> logger, int maxSessionsPerFlush = AudienceSampler.MaxSessionsPerFlush) : BackgroundService
{
    public const int MaxSessionsPerFlush = 50_000;

    /// <summary>After a bucket ends, how long the sampler waits for requests that were in flight at its end.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly HashSet<string> _warnedOverCap = new(StringComparer.Ordinal);

    // The day's salt, read once a day: it never changes once made, and the store's read also writes (the first node of
    // the day makes it, and old days' are deleted then).
    private (DateOnly Day, byte[] Salt)? _salt;

    /// <summary>Writes the bucket starting at <paramref name="bucket"/> (Unix seconds); the broadcasts written.</summary>
    public async Task<int> SampleAsync(long bucket, CancellationToken cancellationToken)
    {
        if (source is null) return 0;
        var samples = source.Sample(bucket);
        if (samples.Count == 0) return 0;
        var day = DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(bucket).UtcDateTime);
        if (_salt is not { } today || today.Day != day)
        {
            _salt = (day, await store.SaltAsync(day, cancellationToken).ConfigureAwait(false));
        }

        byte[] salt = _salt.Value.Salt;
        int written = 0;
        foreach (var sample in samples)
        {
            if (await channels.GetBySlugAsync(sample.ChannelSlug, cancellationToken).ConfigureAwait(false) is not { } channel) continue;
            int kept = Math.Min(sample.Sessions.Count, maxSessionsPerFlush);
            if (kept < sample.Sessions.Count && WarnOnce(sample.BroadcastId))
                AnalyticsLog.OverCap(logger, sample.BroadcastId, sample.ChannelSlug, maxSessionsPerFlush);
            var rows = new AudienceSessionRow[kept];
            for (int i = 0; i < kept; i++)
            {
                var viewer = sample.Sessions[i];
                rows[i] = new AudienceSessionRow(AudienceStore.ViewerKey(salt, viewer.Key), viewer.FirstSeen, viewer.LastSeen, viewer.Delivery);
            }

            long uncounted = sample.Uncounted + (sample.Sessions.Count - kept);
            await store.WriteAsync(new AudienceSampleRow(sample.BroadcastId, channel.Id, bucket, nodeId, Math.Min(sample.Viewers, kept),
                sample.Hls, sample.LowLatencyHls, sample.Dash, uncounted, sample.Whep), rows, cancellationToken).ConfigureAwait(false);
            written++;
        }

        return written;
    }

    private bool WarnOnce(string broadcastId)
    {
        // Bounded: a node that lived through a thousand over-cap broadcasts starts the set over.
        if (_warnedOverCap.Count >= 1000) _warnedOverCap.Clear();
        return _warnedOverCap.Add(broadcastId);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A node without playback (or without the packager) has nothing to sample.
        while (source is not null && !stoppingToken.IsCancellationRequested)
        {
            var now = time.GetUtcNow();
            long current = now.ToUnixTimeSeconds() - (now.ToUnixTimeSeconds() % AudienceReport.Bucket);
            var next = DateTimeOffset.FromUnixTimeSeconds(current + AudienceReport.Bucket) + Settle;
            await Task.Delay(next - now, time, stoppingToken).ConfigureAwait(false);
            try
            {
                await SampleAsync(current, stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever failed, the node goes on serving: a BackgroundService that throws stops its host.
                AnalyticsLog.SampleFailed(logger, e.Message);
            }
        }
    }
}

/// <summary>Deletes the audience older than <c>Analytics:RetentionDays</c> once an hour (and at start); every node may run it.</summary>
public sealed class AudienceRetention(AudienceStore store, AnalyticsOptions options, TimeProvider time, ILogger<AudienceRetention> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>One pass: the rows deleted.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        int deleted = await store.PurgeAsync(time.GetUtcNow() - options.Retention, cancellationToken).ConfigureAwait(false);
        if (deleted > 0) AnalyticsLog.Purged(logger, deleted, options.RetentionDays);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                AnalyticsLog.PurgeFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

/// <summary>The audience's parts on a node with the database; the sampler only where the host added an <see cref="IAudienceSource"/>.</summary>
public static class AnalyticsServiceCollectionExtensions
{
    internal static IServiceCollection AddAudienceAnalytics(this IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        // Read now: a bad Analytics:RetentionDays stops the start with its error.
        services.AddSingleton(AnalyticsOptions.From(configuration));
        services.AddSingleton<AudienceStore>();
        services.AddHostedService<AudienceRetention>();
        services.AddHostedService(sp => new AudienceSampler(sp.GetService<IAudienceSource>(), sp.GetRequiredService<AudienceStore>(),
            sp.GetRequiredService<IChannelRepository>(), (sp.GetService<ChannelLeaseOptions>() ?? ChannelLeaseOptions.From(configuration)).NodeId,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AudienceSampler>>()));
        return services;
    }
}
