using Broadcast.Control.Persistence;
using Broadcast.Origin;
using Npgsql;

namespace Broadcast.Server.ObjectNotifications;

/// <summary>
/// Origin-only side of the "object stored" notifications: holds one PostgreSQL connection with
/// <c>LISTEN broadcast_objects</c>; each notification drops the origin's copy of that key
/// (<see cref="RecentObjectCache.Invalidate"/>) and wakes the requests waiting in its folder
/// (<see cref="ObjectArrivals.Notify"/>). While the connection is down it reconnects with backoff (one log line per
/// outage) and <see cref="ObjectArrivals.Subscribed"/> is false, so waiters fall back to
/// <c>Origin:BlockingRecheckMilliseconds</c> when that is set.
/// </summary>
internal sealed partial class StoredObjectListener(string connectionString, ObjectArrivals arrivals, RecentObjectCache cache,
    ILogger<StoredObjectListener> logger) : BackgroundService
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(10);

    /// <summary>Notifications received since start (tests, diagnostics).</summary>
    public long Received => Interlocked.Read(ref _received);

    private long _received;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // TCP keepalive: a silently dropped connection (no RST) is noticed and reconnected.
        string connection = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 15 }.ConnectionString;
        await PostgresListener.RunAsync(connection, StoredObjectNotifier.ChannelName, OnNotification,
            reconnected =>
            {
                arrivals.Subscribed = true;
                LogListening(logger, StoredObjectNotifier.ChannelName, reconnected);
            },
            (e, firstFailure) =>
            {
                arrivals.Subscribed = false;
                if (firstFailure) LogLost(logger, e.Message);
            },
            FirstRetryDelay, MaxRetryDelay, stoppingToken).ConfigureAwait(false);
        arrivals.Subscribed = false;
    }

    private void OnNotification(object? sender, NpgsqlNotificationEventArgs e)
    {
        Interlocked.Increment(ref _received);
        // Invalidate first: a waiter woken by Notify must read the new version, not a copy held from before.
        cache.Invalidate(e.Payload);
        arrivals.Notify(e.Payload);
    }

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information, Message = "Listening for stored objects on PostgreSQL channel {Channel} (reconnected: {Reconnected})")]
    private static partial void LogListening(ILogger logger, string channel, bool reconnected);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Warning, Message = "Lost the PostgreSQL LISTEN connection ({Reason}); reconnecting with backoff, blocking requests use the recheck fallback meanwhile")]
    private static partial void LogLost(ILogger logger, string reason);
}
