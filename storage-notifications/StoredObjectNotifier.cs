using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broadcast.Storage.Notifications;

/// <summary>
/// Ingest side of the "object stored" notifications: after an object's S3 upload completes,
/// <see cref="Enqueue"/> queues its key and a background loop sends <c>NOTIFY broadcast_objects, '&lt;key&gt;'</c>
/// on one PostgreSQL connection (every key waiting at that moment in one statement, duplicates coalesced). The upload
/// path never waits on the database: the queue is bounded (the oldest key is dropped when full) and a failing
/// database drops batches with one log line per outage. A lost notification only delays a waiting LL-HLS request
/// until the next part of its rendition (or its recheck fallback).
/// </summary>
public sealed partial class StoredObjectNotifier : BackgroundService
{
    /// <summary>The PostgreSQL notification channel (origin-only nodes <c>LISTEN</c> on it).</summary>
    public const string ChannelName = "broadcast_objects";

    /// <summary>PostgreSQL refuses payloads of 8000 bytes or more.</summary>
    public const int MaxPayloadBytes = 7999;

    private const int Capacity = 4096;
    private const int MaxBatch = 128;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly Channel<string> _keys;
    private long _dropped;
    private long _sent;

    public StoredObjectNotifier(string connectionString, ILogger<StoredObjectNotifier> logger)
    {
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        _connectionString = connectionString;
        _logger = logger;
        _keys = Channel.CreateBounded<string>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Keys dropped because the queue was full (the database slow or away).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Keys notified since start.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Queues a notification for <paramref name="key"/>, which is readable from the store now. Never blocks.</summary>
    public void Enqueue(string key)
    {
        if (Encoding.UTF8.GetByteCount(key) > MaxPayloadBytes) return; // store keys are far shorter; never sent
        _keys.Writer.TryWrite(key);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        NpgsqlConnection? connection = null;
        var batch = new List<string>(MaxBatch);
        var delay = FirstRetryDelay;
        bool failing = false;
        try
        {
            while (await _keys.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _keys.Reader.TryRead(out string? key))
                {
                    if (!batch.Contains(key)) batch.Add(key);
                }

                try
                {
                    connection ??= await OpenAsync(stoppingToken).ConfigureAwait(false);
                    await using (var command = new NpgsqlCommand("SELECT pg_notify($1, k) FROM unnest($2::text[]) AS k", connection))
                    {
                        command.Parameters.Add(new NpgsqlParameter { Value = ChannelName });
                        command.Parameters.Add(new NpgsqlParameter { Value = batch.ToArray() });
                        await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                    }

                    Interlocked.Add(ref _sent, batch.Count);
                    if (failing) LogRecovered(_logger, Dropped);
                    failing = false;
                    delay = FirstRetryDelay;
                }
                catch (Exception e) when (!stoppingToken.IsCancellationRequested)
                {
                    if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                    if (!failing) LogFailed(_logger, e.Message);
                    failing = true;
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // As chat's fan-out does: a NOTIFY takes a transaction id, so its commit would wait for a WAL flush, while
            // PostgreSQL holds the lock that orders every notifying commit of the database (chat's among them). A
            // notification lives only until it is delivered; nothing here needs to be durable.
            await using (var asynchronous = new NpgsqlCommand("SET synchronous_commit TO off", connection))
            {
                await asynchronous.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    [LoggerMessage(EventId = 9301, Level = LogLevel.Warning,
        Message = "Object-stored notifications to PostgreSQL failing ({Reason}); origin-only nodes wake on their recheck fallback until they resume")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 9302, Level = LogLevel.Information,
        Message = "Object-stored notifications to PostgreSQL resumed ({Dropped} keys dropped since start)")]
    private static partial void LogRecovered(ILogger logger, long dropped);
}
