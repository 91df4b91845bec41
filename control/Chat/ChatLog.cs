using Microsoft.Extensions.Logging;

namespace Broadcast.Control.Chat;

/// <summary>Chat log events, ids 7000–7099. Message text and addresses are never logged.</summary>
internal static partial class ChatLog
{
    [LoggerMessage(EventId = 7001, Level = LogLevel.Information,
        Message = "Chat settings of channel {ChannelId} changed: mode {Mode}, slow mode {SlowModeSeconds} s, links {Links}, {Words} blocked words")]
    public static partial void SettingsChanged(ILogger logger, string channelId, string mode, int slowModeSeconds, string links, int words);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information,
        Message = "Chat viewer {Author} ({Name}) on channel {ChannelId} {Kind} by {Moderator} until {Until}: {Reason}")]
    public static partial void Banned(ILogger logger, string author, string name, string channelId, string kind, string moderator, string until,
        string reason);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Chat ban {BanId} on channel {ChannelId} lifted by {Moderator}")]
    public static partial void Unbanned(ILogger logger, string banId, string channelId, string moderator);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Debug, Message = "Chat message on channel {ChannelId} refused: {Reason}")]
    public static partial void Refused(ILogger logger, string channelId, string reason);

    [LoggerMessage(EventId = 7019, Level = LogLevel.Information,
        Message = "Chat refused viewer {Author} on channel {ChannelId}: {Reason} ({NotLogged} earlier refusals of this connection " +
            "in the last {WindowSeconds} s not logged)")]
    public static partial void ConnectionRefused(ILogger logger, string author, string channelId, string reason, int notLogged, int windowSeconds);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Warning,
        Message = "Chat channel {ChannelId} is at its message cap ({PerSecond}/s); further messages are refused until it drains")]
    public static partial void ChannelCap(ILogger logger, string channelId, double perSecond);

    [LoggerMessage(EventId = 7006, Level = LogLevel.Information, Message = "Chat message {MessageId} on channel {ChannelId} {Action} by {Moderator}")]
    public static partial void Moderated(ILogger logger, string messageId, string channelId, string action, string moderator);

    [LoggerMessage(EventId = 7007, Level = LogLevel.Information, Message = "Chat retention deleted {Rows} rows older than {Days} days")]
    public static partial void RetentionDeleted(ILogger logger, int rows, double days);

    [LoggerMessage(EventId = 7008, Level = LogLevel.Warning, Message = "Chat retention pass failed ({Reason}); trying again in an hour")]
    public static partial void RetentionFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7010, Level = LogLevel.Information,
        Message = "Chat fan-out listening on PostgreSQL channel {Channel} (reconnected: {Reconnected})")]
    public static partial void Listening(ILogger logger, string channel, bool reconnected);

    [LoggerMessage(EventId = 7011, Level = LogLevel.Warning,
        Message = "Chat fan-out lost its PostgreSQL connection ({Reason}); viewers on other nodes miss chat until it is back, " +
            "reconnecting with backoff")]
    public static partial void FanoutLost(ILogger logger, string reason);

    [LoggerMessage(EventId = 7012, Level = LogLevel.Warning, Message = "Chat fan-out dropped a malformed notification ({Reason})")]
    public static partial void FanoutMalformed(ILogger logger, string reason);

    [LoggerMessage(EventId = 7018, Level = LogLevel.Warning,
        Message = "Chat fan-out could not send a {Method} event of channel {ChannelId} to other nodes: " +
            "{Bytes} bytes is past what its parts may carry")]
    public static partial void FanoutTooLarge(ILogger logger, string method, string channelId, int bytes);

    [LoggerMessage(EventId = 7013, Level = LogLevel.Warning,
        Message = "Chat connection refused: its address holds {Max} open connections (Chat:MaxConnectionsPerAddress)")]
    public static partial void AddressConnectionCap(ILogger logger, int max);

    [LoggerMessage(EventId = 7014, Level = LogLevel.Warning,
        Message = "Chat connection refused: this node holds {Max} open chat connections (Chat:MaxConnections)")]
    public static partial void ServerConnectionCap(ILogger logger, int max);

    [LoggerMessage(EventId = 7016, Level = LogLevel.Error,
        Message = "Chat delivery to {Group} failed ({Reason}); those events are lost for this node's viewers, later ones go on")]
    public static partial void DeliveryFailed(ILogger logger, string group, string reason);
}
