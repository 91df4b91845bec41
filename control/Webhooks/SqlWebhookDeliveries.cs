using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Webhooks;

/// <summary>A delivery a worker claimed: what to send, where, and the claim that lets it record the outcome.</summary>
public sealed record ClaimedDelivery(string Id, string ClaimId, string EventId, string EndpointId, string Url, byte[] SecretCiphertext,
    string Payload, DateTimeOffset EventTime, int Attempts);

/// <summary>One attempt's outcome: the answer's status (null when none came) or what failed, its time, and the answer's head.</summary>
public sealed record DeliveryAttempt(DateTimeOffset At, int? Status, string? Error, int LatencyMs, string? AnswerHead)
{
    public bool Succeeded => Status is >= 200 and < 300;
}

/// <summary>A delivery as the API and dashboard list it.</summary>
public sealed record DeliveryView(string Id, string EventId, string EventType, string? ChannelId, string State, int Attempts,
    DateTimeOffset NextAttemptAt, int? LastStatus, string? LastError, DateTimeOffset CreatedAt, DateTimeOffset? FinishedAt);

/// <summary>What recording an attempt did to its endpoint.</summary>
public sealed record EndpointVerdict(bool Disabled, DateTimeOffset? FailingSince);

/// <summary>
/// The deliveries table: claimed by workers, completed with an attempt, listed, redelivered, pruned. A claim takes the due
/// pending deliveries that head their queue (no earlier pending delivery of the same endpoint and channel) and sets a lease
/// (<c>claimed_until</c>) on them: until it runs out no other pass takes them, and when a node dies mid-delivery it runs
/// out and another pass sends again. On PostgreSQL the claim also locks the rows it reads with <c>FOR UPDATE SKIP
/// LOCKED</c>, so two nodes claiming at once take different rows (and re-check the lease of a row another node just
/// claimed) instead of both taking it; on SQLite one UPDATE holds the database's write lock.
/// </summary>
public sealed class SqlWebhookDeliveries(ControlDatabase database)
{
    public const string Pending = "pending";
    public const string Delivered = "delivered";
    public const string Failed = "failed";

    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(DateTimeOffset now, TimeSpan lease, int max, CancellationToken cancellationToken = default)
    {
        string claim = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        string lockRows = database.Kind == "postgres" ? " FOR UPDATE OF d SKIP LOCKED" : "";
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using (var update = connection.CreateCommand())
        {
            update.CommandText =
                "UPDATE webhook_deliveries SET claimed_until = @until, claim_id = @claim WHERE id IN (" +
                "SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id " +
                "WHERE d.state = 'pending' AND e.enabled = @true AND d.next_attempt_at <= @now " +
                "AND (d.claimed_until IS NULL OR d.claimed_until <= @now) " +
                "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id AND p.order_key = d.order_key " +
                "AND p.state = 'pending' AND p.event_id < d.event_id) " +
                $"ORDER BY d.event_id LIMIT @max{lockRows})";
            Sql.Add(update, "until", Sql.Millis(now + lease));
            Sql.Add(update, "claim", claim);
            Sql.Add(update, "true", true);
            Sql.Add(update, "now", Sql.Millis(now));
            Sql.Add(update, "max", (long)max);
            if (await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0) return [];
        }

        await using var select = connection.CreateCommand();
        select.CommandText =
            "SELECT d.id, d.event_id, d.endpoint_id, e.url, e.secret_ciphertext, ev.payload, ev.created_at, d.attempts " +
            "FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id JOIN webhook_events ev ON ev.id = d.event_id " +
            "WHERE d.claim_id = @claim ORDER BY d.event_id";
        Sql.Add(select, "claim", claim);
        var claimed = new List<ClaimedDelivery>();
        await using var reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            claimed.Add(new ClaimedDelivery(reader.GetString(0), claim, reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetFieldValue<byte[]>(4), reader.GetString(5), Sql.Time(reader, 6), reader.GetInt32(7)));
        }

