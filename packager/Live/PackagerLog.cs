using Microsoft.Extensions.Logging;

namespace Broadcast.Packager.Live;

/// <summary>
/// The live packaging's log messages (event ids 4001-4040), written through <see cref="LivePackager"/>'s logger so
/// their category stays the packager's whichever type of the packaging logs them.
/// </summary>
internal static partial class PackagerLog
{
    [LoggerMessage(EventId = 4001, Level = LogLevel.Information,
        Message = "Packaging {Channel} as broadcast {BroadcastId} (video {Video}, audio {Audio}, recording {Recording})")]
    public static partial void LogStarted(this ILogger logger, string channel, string broadcastId, bool video, bool audio, bool recording);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Finished packaging {Channel} broadcast {BroadcastId}: {Segments} segments")]
    public static partial void LogFinished(this ILogger logger, string channel, string broadcastId, long segments);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Error, Message = "Packaging {Channel} failed")]
    public static partial void LogFailed(this ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 4055, Level = LogLevel.Information,
        Message = "{Channel}: the encoder sends its own ladder of {Tracks} video tracks; each is a rung, none is transcoded")]
    public static partial void LogEncoderLadder(this ILogger logger, string channel, int tracks);

    [LoggerMessage(EventId = 4056, Level = LogLevel.Information,
        Message = "{Channel}: the encoder sends alternate audio, each an audio rendition beside the default: {Renditions}")]
    public static partial void LogAlternateAudio(this ILogger logger, string channel, string renditions);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning,
        Message = "Transcoded renditions of {Channel} did not arrive in time; packaging without them")]
    public static partial void LogNoRenditions(this ILogger logger, string channel);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Information,
        Message = "{Channel}: passthrough off, the source's video is not packaged; video renditions {Renditions}")]
    public static partial void LogNoPassthrough(this ILogger logger, string channel, string renditions);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning,
        Message = "Rendition {Rendition} of {Channel} stopped while the stream goes on (shed by the transcoder); " +
            "removed from the master playlist and the MPD")]
    public static partial void LogRetired(this ILogger logger, string channel, string rendition);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Information,
        Message = "{Channel}: the encoder reconnected; broadcast {BroadcastId} continues after a discontinuity (join {Join})")]
    public static partial void LogJoined(this ILogger logger, string channel, string broadcastId, int join);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Information, Message = "{Channel}: low latency on, parts of {PartSeconds} s (LL-HLS, LL-DASH)")]
    public static partial void LogLowLatency(this ILogger logger, string channel, decimal partSeconds);

    [LoggerMessage(EventId = 4040, Level = LogLevel.Information,
        Message = "{Channel}: CTA-608/708 captions found in the video (A/53 SEI); broadcast {BroadcastId} declares them in the master playlist and " +
            "the MPD")]
    public static partial void LogCaptions(this ILogger logger, string channel, string broadcastId);

    [LoggerMessage(EventId = 4030, Level = LogLevel.Information,
        Message = "{Channel}: ad break {SpliceEventId} of {DurationMs} ms asked for ({Source}); it begins at the next segment boundary")]
    public static partial void LogBreakAsked(this ILogger logger, string channel, uint spliceEventId, long durationMs, string source);

    [LoggerMessage(EventId = 4031, Level = LogLevel.Warning,
        Message = "{Channel}: ad break {SpliceEventId} ({Source}) refused: another break is waiting or running, or the broadcast ended")]
    public static partial void LogBreakRefused(this ILogger logger, string channel, uint spliceEventId, string source);

    [LoggerMessage(EventId = 4032, Level = LogLevel.Information,
        Message = "{Channel}: ad break {SpliceEventId} begins with segment {Number} at {StartDate}")]
    public static partial void LogBreakStarted(this ILogger logger, string channel, uint spliceEventId, long number, DateTimeOffset startDate);

    [LoggerMessage(EventId = 4033, Level = LogLevel.Information,
        Message = "{Channel}: ad break {SpliceEventId} ends at segment {Number} after {DurationMs} ms")]
    public static partial void LogBreakEnded(this ILogger logger, string channel, uint spliceEventId, long number, long durationMs);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Stream name {Channel} cannot be a storage key; not packaged")]
    public static partial void LogInvalidName(this ILogger logger, string channel);

    [LoggerMessage(EventId = 4050, Level = LogLevel.Information,
        Message = "{Channel}: broadcast {BroadcastId} continues here after its node stopped, from segment {Number} (one discontinuity)")]
    public static partial void LogContinued(this ILogger logger, string channel, string broadcastId, long number);

    [LoggerMessage(EventId = 4051, Level = LogLevel.Warning,
        Message = "{Channel}: stored live state is malformed ({Reason}); a new broadcast starts")]
    public static partial void LogContinuationMalformed(this ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 4052, Level = LogLevel.Warning, Message = "{Channel}: stored live state could not be read; a new broadcast starts")]
    public static partial void LogContinuationUnreadable(this ILogger logger, Exception exception, string channel);

    [LoggerMessage(EventId = 4053, Level = LogLevel.Information,
        Message = "{Channel}: unfinished broadcast {BroadcastId} ended {SecondsAway} s ago, past the reconnect grace; a new broadcast starts")]
    public static partial void LogContinuationTooOld(this ILogger logger, string channel, string broadcastId, long secondsAway);

    [LoggerMessage(EventId = 4054, Level = LogLevel.Warning,
        Message = "{Channel}: the recording of broadcast {BroadcastId} has a gap: its journal chunk {Problem}")]
    public static partial void LogRecordingHistoryGap(this ILogger logger, string channel, string broadcastId, string problem);
}
