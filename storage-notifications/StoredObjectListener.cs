using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broadcast.Storage.Notifications;

/// <summary>
/// The one PostgreSQL LISTEN loop of the process (control's <c>PostgresListener.RunAsync</c>, which chat fan-out uses
/// too), handed in by the composition root so that this project knows no control code.
/// </summary>
public delegate Task PostgresListenLoop(string connectionString, string channel, NotificationEventHandler onNotification,
    Action<bool> onListening, Action<Exception, bool> onLost, TimeSpan firstRetry, TimeSpan maxRetry, CancellationToken stoppingToken);

/// <summary>
/// Origin-only side of the "object stored" notifications: holds one PostgreSQL connection with
/// <c>LISTEN broadcast_objects</c>; each notification hands its key to <paramref name="onStored"/> (the origin drops
/// its copy of that key and wakes the requests waiting in its folder). While the connection is down it reconnects
/// with backoff (one log line per outage) and <paramref name="onSubscribed"/> hears false, so waiters fall back to
/// <c>Origin:BlockingRecheckMilliseconds</c> when that is set.
/// </summary>
/// <param name="onStored">The key another node stored or deleted.</param>
/// <param name="onSubscribed">True while listening, false while the connection is down and after stopping.</param>
public sealed partial class StoredObjectListener(string connectionString, PostgresListenLoop listen, Action<string> onStored,
    Action<bool> onSubscribed, ILogger<StoredObjectListener> logger) : BackgroundService
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
        await listen(connection, StoredObjectNotifier.ChannelName, OnNotification,
            reconnected =>
            {
                onSubscribed(true);
                LogListening(logger, StoredObjectNotifier.ChannelName, reconnected);
            },
            (e, firstFailure) =>
            {
                onSubscribed(false);
                if (firstFailure) LogLost(logger, e.Message);
            },
            FirstRetryDelay, MaxRetryDelay, stoppingToken).ConfigureAwait(false);
        onSubscribed(false);
    }

    private void OnNotification(object? sender, NpgsqlNotificationEventArgs e)
    {
        Interlocked.Increment(ref _received);
        onStored(e.Payload);
    }

    [LoggerMessage(EventId = 9303, Level = LogLevel.Information,
        Message = "Listening for stored objects on PostgreSQL channel {Channel} (reconnected: {Reconnected})")]
    private static partial void LogListening(ILogger logger, string channel, bool reconnected);

    [LoggerMessage(EventId = 9304, Level = LogLevel.Warning,
        Message = "Lost the PostgreSQL LISTEN connection ({Reason}); reconnecting with backoff, " +
            "blocking requests use the recheck fallback meanwhile")]
    private static partial void LogLost(ILogger logger, string reason);
}
