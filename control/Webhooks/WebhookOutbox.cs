using System.Data.Common;
using Broadcast.Control.Persistence;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// The outbox: an event is written to <c>webhook_events</c> with one pending delivery per enabled endpoint that
/// subscribes to its type, in one transaction, so an event is either kept with all its deliveries or not at all. Where
/// the change that caused it is a row of ours (a channel made, changed or deleted) it is written in that change's
/// transaction (<see cref="AppendAsync(DbConnection, DbTransaction, WebhookEvent, CancellationToken)"/>); elsewhere right
/// when it happens. An endpoint that already has <see cref="MaxPendingPerEndpoint"/> pending deliveries (its receiver has
/// been down for long under many events) gets no new one, and that is logged: the table stays bounded.
/// </summary>
public sealed partial class WebhookOutbox(ControlDatabase database, TimeProvider time, ILogger<WebhookOutbox> logger)
{
    public const int DefaultMaxPendingPerEndpoint = 10_000;

    /// <summary>Pending deliveries one endpoint may have.</summary>
    public int MaxPendingPerEndpoint { get; init; } = DefaultMaxPendingPerEndpoint;

    /// <summary>Raised after an event was appended on this node (the delivery worker wakes up rather than waiting for its next pass).</summary>
    public event Action? Appended;

    /// <summary>Appends <paramref name="webhookEvent"/> in a transaction of its own.</summary>
    public async Task AppendAsync(WebhookEvent webhookEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(webhookEvent);
        await using (var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await AppendAsync(connection, transaction, webhookEvent, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        Appended?.Invoke();
    }

    /// <summary>Appends <paramref name="webhookEvent"/> in the caller's transaction (kept when it commits).</summary>
    public async Task AppendAsync(DbConnection connection, DbTransaction transaction, WebhookEvent webhookEvent, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(webhookEvent);
        var targets = await EnabledEndpointsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
        await InsertEventAsync(connection, transaction, webhookEvent, cancellationToken).ConfigureAwait(false);
        foreach (var (endpointId, types, pending) in targets)
        {
            if (types.Length > 0 && !types.Contains(webhookEvent.Type, StringComparer.Ordinal)) continue;
            if (pending >= MaxPendingPerEndpoint)
            {
                LogPendingCapReached(logger, endpointId, MaxPendingPerEndpoint, webhookEvent.Id, webhookEvent.Type);
                continue;
            }

            await InsertDeliveryAsync(connection, transaction, webhookEvent, endpointId, webhookEvent.ChannelId ?? "", cancellationToken).ConfigureAwait(false);
        }

        if (targets.Count > 0) LogAppended(logger, webhookEvent.Id, webhookEvent.Type, webhookEvent.ChannelId ?? "-");
    }

    /// <summary>
    /// A <c>webhook.test</c> event for endpoint <paramref name="endpointId"/> alone, outside any channel's order; its id,
    /// or null when there is no such endpoint.
    /// </summary>
    public async Task<string?> AppendTestAsync(string endpointId, CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var test = WebhookEvent.Create(WebhookEventTypes.Test, null, now, json =>
        {
            json.WriteString("endpointId", endpointId);
            json.WriteString("message", "A test event sent from the dashboard or the API.");
        });
        await using (var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false))
        {
            await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
            await using (var exists = connection.CreateCommand())
            {
                exists.Transaction = transaction;
                exists.CommandText = "SELECT COUNT(*) FROM webhook_endpoints WHERE id = @id";
                Sql.Add(exists, "id", endpointId);
                if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
                    return null;
            }

            await InsertEventAsync(connection, transaction, test, cancellationToken).ConfigureAwait(false);
            // Its own order key: a test waits behind nothing and holds nothing up.
            await InsertDeliveryAsync(connection, transaction, test, endpointId, test.Id, cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        Appended?.Invoke();
        return test.Id;
    }

    /// <summary>Wakes this node's worker (after a change whose transaction wrote an event has committed).</summary>
    public void Notify() => Appended?.Invoke();

    private static async Task<List<(string Id, string[] Types, long Pending)>> EnabledEndpointsAsync(DbConnection connection, DbTransaction transaction,
        CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText =
            "SELECT e.id, e.event_types, (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.state = 'pending') " +
            "FROM webhook_endpoints e WHERE e.enabled = @true";
        Sql.Add(command, "true", true);
        var rows = new List<(string, string[], long)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            rows.Add((reader.GetString(0), reader.GetString(1).Split(' ', StringSplitOptions.RemoveEmptyEntries), reader.GetInt64(2)));
        return rows;
    }

    private static Task<int> InsertEventAsync(DbConnection connection, DbTransaction transaction, WebhookEvent webhookEvent, CancellationToken cancellationToken)
        => Sql.ExecuteAsync(connection, transaction,
            "INSERT INTO webhook_events (id, type, channel_id, payload, created_at) VALUES (@id, @type, @channel_id, @payload, @created_at)",
            command =>
            {
                Sql.Add(command, "id", webhookEvent.Id);
                Sql.Add(command, "type", webhookEvent.Type);
                Sql.Add(command, "channel_id", webhookEvent.ChannelId);
                Sql.Add(command, "payload", webhookEvent.Payload);
                Sql.Add(command, "created_at", Sql.Millis(webhookEvent.Timestamp));
            }, cancellationToken);

    private static Task<int> InsertDeliveryAsync(DbConnection connection, DbTransaction transaction, WebhookEvent webhookEvent, string endpointId,
        string orderKey, CancellationToken cancellationToken)
        => Sql.ExecuteAsync(connection, transaction,
            "INSERT INTO webhook_deliveries (id, event_id, endpoint_id, order_key, state, attempts, next_attempt_at, created_at) " +
            "VALUES (@id, @event_id, @endpoint_id, @order_key, 'pending', 0, @at, @at)",
            command =>
            {
                Sql.Add(command, "id", "dlv_" + RowId.New(webhookEvent.Timestamp));
                Sql.Add(command, "event_id", webhookEvent.Id);
                Sql.Add(command, "endpoint_id", endpointId);
                Sql.Add(command, "order_key", orderKey);
                Sql.Add(command, "at", Sql.Millis(webhookEvent.Timestamp));
            }, cancellationToken);

    [LoggerMessage(EventId = 3834, Level = LogLevel.Debug, Message = "Webhook event {EventId} ({Type}, channel {ChannelId}) added to the outbox")]
    private static partial void LogAppended(ILogger logger, string eventId, string type, string channelId);

    [LoggerMessage(EventId = 3835, Level = LogLevel.Error,
        Message = "Webhook endpoint {EndpointId} has {Max} pending deliveries already: event {EventId} ({Type}) is not queued for it. Its receiver has failed for long; fix it or disable the endpoint")]
    private static partial void LogPendingCapReached(ILogger logger, string endpointId, int max, string eventId, string type);
}
