using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// Runs <see cref="WebhookDispatcher"/> on every node with the database: a pass when an event is appended on this node,
/// else every <see cref="PollInterval"/> (events appended on other nodes, retries coming due, leases of dead nodes running
/// out). Several nodes run it at once; the claim keeps them from sending the same delivery together. Once an hour it
/// prunes what was finished more than <see cref="Retention"/> ago.
/// </summary>
public sealed partial class WebhookDeliveryWorker(WebhookDispatcher dispatcher, SqlWebhookDeliveries deliveries, WebhookOutbox outbox,
    TimeProvider time, ILogger<WebhookDeliveryWorker> logger) : BackgroundService
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>How long delivered and failed deliveries (and their events and attempts) are kept to be looked at or redelivered.</summary>
    public static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    private static readonly TimeSpan PruneInterval = TimeSpan.FromHours(1);
    private static readonly TimeSpan ErrorPause = TimeSpan.FromSeconds(5);

    private readonly SemaphoreSlim _wake = new(0, 1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        outbox.Appended += Wake;
        try
        {
            var nextPrune = time.GetUtcNow();
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    if (time.GetUtcNow() >= nextPrune)
                    {
                        int pruned = await deliveries.PruneAsync(time.GetUtcNow() - Retention, stoppingToken).ConfigureAwait(false);
                        if (pruned > 0) LogPruned(pruned, (int)Retention.TotalDays);
                        nextPrune = time.GetUtcNow() + PruneInterval;
                    }

                    // A full batch: more may be due at once.
                    if (await dispatcher.RunOnceAsync(stoppingToken).ConfigureAwait(false) >= WebhookDispatcher.ClaimBatch) continue;
                    await _wake.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
                {
                    // The database is away for a moment: nothing is lost, the deliveries wait in it.
                    LogPassFailed(e);
                    await Task.Delay(ErrorPause, time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            outbox.Appended -= Wake;
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Another appender woke it first.
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3839, Level = LogLevel.Information, Message = "Webhooks: pruned {Rows} deliveries and events finished more than {Days} days ago")]
    private partial void LogPruned(int rows, int days);

    [LoggerMessage(EventId = 3840, Level = LogLevel.Warning, Message = "Webhook delivery pass failed; the next one retries")]
    private partial void LogPassFailed(Exception exception);
}
