using System.Data.Common;
using Broadcast.Control.Persistence;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// A webhook endpoint as stored: its secret only encrypted (<see cref="SecretCiphertext"/>). <see cref="EventTypes"/> empty
/// means every type. <see cref="FailingSince"/>: when the first of the attempts failing since the last success failed.
/// </summary>
public sealed record WebhookEndpoint(
    string Id,
    string Url,
    string Description,
    IReadOnlyList<string> EventTypes,
    bool Enabled,
    byte[] SecretCiphertext,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? FailingSince,
    string? DisabledReason)
{
    public bool Subscribes(string type) => EventTypes.Count == 0 || EventTypes.Contains(type, StringComparer.Ordinal);
}

public sealed class SqlWebhookEndpointRepository(ControlDatabase database)
{
    private const string Columns = "id, url, description, event_types, enabled, secret_ciphertext, created_at, updated_at, failing_since, disabled_reason";

    /// <summary>Inserts unless <paramref name="max"/> endpoints exist already (checked in the same statement).</summary>
    public async Task<bool> TryInsertAsync(WebhookEndpoint endpoint, int max, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return await Sql.ExecuteAsync(database,
            "INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, secret_ciphertext, created_at, updated_at) " +
            "SELECT @id, @url, @description, @event_types, @enabled, @secret, @created_at, @updated_at " +
            "WHERE (SELECT COUNT(*) FROM webhook_endpoints) < @max",
            c =>
            {
                BindSettings(c, endpoint);
                Sql.Add(c, "secret", endpoint.SecretCiphertext);
                Sql.Add(c, "created_at", Sql.Millis(endpoint.CreatedAt));
                Sql.Add(c, "updated_at", Sql.Millis(endpoint.UpdatedAt));
                Sql.Add(c, "max", (long)max);
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<WebhookEndpoint?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        var rows = await Sql.QueryAsync(database, $"SELECT {Columns} FROM webhook_endpoints WHERE id = @id", c => Sql.Add(c, "id", id), Read,
            cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <summary>Oldest first.</summary>
    public async Task<IReadOnlyList<WebhookEndpoint>> ListAsync(CancellationToken cancellationToken = default)
        => await Sql.QueryAsync(database, $"SELECT {Columns} FROM webhook_endpoints ORDER BY created_at, id", _ => { }, Read, cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Replaces the settings; enabling an endpoint forgets why it was disabled and how long it had been failing.</summary>
    public async Task<bool> UpdateAsync(WebhookEndpoint endpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return await Sql.ExecuteAsync(database,
            "UPDATE webhook_endpoints SET url = @url, description = @description, event_types = @event_types, enabled = @enabled, " +
            "updated_at = @updated_at, " +
            "failing_since = CASE WHEN @enabled = @true AND enabled <> @true THEN NULL ELSE failing_since END, " +
            "disabled_reason = CASE WHEN @enabled = @true THEN NULL ELSE disabled_reason END WHERE id = @id",
            c =>
            {
                BindSettings(c, endpoint);
                Sql.Add(c, "true", true);
                Sql.Add(c, "updated_at", Sql.Millis(endpoint.UpdatedAt));
            }, cancellationToken).ConfigureAwait(false) == 1;
    }

    public async Task<bool> ReplaceSecretAsync(string id, byte[] secretCiphertext, DateTimeOffset at, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "UPDATE webhook_endpoints SET secret_ciphertext = @secret, updated_at = @at WHERE id = @id", c =>
        {
            Sql.Add(c, "id", id);
            Sql.Add(c, "secret", secretCiphertext);
            Sql.Add(c, "at", Sql.Millis(at));
        }, cancellationToken).ConfigureAwait(false) == 1;

    /// <summary>Deletes the endpoint with its deliveries and their attempts.</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
        => await Sql.ExecuteAsync(database, "DELETE FROM webhook_endpoints WHERE id = @id", c => Sql.Add(c, "id", id), cancellationToken)
            .ConfigureAwait(false) == 1;

    internal static WebhookEndpoint Read(DbDataReader r) => new(
        r.GetString(0),
        r.GetString(1),
        r.GetString(2),
        r.GetString(3).Split(' ', StringSplitOptions.RemoveEmptyEntries),
        r.GetBoolean(4),
        r.GetFieldValue<byte[]>(5),
        Sql.Time(r, 6),
        Sql.Time(r, 7),
        Sql.NullableTime(r, 8),
        Sql.NullableString(r, 9));

    internal const string SelectColumns = Columns;

    // The columns an endpoint's create and its update both write.
    private static void BindSettings(DbCommand command, WebhookEndpoint endpoint)
    {
        Sql.Add(command, "id", endpoint.Id);
        Sql.Add(command, "url", endpoint.Url);
        Sql.Add(command, "description", endpoint.Description);
        Sql.Add(command, "event_types", string.Join(' ', endpoint.EventTypes));
        Sql.Add(command, "enabled", endpoint.Enabled);
    }
}
