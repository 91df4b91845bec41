using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>
/// Deletes chat older than <c>Chat:RetentionDays</c> once an hour (and at start), with expired time-outs; off when unset.
/// Every node may run it: the deletes are idempotent.
/// </summary>
public sealed class ChatRetention(IChatRepository repository, ChatOptions options, TimeProvider time, ILogger<ChatRetention> logger)
    : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromHours(1);

    /// <summary>One pass: what is older than the retention goes. Returns the rows deleted (0 when retention is off).</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        if (options.Retention is not { } keep) return 0;
        var deleted = await repository.DeleteOlderThanAsync(time.GetUtcNow() - keep, cancellationToken).ConfigureAwait(false);
        if (deleted > 0) ChatLog.RetentionDeleted(logger, deleted, keep.TotalDays);
        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Retention is null) return;
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException or TimeoutException)
            {
                ChatLog.RetentionFailed(logger, e.Message);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}
