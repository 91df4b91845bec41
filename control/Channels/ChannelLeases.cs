using System.Collections.Concurrent;
using System.Security.Cryptography;
using Broadcast.Control.Persistence;
using Broadcast.Control.Security;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Channels;

/// <summary>
/// <c>Ingest:NodeId</c> (this node's name in leases; on PostgreSQL a random one per process when unset, so a node restarted
/// after a crash waits for its previous lease to lapse; <c>embedded</c> on SQLite) and <c>Ingest:LeaseSeconds</c> (how long a lease lives unrenewed;
/// renewed every third of it).
/// </summary>
public sealed record ChannelLeaseOptions(string NodeId, TimeSpan Duration)
{
    public static ChannelLeaseOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        // Embedded SQLite has one node by definition: a fixed name, so a restart after a crash takes its channels back at
        // once. On a shared database a crashed node cannot be told from a live one, so each process is its own holder.
        var embedded = ControlSettings.From(configuration).DatabaseKind is not ("postgres" or "postgresql");
        var node = configuration["Ingest:NodeId"] is { Length: > 0 } id ? id.Trim()
            : embedded ? "embedded"
            : $"{Environment.MachineName}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
        if (node.Length > 100) throw new InvalidOperationException("Ingest:NodeId must be at most 100 characters.");
        var seconds = configuration["Ingest:LeaseSeconds"] is { Length: > 0 } s
            ? int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
                && n is >= 3 and <= 3600 ? n
                : throw new InvalidOperationException($"Ingest:LeaseSeconds '{s}' must be a whole number from 3 to 3600.")
            : 15;
        return new ChannelLeaseOptions(node, TimeSpan.FromSeconds(seconds));
    }
}

