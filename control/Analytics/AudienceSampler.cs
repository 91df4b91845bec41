using System.Collections.Concurrent;
using Broadcast.Control.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Analytics;

/// <summary>
/// One viewer of a live broadcast on this node: its unsalted session key, first and last bucket, its delivery, whether
/// in this bucket it sent CMCD (<see cref="Cmcd"/>) and reported a buffer starvation (<see cref="Stalled"/>, CTA-5004 'bs'),
/// and its rung in the bucket (<see cref="Rung"/>: one of at most <see cref="AudienceRungs.MaxValues"/> per broadcast, null
/// when none is known: a WHEP viewer, or one that fetched no rendition's media yet).
/// </summary>
public readonly record struct LiveViewer(ulong Key, long FirstSeen, long LastSeen, string Delivery, bool Cmcd = false, bool Stalled = false,
    string? Rung = null);

/// <summary>The viewers of one live broadcast on this node in one bucket (the pipeline's view; <see cref="IAudienceSource"/>).</summary>
/// <remarks><see cref="Quality"/>: what the broadcast's CMCD players said on this node in the bucket; null when none did.
/// <see cref="NotFound"/> and <see cref="Unavailable"/>: the broadcast's media requests this node answered 404 and 503.</remarks>
public sealed record LiveAudienceSample(string ChannelSlug, string BroadcastId, int Viewers, int Hls, int LowLatencyHls, int Dash,
    IReadOnlyList<LiveViewer> Sessions, long Uncounted, int Whep = 0, PlaybackQualityCounts? Quality = null, long NotFound = 0,
    long Unavailable = 0);

/// <summary>
/// The viewers this node served per live broadcast in the bucket starting at a Unix second. Owned by control (its
/// consumer); the host implements it over the origin's viewer sessions and the broadcasts it knows (the packager's, or the
/// live state in the store on a node that packages none).
/// </summary>
public interface IAudienceSource
{
    ValueTask<IReadOnlyList<LiveAudienceSample>> SampleAsync(long bucketStart, CancellationToken cancellationToken);
}

