using Broadcast.Media;

namespace Broadcast.Packager.Live;

/// <summary>
/// Where one broadcast stands in time: the wall clock of a media time (EXT-X-PROGRAM-DATE-TIME), anchored when the first
/// frame arrived, and the leading rendition's newest frame, where an ad break without a splice time is placed.
/// Serialised by its <see cref="StreamPackager"/>.
/// </summary>
internal sealed class BroadcastClock
{
    private readonly TimeProvider _time;
    private DateTimeOffset? _anchorWall;
    private long _anchorMedia; // 90 kHz

    public BroadcastClock(TimeProvider time) => _time = time;

    /// <summary>The leading rendition's newest frame, in its track's timescale; <see cref="long.MinValue"/> before the first.</summary>
    public long LeaderLast { get; private set; } = long.MinValue;

    /// <summary>The leading rendition's track timescale.</summary>
    public int LeaderTimescale { get; private set; } = Timescales.Video;

    /// <summary>Takes the clock's anchor from the broadcast's first frame; later frames leave it.</summary>
    public void Anchor(MediaFrame frame)
    {
        if (_anchorWall is not null) return;
        _anchorWall = _time.GetUtcNow();
        _anchorMedia = Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Video);
    }

    public void NoteLeader(MediaFrame frame)
    {
        LeaderTimescale = frame.Track.Timescale;
        LeaderLast = Math.Max(LeaderLast, frame.Dts);
    }

    /// <summary>Wall clock of a media time: the TimeProvider's clock when the first frame arrived, plus media time since.</summary>
    public DateTimeOffset ProgramDateTime(long start, int timescale)
    {
        var wall = _anchorWall ?? _time.GetUtcNow();
        long media = Timescales.Rescale(start, timescale, Timescales.Video) - _anchorMedia;
        return wall + TimeSpan.FromTicks((long)((Int128)media * TimeSpan.TicksPerSecond / Timescales.Video));
    }
}
