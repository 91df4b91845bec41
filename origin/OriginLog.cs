using Microsoft.Extensions.Logging;

namespace Broadcast.Origin;

/// <summary>Source-generated log messages of the origin; event ids are stable (dashboards filter on them).</summary>
internal static partial class OriginLog
{
    [LoggerMessage(EventId = 5001, Level = LogLevel.Debug, Message = "Rejected request path {RawTarget}: {Reason}")]
    public static partial void RejectedPath(ILogger logger, string rawTarget, string reason);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Segment store failed reading {Key}")]
    public static partial void StoreReadFailed(ILogger logger, string key, Exception exception);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug,
        Message = "Recent-object cache evicted {Key} ({Bytes} bytes) to stay within {Limit} bytes")]
    public static partial void CacheEvicted(ILogger logger, string key, long bytes, long limit);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Debug,
        Message = "Object {Key} of {Bytes} bytes is larger than the whole cache ({Limit} bytes); not cached")]
    public static partial void CacheObjectTooLarge(ILogger logger, string key, long bytes, long limit);

    [LoggerMessage(EventId = 5011, Level = LogLevel.Information,
        Message = "LL-HLS {Key}: the reload blocked for segment {Msn} part {Part} was answered after {WaitedMs} ms " +
            "(a part is due every Part Target: the packager or the store was late)")]
    public static partial void SlowBlockingReload(ILogger logger, string key, long msn, int? part, long waitedMs);

    [LoggerMessage(EventId = 5012, Level = LogLevel.Warning,
        Message = "LL-HLS {Key}: the reload blocked for segment {Msn} part {Part} timed out after {WaitedMs} ms (503)")]
    public static partial void BlockingReloadTimedOut(ILogger logger, string key, long msn, int? part, long waitedMs);

    [LoggerMessage(EventId = 5013, Level = LogLevel.Information, Message = "LL-HLS: the hinted part {Key} came after {WaitedMs} ms{Outcome}")]
    public static partial void SlowHintedPart(ILogger logger, string key, long waitedMs, string outcome);

    [LoggerMessage(EventId = 5014, Level = LogLevel.Information,
        Message = "LL-HLS {Key}: a reload asked for segment {Msn} part {Part}, further ahead than RFC 8216bis 6.2.5.2 allows of a playlist whose " +
            "next part is {NextMsn}.{NextPart} (400)")]
    public static partial void BlockingReloadTooFarAhead(ILogger logger, string key, long msn, int? part, long nextMsn, int nextPart);

    [LoggerMessage(EventId = 5021, Level = LogLevel.Warning,
        Message = "Steering: pathway {Pathway} is unhealthy after {Failures} failed probes (last: {Status}); players are steered off it")]
    public static partial void PathwayUnhealthy(ILogger logger, string pathway, int failures, string status);

    [LoggerMessage(EventId = 5022, Level = LogLevel.Information, Message = "Steering: pathway {Pathway} is healthy again")]
    public static partial void PathwayHealthy(ILogger logger, string pathway);

    [LoggerMessage(EventId = 5023, Level = LogLevel.Information,
        Message = "Steering: the operator set pathway {Pathway} to weight {Weight}, drained {Drained}")]
    public static partial void PathwayOverridden(ILogger logger, string pathway, int weight, bool drained);

    [LoggerMessage(EventId = 5024, Level = LogLevel.Warning,
        Message = "Steering: the operator's shared changes could not be read or written ({Reason}); this node keeps the ones it has")]
    public static partial void SteeringOverridesUnreadable(ILogger logger, string reason);

    [LoggerMessage(EventId = 5031, Level = LogLevel.Warning,
        Message = "ClearKey license: {Address} made {Refusals} malformed requests or requests for no key of the channel within a minute " +
            "(the last for {Channel}); its license requests are answered 429 for {Minutes} min")]
    public static partial void LicenseRequestsBlocked(ILogger logger, System.Net.IPAddress address, int refusals, string channel, int minutes);

    [LoggerMessage(EventId = 5032, Level = LogLevel.Warning,
        Message = "ClearKey license for {Channel}: the content keys could not be read ({Reason}); answered 503 (logged at most every 10 s)")]
    public static partial void LicenseKeysUnavailable(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 5041, Level = LogLevel.Information,
        Message = "Edge audience log: listening on {Endpoint} (UDP syslog) for the access logs of {Sources}")]
    public static partial void EdgeLogListening(ILogger logger, string endpoint, string sources);

    [LoggerMessage(EventId = 5042, Level = LogLevel.Warning,
        Message = "Edge audience log: a datagram from {Address}, which Origin:EdgeLogSources does not list, was dropped (logged once per address, " +
            "for the first 16 addresses)")]
    public static partial void EdgeLogSourceRefused(ILogger logger, System.Net.IPAddress address);

    [LoggerMessage(EventId = 5043, Level = LogLevel.Warning,
        Message = "Edge audience log: {Count} datagrams from {Address} were not lines of the broadcast_audience format ({Result}); dropped " +
            "(logged at most once a minute)")]
    public static partial void EdgeLogMalformed(ILogger logger, long count, System.Net.IPAddress address, string result);
}
