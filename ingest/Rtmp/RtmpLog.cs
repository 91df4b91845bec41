using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// RTMP ingest log events, ids 1000-1099, stable for alerting. Connection lines name the connection id, remote
/// endpoint, app, stream name and channel id — never the stream key, which is a secret.
/// </summary>
internal static partial class RtmpLog
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information, Message = "RTMP ingest listening on {EndPoint}")]
    public static partial void Listening(ILogger logger, string endPoint);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "RTMP connection {ConnectionId} accepted from {RemoteEndPoint}")]
    public static partial void Accepted(ILogger logger, long connectionId, string remoteEndPoint);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning,
        Message = "RTMP connection from {RemoteEndPoint} refused: {MaxConnections} connections already open")]
    public static partial void TooManyConnections(ILogger logger, string remoteEndPoint, int maxConnections);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Debug,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} handshake done ({DigestScheme})")]
    public static partial void HandshakeDone(ILogger logger, long connectionId, string remoteEndPoint, HandshakeDigestScheme digestScheme);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed: {Reason} (app {App}, channel {ChannelId})")]
    public static partial void ProtocolError(ILogger logger, long connectionId, string remoteEndPoint, string reason, string? app, string? channelId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} publishing {StreamName} (app {App}, channel {ChannelId})")]
    public static partial void PublishStarted(ILogger logger, long connectionId, string remoteEndPoint, string app, string streamName,
        string? channelId);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} publish refused with NetStream.Publish.BadName: {Reason} (app {App}, " +
            "channel {ChannelId})")]
    public static partial void PublishBadName(ILogger logger, long connectionId, string remoteEndPoint, string reason, string? app,
        string? channelId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} stopped publishing {StreamName} (app {App}, channel {ChannelId})")]
    public static partial void PublishEnded(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? app,
        string? channelId);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed: the server ended the broadcast of {StreamName} " +
            "(channel {ChannelId})")]
    public static partial void EndedByServer(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Debug,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed after {BytesIn} bytes")]
    public static partial void Closed(ILogger logger, long connectionId, string remoteEndPoint, long bytesIn);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Debug, Message = "RTMP connection {ConnectionId} ignored message type {TypeId}")]
    public static partial void IgnoredMessage(ILogger logger, long connectionId, byte typeId);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Error,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} failed (app {App}, channel {ChannelId})")]
    public static partial void Failed(ILogger logger, Exception exception, long connectionId, string remoteEndPoint, string? app, string? channelId);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Error, Message = "RTMP accept loop failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1040, Level = LogLevel.Warning,
        Message = "RTMP connection from {RemoteAddress} refused: {Open} connections already open from this address (Rtmp:MaxConnectionsPerIp); " +
            "{Refused} refused so far")]
    public static partial void TooManyConnectionsFromAddress(ILogger logger, string remoteAddress, int open, long refused);

    [LoggerMessage(EventId = 1041, Level = LogLevel.Warning,
        Message = "RTMP connection from {RemoteAddress} refused: more than {Rate} handshakes per second (burst {Burst}) from this address; " +
            "{Refused} refused so far")]
    public static partial void HandshakeRateExceeded(ILogger logger, string remoteAddress, double rate, int burst, long refused);

    [LoggerMessage(EventId = 1042, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed as a slow client: {Reason}")]
    public static partial void SlowClient(ILogger logger, long connectionId, string remoteEndPoint, string reason);

    [LoggerMessage(EventId = 1043, Level = LogLevel.Warning,
        Message = "RTMP publishes from {RemoteAddress} blocked for {BlockSeconds} s: {Failures} refused stream keys within {WindowSeconds} s")]
    public static partial void AddressBlocked(ILogger logger, string remoteAddress, int failures, int windowSeconds, int blockSeconds);

    [LoggerMessage(EventId = 1044, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} publish refused: address blocked after {Failures} refused stream keys " +
            "({RemainingSeconds} s left)")]
    public static partial void PublishBlocked(ILogger logger, long connectionId, string remoteEndPoint, int failures, int remainingSeconds);

    [LoggerMessage(EventId = 1045, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed: memory budget exceeded: {Reason} (state {State}, app {App}, " +
            "channel {ChannelId})")]
    public static partial void MemoryBudgetExceeded(ILogger logger, long connectionId, string remoteEndPoint, string reason,
        RtmpConnectionState state, string? app, string? channelId);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Debug, Message = "RTMP connection {ConnectionId} ignored command {Command}")]
    public static partial void IgnoredCommand(ILogger logger, long connectionId, string command);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} dropped while publishing {StreamName} (channel {ChannelId}); " +
            "waiting {GraceSeconds} s for the encoder to reconnect")]
    public static partial void PublishInterrupted(ILogger logger, long connectionId, string remoteEndPoint, string streamName, int graceSeconds,
        string? channelId);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} stopped publishing {StreamName} inside its scheduled event " +
            "(channel {ChannelId}); the broadcast waits up to {HoldSeconds} s for the encoder to start again")]
    public static partial void PublishHeldAfterStop(ILogger logger, long connectionId, string remoteEndPoint, string streamName, int holdSeconds,
        string? channelId);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint}: no encoder reconnected to {StreamName} (app {App}, " +
            "channel {ChannelId}) within the grace; the publish ended")]
    public static partial void ReconnectGraceExpired(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string app,
        string? channelId);

    [LoggerMessage(EventId = 1052, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} took over {StreamName} " +
            "(channel {ChannelId}) from a connection that had sent nothing for longer than Ingest:TakeoverSilenceMilliseconds; " +
            "the broadcast continues")]
    public static partial void PublishTookOver(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1053, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} closed: it had gone silent and a new connection with its key took " +
            "{StreamName} over (channel {ChannelId})")]
    public static partial void PublishTakenOver(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1054, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} publish of {StreamName} refused: another encoder is sending to this key " +
            "(last frame {SilentMs} ms ago; channel {ChannelId})")]
    public static partial void PublishRefusedStillSending(ILogger logger, long connectionId, string remoteEndPoint, string streamName, int silentMs,
        string? channelId);

    [LoggerMessage(EventId = 1055, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint}: {Track} of {StreamName} dropped: {Reason} " +
            "(channel {ChannelId}); the other tracks go on")]
    public static partial void TrackRefused(ILogger logger, long connectionId, string remoteEndPoint, string track, string streamName,
        string reason, string? channelId);

    [LoggerMessage(EventId = 1056, Level = LogLevel.Information,
        Message = "RTMP reads plain connections on {Threads} receive loops (coalescing window {CoalescingMs} ms)")]
    public static partial void ReceiveLoopsStarted(ILogger logger, int threads, int coalescingMs);

    [LoggerMessage(EventId = 1057, Level = LogLevel.Error,
        Message = "RTMP receive loop {Loop} failed; its {Connections} connections end and new ones go to the other loops")]
    public static partial void ReceiveLoopFailed(ILogger logger, Exception exception, int loop, int connections);

    [LoggerMessage(EventId = 1058, Level = LogLevel.Debug,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint} reset: {UnsentBytes} bytes it never took are dropped instead of waiting behind a FIN")]
    public static partial void StalledPeerReset(ILogger logger, long connectionId, string remoteEndPoint, int unsentBytes);

    [LoggerMessage(EventId = 1050, Level = LogLevel.Information,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint}: cue point on {StreamName}, " +
            "ad break {SpliceEventId} of {DurationMs} ms in {DelayMs} ms (packaged: {Packaged}, channel {ChannelId})")]
    public static partial void CuePoint(ILogger logger, long connectionId, string remoteEndPoint, string streamName, uint spliceEventId,
        long durationMs, long delayMs, bool packaged, string? channelId);

    [LoggerMessage(EventId = 1051, Level = LogLevel.Warning,
        Message = "RTMP connection {ConnectionId} from {RemoteEndPoint}: cue point on {StreamName} ignored: {Reason} (channel {ChannelId})")]
    public static partial void CuePointRefused(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string reason,
        string? channelId);
}
