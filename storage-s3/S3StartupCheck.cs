using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.Storage.S3;

/// <summary>
/// The bucket checked (and made, where allowed) before the node serves: registered as a node's first hosted service, it stops
/// the start with a message naming the bucket, endpoint or credentials before the node accepts a publish it could not store.
/// Its log ids (9121, 9122) are older than this project's range and kept: operators filter on them.
/// </summary>
public sealed partial class S3StartupCheck(S3SegmentStore store, ILogger<S3StartupCheck> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.EnsureBucketAsync(cancellationToken).ConfigureAwait(false);
            LogReady(logger, store.Bucket);
        }
        catch (S3StoreUnavailableException e)
        {
            LogFailed(logger, e.Message);
            throw;
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 9121, Level = LogLevel.Information, Message = "S3 segment store ready: bucket {Bucket}")]
    private static partial void LogReady(ILogger logger, string bucket);

    [LoggerMessage(EventId = 9122, Level = LogLevel.Critical, Message = "Start-up failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
