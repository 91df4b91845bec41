using Broadcast.Control.Persistence;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Broadcast.Control.Chat;

/// <summary>
/// Chat across nodes through PostgreSQL, the way stored-object notifications already travel: every event is
/// delivered to this node's viewers at once and queued for <c>NOTIFY broadcast_chat</c> (one statement per batch,
/// on one connection; bounded queue, oldest dropped when the database is slow or away). One more connection holds
/// <c>LISTEN broadcast_chat</c> and hands other nodes' events to this node's hub groups; a node skips its own by
/// its node id. Both reconnect with backoff and log once per outage.
/// </summary>
public sealed class PostgresChatFanout : BackgroundService, IChatFanout
{
    /// <summary>The PostgreSQL notification channel.</summary>
    public const string ChannelName = "broadcast_chat";

    /// <summary>
    /// PostgreSQL refuses payloads of 8000 bytes or more. A message of 4000 characters outside ASCII, or a long ban list,
    /// is larger: such an event travels in parts (<see cref="ChatNotificationParts"/>).
    /// </summary>
    public const int MaxPayloadBytes = 7999;

    private const int Capacity = 8192;
    private const int MaxBatch = 256;
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);
    // Text outside ASCII is written as itself, not as \uXXXX escapes (six bytes for each character): the payload goes to
    // pg_notify as a parameter and back to this code, never into HTML or SQL text.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
        { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _connectionString;
    private readonly Action<string, ChatAudience, string, object> _deliver;
    private readonly ILogger _logger;
    private readonly Channel<string> _outgoing;
    private readonly string _node = Guid.NewGuid().ToString("N")[..12];
    private readonly ChatRoomVersions? _versions;
    private readonly ChatNotificationParts.Assembly _assembly = new(TimeProvider.System);
    private readonly Lock _assemblyGate = new();
    private long _dropped;
    private long _received;
    private long _parted;

    public PostgresChatFanout(string connectionString, ChatGroupDelivery delivery, ChatRoomVersions versions, ILogger<PostgresChatFanout> logger)
        : this(connectionString, delivery.Deliver, logger, versions)
    {
    }

    /// <summary>With a delivery callback of one's own (tests that stand for a node without a hub).</summary>
    public PostgresChatFanout(string connectionString, Action<string, ChatAudience, string, object> deliver, ILogger<PostgresChatFanout> logger,
        ChatRoomVersions? versions = null)
    {
        _versions = versions;
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        // TCP keepalive: a silently dropped connection is noticed and reconnected.
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { KeepAlive = 15 }.ConnectionString;
        _deliver = deliver;
        _logger = logger;
        _outgoing = Channel.CreateBounded<string>(new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest,
            SingleReader = true },
            _ => Interlocked.Increment(ref _dropped));
    }

    /// <summary>Events dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Events this node sent in parts, too large for one notification.</summary>
    public long SentInParts => Interlocked.Read(ref _parted);

    /// <summary>Events received from other nodes.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Whether the LISTEN connection is up.</summary>
    public bool Listening { get; private set; }

    public void Publish(string channelId, ChatAudience audience, string method, object payload)
    {
        _deliver(channelId, audience, method, payload);
        var json = JsonSerializer.Serialize(new Envelope(_node, channelId, audience == ChatAudience.Moderators, method,
            JsonSerializer.SerializeToElement(payload, payload.GetType(), Json)), Json);
        if (Encoding.UTF8.GetByteCount(json) <= MaxPayloadBytes)
        {
            _outgoing.Writer.TryWrite(json);
            return;
        }

        // Too large for one notification: in parts, in order, or (past the parts' bound) not at all, and said so.
        if (ChatNotificationParts.Split(json, _node, Guid.NewGuid().ToString("N")) is not { } parts)
        {
            Interlocked.Increment(ref _dropped);
            ChatLog.FanoutTooLarge(_logger, method, channelId, Encoding.UTF8.GetByteCount(json));
            return;
        }

        Interlocked.Increment(ref _parted);
        foreach (string part in parts) _outgoing.Writer.TryWrite(part);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
        => Task.WhenAll(ListenAsync(stoppingToken), NotifyAsync(stoppingToken));

    private async Task NotifyAsync(CancellationToken stoppingToken)
    {
        NpgsqlConnection? connection = null;
        var batch = new List<string>(MaxBatch);
        var delay = FirstRetryDelay;
        try
        {
            while (await _outgoing.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _outgoing.Reader.TryRead(out var json)) batch.Add(json);
                try
                {
                    if (connection is null)
                    {
                        connection = new NpgsqlConnection(_connectionString);
                        await connection.OpenAsync(stoppingToken).ConfigureAwait(false);
                        // A NOTIFY takes a transaction id, so its commit waits for a WAL flush, and PostgreSQL orders the
                        // commits of notifying transactions under one database-wide lock: every node's NOTIFY waited for
                        // every other's fsync. Nothing here needs to be durable (a notification lives only until it is
                        // delivered), so this session commits without waiting for the flush.
                        await using var asynchronous = new NpgsqlCommand("SET synchronous_commit TO off", connection);
                        await asynchronous.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                    }

                    // One statement per batch; unnest keeps the order of the array.
                    await using var command = new NpgsqlCommand("SELECT pg_notify($1, e) FROM unnest($2::text[]) WITH ORDINALITY AS t(e, " +
                        "n) ORDER BY n", connection);
                    command.Parameters.Add(new NpgsqlParameter { Value = ChannelName });
                    command.Parameters.Add(new NpgsqlParameter { Value = batch.ToArray() });
                    await command.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
                    delay = FirstRetryDelay;
                }
                catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or IOException or InvalidOperationException
                    or TimeoutException)
                {
                    // These events are lost for other nodes (viewers here had them); try a fresh connection after a pause.
                    Interlocked.Add(ref _dropped, batch.Count);
                    if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                    await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxRetryDelay.Ticks));
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task ListenAsync(CancellationToken stoppingToken)
    {
        await PostgresListener.RunAsync(_connectionString, ChannelName, OnNotification,
            reconnected =>
            {
                Listening = true;
                ChatLog.Listening(_logger, ChannelName, reconnected);
            },
            (e, firstFailure) =>
            {
                Listening = false;
                if (firstFailure) ChatLog.FanoutLost(_logger, e.Message);
            },
            FirstRetryDelay, MaxRetryDelay, stoppingToken).ConfigureAwait(false);
        Listening = false;
    }

    private void OnNotification(object? sender, NpgsqlNotificationEventArgs e) => OnPayload(e.Payload);

    private void OnPayload(string payload)
    {
        if (payload.Contains("\"part\"", StringComparison.Ordinal))
        {
            // A part of a large event: once its last part came, the event goes on as if it had come whole.
            string? whole = null, error = null;
            if (!IsOwnPart(payload))
            {
                lock (_assemblyGate) whole = _assembly.Add(payload, out error);
            }

            if (error is not null) ChatLog.FanoutMalformed(_logger, error);
            if (whole is null) return;
            payload = whole;
        }

        Envelope? envelope;
        try
        {
            envelope = JsonSerializer.Deserialize<Envelope>(payload, Json);
        }
        catch (JsonException x)
        {
            ChatLog.FanoutMalformed(_logger, x.Message);
            return;
        }

        if (envelope is null || envelope.Node == _node || string.IsNullOrEmpty(envelope.Channel) || string.IsNullOrEmpty(envelope.Method)) return;
        Interlocked.Increment(ref _received);
        // Settings, bans or the history changed on another node: this node's cached copies are read again.
        var audience = envelope.Moderators ? ChatAudience.Moderators : ChatAudience.Viewers;
        _versions?.Observe(envelope.Channel, audience, envelope.Method);
        _deliver(envelope.Channel, audience, envelope.Method, envelope.Payload);
    }

    // This node's own parts come back too: skipped before they are put together, as whole events are by their node.
    private bool IsOwnPart(string payload) => payload.Contains($"\"node\":\"{_node}\"", StringComparison.Ordinal);

    private sealed record Envelope(string Node, string Channel, bool Moderators, string Method, JsonElement Payload);
}