/// <summary>
/// Every 10 s, on each node that serves playback and has the database: the ended bucket's viewers of each live broadcast
/// into <see cref="AudienceStore"/> (this node's sample row and the viewers, keyed under the salt of the broadcast's first day). It is also the one
/// door for the buckets origin-only nodes send (<see cref="AudienceNodeEndpoint"/>, <see cref="WriteAsync"/>). At most
/// <see cref="MaxSessionsPerFlush"/> viewers per broadcast and bucket are written; the rest count as uncounted (logged once).
/// </summary>
public sealed class AudienceSampler(IAudienceSource? source, AudienceStore store, IChannelRepository channels, string nodeId,
    TimeProvider time, ILogger<AudienceSampler> logger, int maxSessionsPerFlush = AudienceSampler.MaxSessionsPerFlush) : BackgroundService
{
    public const int MaxSessionsPerFlush = 50_000;

    /// <summary>After a bucket ends, how long the sampler waits for requests that were in flight at its end.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private readonly HashSet<string> _warnedOverCap = new(StringComparer.Ordinal);

    // Salts by UTC day, read once each: a salt never changes once made (the store's read also writes: the first node of the
    // day makes it, and old days' are deleted then). The loop and the node route read them alike.
    private readonly ConcurrentDictionary<DateOnly, byte[]> _salts = new();

    // Each broadcast's salt day (that of its first stored bucket), remembered after one read; cleared when it would pass
    // MaxRememberedBroadcasts (only broadcasts of known channels reach it).
    private readonly ConcurrentDictionary<(string Channel, string Broadcast), DateOnly> _broadcastDays = new();
    private const int MaxRememberedBroadcasts = 4_096;

    /// <summary>This node's name in the samples it writes.</summary>
    public string NodeId => nodeId;

    /// <summary>Writes this node's bucket starting at <paramref name="bucket"/> (Unix seconds); the broadcasts written.</summary>
    public async Task<int> SampleAsync(long bucket, CancellationToken cancellationToken)
    {
        if (source is null) return 0;
        var samples = await source.SampleAsync(bucket, cancellationToken).ConfigureAwait(false);
        return await WriteAsync(bucket, nodeId, samples, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Writes <paramref name="node"/>'s viewers of the bucket starting at <paramref name="bucket"/>: this node's, or an
    /// origin-only node's handed over by <see cref="AudienceNodeEndpoint"/>. Viewers are keyed under the salt of the broadcast's first day here,
    /// so every node's viewer of one session is one key; the broadcasts written (those of unknown channels are skipped).
    /// </summary>
    public async Task<int> WriteAsync(long bucket, string node, IReadOnlyList<LiveAudienceSample> samples, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(node);
        ArgumentNullException.ThrowIfNull(samples);
        if (samples.Count == 0) return 0;
        int written = 0;
        foreach (var sample in samples)
        {
            if (await channels.GetBySlugAsync(sample.ChannelSlug, cancellationToken).ConfigureAwait(false) is not { } channel) continue;
            int kept = Math.Min(sample.Sessions.Count, maxSessionsPerFlush);
            if (kept < sample.Sessions.Count && WarnOnce(sample.BroadcastId))
                AnalyticsLog.OverCap(logger, sample.BroadcastId, sample.ChannelSlug, maxSessionsPerFlush);
            byte[] salt = await SaltForAsync(channel.Id, sample.BroadcastId, bucket, cancellationToken).ConfigureAwait(false);
            var rows = new AudienceSessionRow[kept];
            for (int i = 0; i < kept; i++)
            {
                var viewer = sample.Sessions[i];
                // A stall is reported in CMCD: a viewer that stalled sent CMCD, whatever a node's post said.
                rows[i] = new AudienceSessionRow(AudienceStore.ViewerKey(salt, viewer.Key), viewer.FirstSeen, viewer.LastSeen, viewer.Delivery,
                    viewer.Cmcd || viewer.Stalled, viewer.Stalled, viewer.Rung);
            }

            long uncounted = sample.Uncounted + (sample.Sessions.Count - kept);
            await store.WriteAsync(new AudienceSampleRow(sample.BroadcastId, channel.Id, bucket, node, Math.Min(sample.Viewers, kept),
                sample.Hls, sample.LowLatencyHls, sample.Dash, uncounted, sample.Whep, sample.Quality, sample.NotFound, sample.Unavailable), rows,
                cancellationToken).ConfigureAwait(false);
            written++;
        }

        return written;
    }

    /// <summary>
    /// The salt a broadcast's viewers are keyed under: that of the UTC day of its first stored bucket, so a show on both sides
    /// of midnight UTC (a North American evening show) keeps each viewer's one key. A show that began before yesterday is
    /// keyed under yesterday's (older salts are deleted): a show longer than a day counts a viewer again once a day.
    /// </summary>
    private async ValueTask<byte[]> SaltForAsync(string channelId, string broadcastId, long bucket, CancellationToken cancellationToken)
    {
        var bucketDay = DayOf(bucket);
        if (!_broadcastDays.TryGetValue((channelId, broadcastId), out var day))
        {
            long first = await store.FirstBucketAsync(channelId, broadcastId, cancellationToken).ConfigureAwait(false) ?? bucket;
            day = DayOf(Math.Min(first, bucket));
            if (_broadcastDays.Count >= MaxRememberedBroadcasts) _broadcastDays.Clear();
            _broadcastDays[(channelId, broadcastId)] = day;
        }

        if (day < bucketDay.AddDays(-1)) day = bucketDay.AddDays(-1);
        if (_salts.TryGetValue(day, out var salt)) return salt;
        salt = await store.SaltAsync(day, cancellationToken).ConfigureAwait(false);
        // Days before yesterday are no longer asked for: their salts go from memory as from the store.
        foreach (var old in _salts.Keys)
            if (old < bucketDay.AddDays(-1)) _salts.TryRemove(old, out _);
        return _salts.GetOrAdd(day, salt);
    }

    private static DateOnly DayOf(long unixSeconds) => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeSeconds(unixSeconds).UtcDateTime);

    private bool WarnOnce(string broadcastId)
    {
        lock (_warnedOverCap)
        {
            // Bounded: a node that lived through a thousand over-cap broadcasts starts the set over.
            if (_warnedOverCap.Count >= 1000) _warnedOverCap.Clear();
            return _warnedOverCap.Add(broadcastId);
        }
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
        services.AddSingleton<AudienceBroadcasts>();
        services.AddHostedService<AudienceRetention>();
        // One sampler: the loop over this node's viewers, and the door the audience route writes origin-only nodes' through.
        services.AddSingleton(sp => new AudienceSampler(sp.GetService<IAudienceSource>(), sp.GetRequiredService<AudienceStore>(),
            sp.GetRequiredService<IChannelRepository>(), (sp.GetService<ChannelLeaseOptions>() ?? ChannelLeaseOptions.From(configuration)).NodeId,
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<AudienceSampler>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AudienceSampler>());
        return services;
    }
}
