using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Srt;

/// <summary>
/// SRT ingest log events, ids 1100-1119, stable for alerting. Lines name the connection id, the caller's endpoint,
/// the stream name and channel id — never the stream key, which is a secret.
/// </summary>
internal static partial class SrtLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information,
        Message = "SRT ingest listening on UDP {EndPoint} (latency {LatencyMs} ms, encryption {Encryption})")]
    public static partial void Listening(ILogger logger, string endPoint, int latencyMs, string encryption);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning,
        Message = "SRT caller {RemoteEndPoint} refused at the handshake (reject code {RejectCode}): {Reason}")]
    public static partial void Refused(ILogger logger, string remoteEndPoint, int rejectCode, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} publishing {StreamName} (app {App}, channel {ChannelId})")]
    public static partial void PublishStarted(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string app,
        string? channelId);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} closed: {Reason} (channel {ChannelId})")]
    public static partial void ProtocolError(ILogger logger, long connectionId, string remoteEndPoint, string reason, string? channelId);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} dropped while publishing {StreamName} (channel {ChannelId}); " +
            "waiting {GraceSeconds} s for the encoder to reconnect")]
    public static partial void PublishInterrupted(ILogger logger, long connectionId, string remoteEndPoint, string streamName, int graceSeconds,
        string? channelId);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} stopped publishing {StreamName} (channel {ChannelId})")]
    public static partial void PublishEnded(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint}: no encoder reconnected to {StreamName} " +
            "(channel {ChannelId}) within the grace; the publish ended")]
    public static partial void ReconnectGraceExpired(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Error,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} failed (channel {ChannelId})")]
    public static partial void Failed(ILogger logger, Exception exception, long connectionId, string remoteEndPoint, string? channelId);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Warning, Message = "SRT caller {RemoteEndPoint} refused after the handshake: {Reason}")]
    public static partial void RefusedAfterHandshake(ILogger logger, string remoteEndPoint, string reason);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} closed: the server ended the broadcast of {StreamName} (channel {ChannelId})")]
    public static partial void EndedByServer(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Debug,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} ended after {BytesIn} bytes: {Reason}")]
    public static partial void Closed(ILogger logger, long connectionId, string remoteEndPoint, long bytesIn, string reason);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Error, Message = "SRT receive loop failed")]
    public static partial void ReceiveLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning,
        Message = "SRT publishes from {RemoteAddress} blocked for {BlockSeconds} s: {Failures} refused stream keys within {WindowSeconds} s")]
    public static partial void AddressBlocked(ILogger logger, string remoteAddress, int failures, int windowSeconds, int blockSeconds);

    // A warning: the publisher sent something viewers will not get (a language, a commentary), which it may not know.
    [LoggerMessage(EventId = 1113, Level = LogLevel.Warning,
        Message = "SRT connection {ConnectionId} ({StreamName}): the program's streams {Ignored} are left out; audio ingested: {Audio} (only " +
            "H.264/HEVC video, up to Srt:MaxAudioTracks ADTS AAC streams or one Opus audio, and one SCTE-35 PID are ingested)")]
    public static partial void IgnoredStreams(ILogger logger, long connectionId, string streamName, string audio, string ignored);

    [LoggerMessage(EventId = 1123, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} ({StreamName}): audio {Audio} is the default; {Alternates} are alternate audio")]
    public static partial void AlternateAudio(ILogger logger, long connectionId, string streamName, string audio, string alternates);

    [LoggerMessage(EventId = 1120, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} took over {StreamName} " +
            "(channel {ChannelId}) from a connection that had sent nothing for longer than Ingest:TakeoverSilenceMilliseconds; " +
            "the broadcast continues")]
    public static partial void TookOver(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1121, Level = LogLevel.Warning,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint} closed: it had gone silent and a new connection with its key took " +
            "{StreamName} over (channel {ChannelId})")]
    public static partial void TakenOver(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string? channelId);

    [LoggerMessage(EventId = 1122, Level = LogLevel.Warning,
        Message = "SRT caller {RemoteEndPoint} refused: another encoder is sending to {StreamName} (last frame {SilentMs} ms ago; " +
            "channel {ChannelId})")]
    public static partial void RefusedStillSending(ILogger logger, string remoteEndPoint, string streamName, int silentMs, string? channelId);

    [LoggerMessage(EventId = 1114, Level = LogLevel.Error, Message = "SRT caller {RemoteEndPoint}: the publish authorizer failed")]
    public static partial void AuthorizerFailed(ILogger logger, Exception exception, string remoteEndPoint);

    [LoggerMessage(EventId = 1115, Level = LogLevel.Information,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint}: SCTE-35 splice_insert on {StreamName}, " +
            "ad break {SpliceEventId} of {DurationMs} ms in {DelayMs} ms (packaged: {Packaged}, channel {ChannelId})")]
    public static partial void SpliceCue(ILogger logger, long connectionId, string remoteEndPoint, string streamName, uint spliceEventId,
        long durationMs, long delayMs, bool packaged, string? channelId);

    [LoggerMessage(EventId = 1116, Level = LogLevel.Warning,
        Message = "SRT connection {ConnectionId} from {RemoteEndPoint}: SCTE-35 on {StreamName} ignored: {Reason} (channel {ChannelId}); " +
            "further ones like it are not logged")]
    public static partial void SpliceIgnored(ILogger logger, long connectionId, string remoteEndPoint, string streamName, string reason,
        string? channelId);
}
