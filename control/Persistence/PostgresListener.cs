using Npgsql;

namespace Broadcast.Control.Persistence;

/// <summary>
/// Holds one PostgreSQL connection with <c>LISTEN {channel}</c> until cancelled, handing every notification to the caller.
/// A lost connection is opened again with exponential backoff (from <c>firstRetry</c>, doubling, at most <c>maxRetry</c>);
/// the caller hears when it listens (again) and when it lost the connection, the first failure of an outage marked so that
/// it logs once per outage. Chat fan-out and the origin's "object stored" notifications both listen this way.
/// </summary>
public static class PostgresListener
{
    /// <summary>Seconds of silence after which the listening connection sends a keepalive, unless the connection string sets one.</summary>
    public const int DefaultKeepAliveSeconds = 30;

    /// <param name="onListening">Listening now; true when this follows a lost connection.</param>
    /// <param name="onLost">The connection failed or could not be opened; true for the first failure of an outage.</param>
    public static async Task RunAsync(string connectionString, string channel, NotificationEventHandler onNotification,
        Action<bool> onListening, Action<Exception, bool> onLost, TimeSpan firstRetry, TimeSpan maxRetry, CancellationToken stoppingToken)
    {
        ArgumentNullException.ThrowIfNull(onNotification);
        ArgumentNullException.ThrowIfNull(onListening);
        ArgumentNullException.ThrowIfNull(onLost);
        connectionString = WithKeepAlive(connectionString);
        var delay = firstRetry;
        bool failing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var listener = new NpgsqlConnection(connectionString);
                listener.Notification += onNotification;
                await listener.OpenAsync(stoppingToken).ConfigureAwait(false);
                await using (var command = new NpgsqlCommand("LISTEN " + channel, listener))
                {
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                }

                onListening(failing);
                failing = false;
                delay = firstRetry;
                while (true)
                {
                    await listener.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                onLost(e, !failing);
                failing = true;
            }

            try
            {
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, maxRetry.Ticks));
        }
    }

    /// <summary>
    /// A LISTEN connection is idle by design: without keepalives a peer that vanished (a failover, a NAT that dropped the
    /// flow) leaves it waiting forever and notifications silently stop. Npgsql's keepalive makes the wait fail instead,
    /// and the loop reconnects.
    /// </summary>
    internal static string WithKeepAlive(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        if (builder.KeepAlive == 0) builder.KeepAlive = DefaultKeepAliveSeconds;
        return builder.ConnectionString;
    }
}
