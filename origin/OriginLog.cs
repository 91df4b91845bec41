using Microsoft.Extensions.Logging;

namespace Broadcast.Origin;

/// <summary>Source-generated log messages of the origin; event ids are stable (dashboards filter on them).</summary>
internal static partial class OriginLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Debug, Message = "Rejected request path {RawTarget}: {Reason}")]
    public static partial void RejectedPath(ILogger logger, string rawTarget, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Segment store failed reading {Key}")]
    public static partial void StoreReadFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug, Message = "Recent-object cache evicted {Key} ({Bytes} bytes) to stay within {Limit} bytes")]
    public static partial void CacheEvicted(ILogger logger, string key, long bytes, long limit);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Debug, Message = "Object {Key} of {Bytes} bytes is larger than the whole cache ({Limit} bytes); not cached")]
    public static partial void CacheObjectTooLarge(ILogger logger, string key, long bytes, long limit);
}
