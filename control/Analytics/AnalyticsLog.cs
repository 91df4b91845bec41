using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Analytics;

internal static partial class AnalyticsLog
{
    [LoggerMessage(EventId = 7201, Level = LogLevel.Warning,
        Message = "Audience of broadcast {BroadcastId} (channel {Channel}): more than {Cap} viewers in one bucket on this node; the rest are counted as uncounted")]
    public static partial void OverCap(ILogger logger, string broadcastId, string channel, int cap);

    [LoggerMessage(EventId = 7202, Level = LogLevel.Warning, Message = "Audience sample not written: {Reason}")]
    public static partial void SampleFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7203, Level = LogLevel.Information, Message = "Audience retention deleted {Rows} rows older than {Days} days")]
    public static partial void Purged(ILogger logger, int rows, int days);

    [LoggerMessage(EventId = 7204, Level = LogLevel.Warning, Message = "Audience retention failed: {Reason}")]
    public static partial void PurgeFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7205, Level = LogLevel.Warning,
        Message = "Audience of bucket {Bucket} dropped ({Broadcasts} broadcasts, {Viewers} viewers): {Reason}")]
    public static partial void ForwardDropped(ILogger logger, long bucket, int broadcasts, int viewers, string reason);

    [LoggerMessage(EventId = 7206, Level = LogLevel.Debug, Message = "Audience of bucket {Bucket} not yet handed to the control node: {Reason}; tried again next bucket")]
    public static partial void ForwardDelayed(ILogger logger, long bucket, string reason);
}
