using System.Security.Cryptography;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Webhooks;

/// <summary>What an endpoint is asked to be; on an update, a null field keeps its value.</summary>
public sealed record WebhookEndpointSpec(string? Url, string? Description, IReadOnlyList<string>? EventTypes, bool? Enabled);

/// <summary>An endpoint with its signing secret: only in the answer that made or rotated it.</summary>
public sealed record IssuedWebhookEndpoint(WebhookEndpoint Endpoint, string Secret);

/// <summary>
/// The platform's webhook endpoints: made, listed, changed, deleted, their secrets rotated. A URL is checked against the
/// outbound policy when saved (and again by <see cref="OutboundHttp"/> at every connection). The signing secret is made
/// here (<see cref="WebhookSignature.NewSecret"/>), shown once, and kept encrypted under the server secret with the
/// endpoint's id as associated data, as stream keys are: the deliveries need it back to sign, so a hash would not do.
/// </summary>
public sealed partial class WebhookEndpointService(
    SqlWebhookEndpointRepository endpoints,
    StreamKeyProtector protector,
    OutboundGuard guard,
    TimeProvider time,
    ILogger<WebhookEndpointService> logger)
{
    /// <summary>Endpoints in all: the table is keyed by what admins send, so it has a cap.</summary>
    public const int MaxEndpoints = 50;

    public const int MaxUrlLength = 2000;
    public const int MaxDescriptionLength = 200;
    public const string IdPrefix = "ep_";

    public async Task<IssuedWebhookEndpoint> CreateAsync(WebhookEndpointSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (url, description, types) = await ValidateAsync(spec, required: true, cancellationToken).ConfigureAwait(false);
        var now = Persistence.Sql.Millis(time.GetUtcNow());
        string id = IdPrefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        string secret = WebhookSignature.NewSecret();
        var endpoint = new WebhookEndpoint(id, url!, description ?? "", types ?? [], spec.Enabled ?? true, Protect(id, secret), now, now, null, null);
        if (!await endpoints.TryInsertAsync(endpoint, MaxEndpoints, cancellationToken).ConfigureAwait(false))
            throw new ConflictException($"There are {MaxEndpoints} webhook endpoints already; delete one first.");
        LogCreated(logger, id, url!, endpoint.EventTypes.Count == 0 ? "all" : string.Join(' ', endpoint.EventTypes));
        return new IssuedWebhookEndpoint(endpoint, secret);
    }

    public Task<IReadOnlyList<WebhookEndpoint>> ListAsync(CancellationToken cancellationToken = default) => endpoints.ListAsync(cancellationToken);

    public Task<WebhookEndpoint?> GetAsync(string id, CancellationToken cancellationToken = default) => endpoints.GetAsync(id, cancellationToken);

    /// <summary>Changes the fields <paramref name="spec"/> sets; null when no such endpoint.</summary>
    public async Task<WebhookEndpoint?> UpdateAsync(string id, WebhookEndpointSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var (url, description, types) = await ValidateAsync(spec, required: false, cancellationToken).ConfigureAwait(false);
        if (await endpoints.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } endpoint) return null;
        var changed = endpoint with
        {
            Url = url ?? endpoint.Url,
            Description = description ?? endpoint.Description,
            EventTypes = types ?? endpoint.EventTypes,
            Enabled = spec.Enabled ?? endpoint.Enabled,
            UpdatedAt = Persistence.Sql.Millis(time.GetUtcNow()),
        };
        if (!await endpoints.UpdateAsync(changed, cancellationToken).ConfigureAwait(false)) return null;
        LogUpdated(logger, id, changed.Enabled);
        return await endpoints.GetAsync(id, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A new secret: deliveries signed from now on (retries included) use it. Null when no such endpoint.</summary>
    public async Task<IssuedWebhookEndpoint?> RotateSecretAsync(string id, CancellationToken cancellationToken = default)
    {
        string secret = WebhookSignature.NewSecret();
        if (!await endpoints.ReplaceSecretAsync(id, Protect(id, secret), time.GetUtcNow(), cancellationToken).ConfigureAwait(false)) return null;
        LogRotated(logger, id);
        return await endpoints.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } endpoint ? new IssuedWebhookEndpoint(endpoint, secret) : null;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        bool deleted = await endpoints.DeleteAsync(id, cancellationToken).ConfigureAwait(false);
        if (deleted) LogDeleted(logger, id);
        return deleted;
    }

    /// <summary>The endpoint's secret, decrypted; throws <see cref="CryptographicException"/> under another server secret.</summary>
    public string SecretOf(string endpointId, byte[] secretCiphertext) => protector.Unprotect(AssociatedData(endpointId), secretCiphertext);

    private byte[] Protect(string id, string secret) => protector.Protect(AssociatedData(id), secret);

    // Not a channel id: a ciphertext copied from a channel row (or another endpoint's) fails to decrypt here.
    private static string AssociatedData(string endpointId) => "webhook-endpoint:" + endpointId;

    private async Task<(string? Url, string? Description, IReadOnlyList<string>? Types)> ValidateAsync(WebhookEndpointSpec spec, bool required,
        CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>(StringComparer.Ordinal);
        string? url = spec.Url?.Trim();
        if (url is null)
        {
            if (required) errors["url"] = ["A URL (http or https) is required."];
        }
        else if (url.Length > MaxUrlLength || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            errors["url"] = [$"An absolute http or https URL of at most {MaxUrlLength} characters is required."];
        }
        else if (OutboundHttp.RefusalOf(guard, uri) is { } refusal)
        {
            errors["url"] = [$"The url is refused by the outbound policy: {refusal}"];
        }
        else if (await guard.RefusalAsync(uri, cancellationToken).ConfigureAwait(false) is { } why)
        {
            errors["url"] = [$"The url {why}"];
        }

        string? description = spec.Description?.Trim();
        if (description is not null && (description.Length > MaxDescriptionLength || description.Any(char.IsControl)))
            errors["description"] = [$"A description is at most {MaxDescriptionLength} characters, without control characters."];

        List<string>? types = null;
        if (spec.EventTypes is not null)
        {
            types = [.. spec.EventTypes.Select(t => t?.Trim() ?? "").Distinct(StringComparer.Ordinal)];
            if (types.FirstOrDefault(t => !WebhookEventTypes.IsKnown(t)) is { } unknown)
                errors["eventTypes"] = [$"'{(unknown.Length > 40 ? unknown[..40] + "…" : unknown)}' is not an event type; the types are {string.Join(", ", WebhookEventTypes.All)} (none: all)."];
        }

        if (errors.Count > 0) throw new ValidationFailedException(errors);
        return (url, description, types);
    }

    [LoggerMessage(EventId = 3830, Level = LogLevel.Information, Message = "Webhook endpoint {EndpointId} created for {Url}, event types {Types}")]
    private static partial void LogCreated(ILogger logger, string endpointId, string url, string types);

    [LoggerMessage(EventId = 3831, Level = LogLevel.Information, Message = "Webhook endpoint {EndpointId} updated (enabled: {Enabled})")]
    private static partial void LogUpdated(ILogger logger, string endpointId, bool enabled);

    [LoggerMessage(EventId = 3832, Level = LogLevel.Information, Message = "Webhook endpoint {EndpointId}: signing secret rotated")]
    private static partial void LogRotated(ILogger logger, string endpointId);

    [LoggerMessage(EventId = 3833, Level = LogLevel.Information, Message = "Webhook endpoint {EndpointId} deleted with its deliveries")]
    private static partial void LogDeleted(ILogger logger, string endpointId);
}
