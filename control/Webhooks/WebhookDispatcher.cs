using System.Diagnostics;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Control.Security;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// One pass of delivery: claims the due deliveries (<see cref="SqlWebhookDeliveries.ClaimAsync"/>), sends each as a
/// Standard Webhooks request (<c>webhook-id</c>, <c>webhook-timestamp</c>, <c>webhook-signature</c>, the stored body)
/// through <see cref="OutboundHttp"/> (the outbound policy's addresses only, no redirects, <see cref="Timeout"/> in all),
/// reads at most <see cref="AnswerHeadBytes"/> of the answer, and records the attempt: a 2xx delivers, anything else
/// retries on the <see cref="WebhookBackoff"/> schedule (<c>Webhooks:RetryDelays</c>). Deliveries of one endpoint and channel go out one at a time, in
/// order; different queues go out together.
/// </summary>
public sealed partial class WebhookDispatcher : IDisposable
{
    /// <summary>The longest one attempt may take, connection included.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>A claim's lease: well past <see cref="Timeout"/>, so only a dead (or stalled) node's claims run out.</summary>
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(60);

    /// <summary>How long an endpoint's attempts may all fail before it is disabled.</summary>
    public static readonly TimeSpan DisableAfter = TimeSpan.FromHours(24);

    /// <summary>What is kept of an answer's body.</summary>
    public const int AnswerHeadBytes = 1024;

    /// <summary>Deliveries claimed per pass.</summary>
    public const int ClaimBatch = 32;

    private readonly SqlWebhookDeliveries _deliveries;
    private readonly WebhookEndpointService _endpoints;
    private readonly TimeProvider _time;
    private readonly WebhookBackoff _backoff;
    private readonly ILogger<WebhookDispatcher> _logger;
    private readonly HttpClient _http;

    public WebhookDispatcher(SqlWebhookDeliveries deliveries, WebhookEndpointService endpoints, OutboundGuard guard, TimeProvider time,
        WebhookBackoff backoff, ILogger<WebhookDispatcher> logger)
    {
        _backoff = backoff;
        _deliveries = deliveries;
        _endpoints = endpoints;
        _time = time;
        _logger = logger;
        _http = new HttpClient(OutboundHttp.CreateHandler(guard, Timeout)) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Broadcast-Webhooks", "1"));
    }

    /// <summary>Claims and sends what is due now; the number of attempts made.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var claimed = await _deliveries.ClaimAsync(_time.GetUtcNow(), Lease, ClaimBatch, cancellationToken).ConfigureAwait(false);
        if (claimed.Count == 0) return 0;
        await Task.WhenAll(claimed.Select(d => DeliverAsync(d, cancellationToken))).ConfigureAwait(false);
        return claimed.Count;
    }

    private async Task DeliverAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        var attempt = await SendAsync(delivery, cancellationToken).ConfigureAwait(false);
        int made = delivery.Attempts + 1;
        var retryAfter = attempt.Succeeded ? null : _backoff.DelayAfter(made, Random.Shared.NextDouble());
        var verdict = await _deliveries.CompleteAsync(delivery, attempt, retryAfter, DisableAfter, CancellationToken.None).ConfigureAwait(false);
        if (attempt.Succeeded) return;
        string outcome = attempt.Status is { } status ? $"answered {status}" : attempt.Error ?? "failed";
        if (retryAfter is { } wait) LogRetry(delivery.EventId, delivery.EndpointId, made, outcome, (int)wait.TotalSeconds);
        else LogGaveUp(delivery.EventId, delivery.EndpointId, made, outcome);
        if (verdict.Disabled) LogDisabled(delivery.EndpointId, verdict.FailingSince ?? attempt.At, (int)DisableAfter.TotalHours);
    }

    internal async Task<DeliveryAttempt> SendAsync(ClaimedDelivery delivery, CancellationToken cancellationToken)
    {
        var at = _time.GetUtcNow();
        long started = Stopwatch.GetTimestamp();
        string secret;
        try
        {
            secret = _endpoints.SecretOf(delivery.EndpointId, delivery.SecretCiphertext);
        }
        catch (CryptographicException)
        {
            return new DeliveryAttempt(at, null, "the endpoint's secret does not decrypt under this server secret; rotate it", 0, null);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        try
        {
            long timestamp = at.ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url) { Content = new StringContent(delivery.Payload, Encoding.UTF8) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            request.Headers.Add("webhook-id", delivery.EventId);
            request.Headers.Add("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Headers.Add("webhook-signature", WebhookSignature.Sign(secret, delivery.EventId, timestamp, delivery.Payload));
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
            string? head = await HeadAsync(response.Content, deadline.Token).ConfigureAwait(false);
            return new DeliveryAttempt(at, (int)response.StatusCode, null, Elapsed(started), head);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeliveryAttempt(at, null, $"no answer within {(int)Timeout.TotalSeconds} s", Elapsed(started), null);
        }
        catch (HttpRequestException e)
        {
            return new DeliveryAttempt(at, null, OneLine(e.Message), Elapsed(started), null);
        }
    }

    /// <summary>The first <see cref="AnswerHeadBytes"/> of the body as text; the rest is not read. Null when empty or unreadable.</summary>
    private static async Task<string?> HeadAsync(HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new byte[AnswerHeadBytes];
                int filled = 0, read;
                while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false)) > 0)
                    filled += read;
                return filled == 0 ? null : Encoding.UTF8.GetString(buffer, 0, filled);
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            return null;
        }
    }

    private static int Elapsed(long started) => (int)Math.Min(int.MaxValue, Stopwatch.GetElapsedTime(started).TotalMilliseconds);

    private static string OneLine(string text)
    {
        var line = new StringBuilder(Math.Min(text.Length, 300));
        foreach (char c in text.AsSpan(0, Math.Min(text.Length, 300))) line.Append(char.IsControl(c) ? ' ' : c);
        return line.ToString().Trim();
    }

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 3836, Level = LogLevel.Information,
        Message = "Webhook {EventId} to endpoint {EndpointId}: attempt {Attempt} {Outcome}; next try in {RetryInSeconds} s")]
    private partial void LogRetry(string eventId, string endpointId, int attempt, string outcome, int retryInSeconds);

    [LoggerMessage(EventId = 3837, Level = LogLevel.Warning,
        Message = "Webhook {EventId} to endpoint {EndpointId} failed for good after {Attempts} attempts (the last {Outcome}); redeliver it from the dashboard or the API")]
    private partial void LogGaveUp(string eventId, string endpointId, int attempts, string outcome);

    [LoggerMessage(EventId = 3838, Level = LogLevel.Error,
        Message = "Webhook endpoint {EndpointId} disabled: every delivery attempt since {FailingSince:u} failed ({Hours} h). Its pending deliveries wait; enable it again once its receiver works")]
    private partial void LogDisabled(string endpointId, DateTimeOffset failingSince, int hours);
}
