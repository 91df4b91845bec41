using Broadcast.Media;
using Broadcast.Media.Scte35;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Srt;

/// <summary>
/// SCTE-35 from one SRT connection's splice PID, turned into ad breaks asked of its stream's packager. Kept apart from
/// <see cref="SrtServer"/>, whose receive loop only moves bytes, because what a section means (a break, a repeat of the
/// last one, a flood, a kind not acted on) is remembered per connection. Touched by the receive thread only.
/// </summary>
internal sealed class SrtSpliceCues
{
    // The kinds of splice sections not acted on that were logged already (one line each per connection).
    private readonly HashSet<(SpliceCommandType?, bool?, bool?)> _ignoredKinds = [];
    private CueFloodGuard _flood; // a mutable struct: never readonly
    private uint? _lastEventId;

    /// <summary>
    /// SCTE-35 from the program's splice PID: a break is asked of the stream's packager at its splice time, under the same
    /// one-per-second rule as an RTMP cue point (<see cref="CueFloodGuard"/>). Encoders repeat a splice_insert until its
    /// splice time (SCTE 67), so one naming the event of the last break asked is the same break. Sections not acted on
    /// (returns, cancels, time_signal, splice_null heartbeats, malformed ones) are logged once per kind per connection.
    /// </summary>
    public void Handle(SrtConnection publisher, ILogger logger)
    {
        var stream = publisher.Stream;
        string? channelId = publisher.Decision.ChannelId;
        foreach (var signal in publisher.Demuxer.SpliceSignals)
        {
            if (signal.Cue is not { } cue)
            {
                var kind = (signal.Section?.CommandType, signal.Section?.Insert?.Cancel, signal.Section?.Insert?.OutOfNetwork);
                if (_ignoredKinds.Add(kind))
                    SrtLog.SpliceIgnored(logger, publisher.Id, publisher.Remote, stream.Name, signal.Refusal!, channelId);
                continue;
            }
            if (cue.EventId == _lastEventId) continue;
            long positionMs = Timescales.Rescale(stream.LastVideoTime ?? 0, Timescales.Video, Timescales.Milliseconds);
            if (!_flood.Admit(positionMs, out bool firstDrop))
            {
                if (firstDrop)
                    SrtLog.SpliceIgnored(logger, publisher.Id, publisher.Remote, stream.Name,
                        "splice_inserts closer than one second apart are dropped", channelId);
                continue;
            }
            _lastEventId = cue.EventId;
            var asked = cue with { Source = "srt" };
            bool packaged = stream.InsertCue(asked);
            long delayMs = asked.SpliceTime is long at
                ? Timescales.Rescale(at - (stream.LastVideoTime ?? at), Timescales.Video, Timescales.Milliseconds)
                : 0;
            long durationMs = Timescales.Rescale(cue.Duration, Timescales.Video, Timescales.Milliseconds);
            SrtLog.SpliceCue(logger, publisher.Id, publisher.Remote, stream.Name, cue.EventId, durationMs, delayMs, packaged, channelId);
        }
    }
}
