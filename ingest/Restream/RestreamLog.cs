using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Restream;

/// <summary>
/// Restream log events, ids 1400-1419, stable for alerting. Destinations appear by id and server URL; the stream
/// key is a secret and never logged.
/// </summary>
internal static partial class RestreamLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Restream {StreamName} → {DestinationUrl} ({DestinationId}) live")]
    public static partial void Live(ILogger logger, string streamName, string destinationUrl, string destinationId);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning,
        Message = "Restream {StreamName} → {DestinationUrl} ({DestinationId}) failed: {Reason}; retry {Attempt} in {DelayMs} ms")]
    public static partial void Failed(ILogger logger, string streamName, string destinationUrl, string destinationId, string reason, int attempt,
        long delayMs);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information,
        Message = "Restream {StreamName} → {DestinationUrl} ({DestinationId}) stopped ({BytesSent} bytes sent)")]
    public static partial void Stopped(ILogger logger, string streamName, string destinationUrl, string destinationId, long bytesSent);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Warning, Message = "Restream {StreamName}: destinations could not be read: {Reason}")]
    public static partial void SourceFailed(ILogger logger, string streamName, string reason);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "Restream destination {DestinationId} has an invalid URL: {Reason}")]
    public static partial void InvalidDestination(ILogger logger, string destinationId, string reason);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Error, Message = "Restream {StreamName} → {DestinationUrl} ({DestinationId}) crashed")]
    public static partial void Crashed(ILogger logger, Exception exception, string streamName, string destinationUrl, string destinationId);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning,
        Message = "Restream {StreamName} → {DestinationUrl} ({DestinationId}) refused by the outbound policy: {Reason}")]
    public static partial void Refused(ILogger logger, string streamName, string destinationUrl, string destinationId, string reason);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Debug, Message = "Restream {StreamName} ({DestinationId}): the destination said {Detail}")]
    public static partial void FailureDetail(ILogger logger, string streamName, string destinationId, string detail);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Information,
        Message = "Restream {StreamName} ({DestinationId}): multitrack, {VideoTracks} video and {AudioTracks} audio tracks beside the default ones")]
    public static partial void Multitrack(ILogger logger, string streamName, string destinationId, int videoTracks, int audioTracks);
}