        return claimed;
    }

    /// <summary>
    /// Records <paramref name="attempt"/> and its delivery's new state in one transaction: delivered on a 2xx; else pending
    /// again after <paramref name="retryAfter"/>, or failed when that is null. A failure starts (or continues) the
    /// endpoint's failing time; one that has lasted <paramref name="disableAfter"/> disables it. A success ends it. The
    /// delivery's row changes only while the claim is still this one's (a lease that ran out may have been taken over).
    /// </summary>
    public async Task<EndpointVerdict> CompleteAsync(ClaimedDelivery delivery, DeliveryAttempt attempt, TimeSpan? retryAfter, TimeSpan disableAfter,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentNullException.ThrowIfNull(attempt);
        var at = Sql.Millis(attempt.At);
        await using var connection = await database.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await database.BeginWriteTransactionAsync(connection, cancellationToken).ConfigureAwait(false);
        await Sql.ExecuteAsync(connection, transaction,
            "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, status_code, error, latency_ms, answer_head) " +
            "VALUES (@id, @delivery_id, @at, @status, @error, @latency, @head)", c =>
            {
                Sql.Add(c, "id", "att_" + RowId.New(at));
                Sql.Add(c, "delivery_id", delivery.Id);
                Sql.Add(c, "at", at);
                Sql.Add(c, "status", attempt.Status);
                Sql.Add(c, "error", attempt.Error);
                Sql.Add(c, "latency", attempt.LatencyMs);
                Sql.Add(c, "head", attempt.AnswerHead);
            }, cancellationToken).ConfigureAwait(false);
        string state = attempt.Succeeded ? Delivered : retryAfter is null ? Failed : Pending;
        await Sql.ExecuteAsync(connection, transaction,
            "UPDATE webhook_deliveries SET state = @state, attempts = attempts + 1, last_status = @status, last_error = @error, " +
            "next_attempt_at = @next, claimed_until = NULL, claim_id = NULL, finished_at = @finished " +
            "WHERE id = @id AND claim_id = @claim AND state = 'pending'", c =>
            {
                Sql.Add(c, "state", state);
                Sql.Add(c, "status", attempt.Status);
                Sql.Add(c, "error", attempt.Error);
                Sql.Add(c, "next", state == Pending ? at + retryAfter!.Value : at);
                Sql.Add(c, "finished", state == Pending ? null : (object)at);
                Sql.Add(c, "id", delivery.Id);
                Sql.Add(c, "claim", delivery.ClaimId);
            }, cancellationToken).ConfigureAwait(false);

        var verdict = new EndpointVerdict(false, null);
        if (attempt.Succeeded)
        {
            await Sql.ExecuteAsync(connection, transaction, "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = @id",
                c => Sql.Add(c, "id", delivery.EndpointId), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await Sql.ExecuteAsync(connection, transaction,
                "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, @at) WHERE id = @id", c =>
                {
                    Sql.Add(c, "at", at);
                    Sql.Add(c, "id", delivery.EndpointId);
                }, cancellationToken).ConfigureAwait(false);
            DateTimeOffset? since = null;
            await using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = "SELECT failing_since FROM webhook_endpoints WHERE id = @id";
                Sql.Add(read, "id", delivery.EndpointId);
                await using var reader = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false)) since = Sql.NullableTime(reader, 0);
            }

            bool disabled = false;
            if (since is { } failingSince && at - failingSince >= disableAfter)
            {
                disabled = await Sql.ExecuteAsync(connection, transaction,
                    "UPDATE webhook_endpoints SET enabled = @false, disabled_reason = @reason WHERE id = @id AND enabled = @true", c =>
                    {
                        Sql.Add(c, "false", false);
                        Sql.Add(c, "true", true);
                        Sql.Add(c, "reason", $"Every delivery attempt since {failingSince:u} failed (the last: {attempt.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? attempt.Error}).");
                        Sql.Add(c, "id", delivery.EndpointId);
                    }, cancellationToken).ConfigureAwait(false) == 1;
            }

            verdict = new EndpointVerdict(disabled, since);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return verdict;
    }

    /// <summary>The endpoint's deliveries, newest first, at most <paramref name="max"/>.</summary>
    public async Task<IReadOnlyList<DeliveryView>> ListAsync(string endpointId, int max, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            "SELECT d.id, d.event_id, ev.type, ev.channel_id, d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.created_at, d.finished_at " +
            "FROM webhook_deliveries d JOIN webhook_events ev ON ev.id = d.event_id WHERE d.endpoint_id = @endpoint ORDER BY d.event_id DESC LIMIT @max",
            c =>
            {
                Sql.Add(c, "endpoint", endpointId);
                Sql.Add(c, "max", (long)max);
            }, r => new DeliveryView(r.GetString(0), r.GetString(1), r.GetString(2), Sql.NullableString(r, 3), r.GetString(4), r.GetInt32(5),
                Sql.Time(r, 6), r.IsDBNull(7) ? null : r.GetInt32(7), Sql.NullableString(r, 8), Sql.Time(r, 9), Sql.NullableTime(r, 10)),
            cancellationToken).ConfigureAwait(false);

    /// <summary>The delivery's attempts, oldest first.</summary>
    public async Task<IReadOnlyList<DeliveryAttempt>> AttemptsAsync(string deliveryId, CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database,
            "SELECT attempted_at, status_code, error, latency_ms, answer_head FROM webhook_attempts WHERE delivery_id = @id ORDER BY attempted_at, id",
            c => Sql.Add(c, "id", deliveryId),
            r => new DeliveryAttempt(Sql.Time(r, 0), r.IsDBNull(1) ? null : r.GetInt32(1), Sql.NullableString(r, 2), r.GetInt32(3), Sql.NullableString(r, 4)),
            cancellationToken).ConfigureAwait(false);

    /// <summary>The endpoint a delivery belongs to; null when there is no such delivery.</summary>
    public async Task<(string EndpointId, string State)?> FindAsync(string deliveryId, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, "SELECT endpoint_id, state FROM webhook_deliveries WHERE id = @id", c => Sql.Add(c, "id", deliveryId),
            r => (r.GetString(0), r.GetString(1)), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Sends a delivered or failed delivery again, from its first attempt; false when it is pending (or gone).</summary>
    public async Task<bool> RedeliverAsync(string deliveryId, DateTimeOffset now, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database,
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = @now, claimed_until = NULL, claim_id = NULL, " +
            "finished_at = NULL WHERE id = @id AND state <> 'pending'", c =>
            {
                Sql.Add(c, "id", deliveryId);
                Sql.Add(c, "now", Sql.Millis(now));
            }, cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>
    /// Deletes deliveries that finished before <paramref name="before"/> (their attempts with them), then the events made
    /// before it that no delivery needs any more. The rows deleted.
    /// </summary>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        int deliveries = await Sql.ExecuteAsync(database,
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < @before", c => Sql.Add(c, "before", Sql.Millis(before)),
            cancellationToken).ConfigureAwait(false);
        int events = await Sql.ExecuteAsync(database,
            "DELETE FROM webhook_events WHERE created_at < @before AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)",
            c => Sql.Add(c, "before", Sql.Millis(before)), cancellationToken).ConfigureAwait(false);
        return deliveries + events;
    }
}