/// <summary>
/// Per-channel ownership across ingest nodes. A publish takes the channel's lease (<see cref="TryAcquireAsync"/>); while
/// the broadcast lives here the keeper renews it, and releases it when the broadcast ends. Another node's publish of
/// the same key is refused while the lease lives and accepted once it lapses (the holder died), so two nodes never write
/// one channel's playlists. A node that finds its lease taken (it could not renew in time) ends its copy of the broadcast.
/// </summary>
public sealed partial class ChannelLeases(IChannelLeaseRepository repository, ChannelLeaseOptions options, TimeProvider time,
    IChannelStreamPresence presence, ILogger<ChannelLeases> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, Held> _held = new(StringComparer.Ordinal); // channel id → its broadcast here
    private readonly ConcurrentDictionary<string, string> _lost = new(StringComparer.Ordinal); // channel id → the node that took it

    /// <summary>A lease this node holds: the channel's slug, when the publish took it, and whether its stream was seen live since.</summary>
    private sealed class Held(string slug, DateTimeOffset acquiredAt)
    {
        public string Slug { get; } = slug;

        public DateTimeOffset AcquiredAt { get; } = acquiredAt;

        public bool SeenLive { get; set; }
    }

    public string NodeId => options.NodeId;

    /// <summary>Takes the lease for this node; null when taken, else the other holder's lease.</summary>
    /// <param name="quiet">No warning when another node holds it: a standby's routine look, not a refused publish.</param>
    public Task<ChannelLease?> TryAcquireAsync(Channel channel, CancellationToken cancellationToken, bool quiet = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return TryAcquireAsync(channel.Id, channel.Slug, cancellationToken, quiet);
    }

    /// <summary>As <see cref="TryAcquireAsync(Channel, CancellationToken, bool)"/>, by the channel's id and slug.</summary>
    public async Task<ChannelLease?> TryAcquireAsync(string channelId, string slug, CancellationToken cancellationToken, bool quiet = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentException.ThrowIfNullOrEmpty(slug);
        var now = time.GetUtcNow();
        var lease = await repository.AcquireAsync(channelId, options.NodeId, now, now + options.Duration, cancellationToken).ConfigureAwait(false);
        if (lease is null || lease.NodeId == options.NodeId)
        {
            _held[channelId] = new Held(slug, now);
            return null;
        }

        if (!quiet) LogRefused(channelId, lease.NodeId, lease.ExpiresAt);
        return lease;
    }

    /// <summary>
    /// Whether this node ended the channel's broadcast because another node took its lease (and forgets it): that end is
    /// a move, not the broadcast's end. The node that took it, or null.
    /// </summary>
    public string? TakeLost(string channelId) => _lost.TryRemove(channelId, out var node) ? node : null;

    /// <summary>Renews the leases of live broadcasts and releases the others, every third of the lease's life.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Duration / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await RenewOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// One pass of the keeper (public for tests): releases what ended, renews the rest together
    /// (<see cref="IChannelLeaseRepository.RenewHeldAsync"/>), and looks one by one only at the channels that renewal
    /// did not find held by this node.
    /// </summary>
    public async Task RenewOnceAsync(CancellationToken cancellationToken)
    {
        var renew = new List<KeyValuePair<string, Held>>(_held.Count);
        foreach (var entry in _held)
        {
            var (channelId, held) = entry;
            if (presence.IsLive(held.Slug))
            {
                held.SeenLive = true;
            }
            else if (held.SeenLive || time.GetUtcNow() - held.AcquiredAt >= options.Duration)
            {
                _held.TryRemove(channelId, out _);
                try
                {
                    await repository.ReleaseAsync(channelId, options.NodeId, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (IsDatabaseAway(e))
                {
                    LogRenewFailed(channelId, e.Message);
                }
                continue;
            }
            // Else the publish took the lease a moment ago and its stream is not registered yet: not live is not
            // ended. Releasing here let a backup encoder take a channel whose primary was on air (TopologyTests).
            renew.Add(entry);
        }
        if (renew.Count == 0) return;

        IReadOnlySet<string> renewed;
        try
        {
            renewed = await repository.RenewHeldAsync([.. renew.Select(e => e.Key)], options.NodeId, time.GetUtcNow() + options.Duration,
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (IsDatabaseAway(e))
        {
            // The database is away: keep broadcasting; the leases run until they lapse, and the next pass tries again.
            LogRenewFailedMany(renew.Count, e.Message);
            return;
        }

        foreach (var (channelId, held) in renew)
        {
            if (renewed.Contains(channelId)) continue;
            try
            {
                // Not this node's row any more: free again (a lapse nobody took, a manual release) or another node's.
                var now = time.GetUtcNow();
                var lease = await repository.AcquireAsync(channelId, options.NodeId, now, now + options.Duration,
                    cancellationToken).ConfigureAwait(false);
                if (lease is not null && lease.NodeId != options.NodeId)
                {
                    // Another node took the channel after this one missed its renewals: two writers would corrupt the
                    // playlists, so this copy ends.
                    _held.TryRemove(channelId, out _);
                    LogLost(channelId, lease.NodeId);
                    _lost[channelId] = lease.NodeId;
                    presence.End(held.Slug);
                }
            }
            catch (Exception e) when (IsDatabaseAway(e))
            {
                LogRenewFailed(channelId, e.Message);
            }
        }
    }

    private static bool IsDatabaseAway(Exception e) => e is System.Data.Common.DbException or TimeoutException or InvalidOperationException;

    /// <summary>On shutdown the leases go at once, so a backup node may take the channels without waiting for them to lapse.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        foreach (var channelId in _held.Keys)
        {
            try
            {
                await repository.ReleaseAsync(channelId, options.NodeId, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (IsDatabaseAway(e) || e is OperationCanceledException)
            {
                LogRenewFailed(channelId, e.Message);
            }
        }

        _held.Clear();
    }

    [LoggerMessage(EventId = 3601, Level = LogLevel.Warning,
        Message = "Publish of channel {ChannelId} refused: ingest node {Holder} holds it until {ExpiresAt:O}")]
    private partial void LogRefused(string channelId, string holder, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 3602, Level = LogLevel.Error,
        Message = "Channel {ChannelId} was taken by ingest node {Holder} after this node missed its lease renewals; its broadcast here ends")]
    private partial void LogLost(string channelId, string holder);

    [LoggerMessage(EventId = 3603, Level = LogLevel.Warning, Message = "Lease of channel {ChannelId} could not be renewed ({Reason}); trying again")]
    private partial void LogRenewFailed(string channelId, string reason);

    [LoggerMessage(EventId = 3604, Level = LogLevel.Warning, Message = "Leases of {Count} channels could not be renewed ({Reason}); trying again")]
    private partial void LogRenewFailedMany(int count, string reason);
}

public static class PublishPolicyServiceCollectionExtensions
{
    /// <summary>
    /// What an ingest node asks before a publish: the <see cref="PublishPolicy"/> and the channel leases behind it, and
    /// what keeps asking during the broadcast (<see cref="Events.EventWindowEnforcer"/>). The host registers
    /// <see cref="IChannelStreamPresence"/> over its live streams.
    /// </summary>
    internal static IServiceCollection AddPublishPolicy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(ChannelLeaseOptions.From(configuration));
        services.AddSingleton<IChannelLeaseRepository, SqlChannelLeaseRepository>();
        services.AddSingleton<ChannelLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<ChannelLeases>());
        services.AddOutboundGuard(configuration);
        services.AddSingleton(PublishCallbackOptions.From(configuration));
        services.AddSingleton<PublishCallback>();
        services.AddSingleton<PublishPolicy>();
        services.AddHostedService<Events.EventWindowEnforcer>();
        return services;
    }
}
