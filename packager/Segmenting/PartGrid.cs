using Broadcast.Media;

namespace Broadcast.Packager.Segmenting;

/// <summary>
/// Where the parts (LL-HLS partial segments, LL-DASH chunks) of a segment end: an even grid of cells from the segment's
/// start, the segment's target duration divided into a whole number of parts of about the configured part duration
/// (2 s at 0.333 s: six cells of 1/3 s). Each part ends at the frame boundary nearest its grid point, so every track
/// cuts at the same media times, and the final part of a segment is as long as the others. A segment that outlasts its
/// target (its keyframe came late, or keyframes come less often than segments) goes on in parts filled up to the
/// target: one frame late, the final part takes that frame instead of becoming a part of one frame.
/// <para>
/// Why the final part matters: RFC 8216bis 4.4.4.9 lets a segment's last part be short, but a player that is catching
/// up (it loads more than its look-up tolerance behind the playlist's edge) takes the next segment as soon as its buffer
/// end is within that tolerance of it: hls.js's findFragmentByPTS with maxFragLookUpTolerance = 0.25 s skips a final part
/// shorter than that, and the skipped 64–166 ms become a hole in the buffer, a stall and a permanently doubled latency.
/// With grid cells every part of a full segment lasts about a cell (0.32–0.36 s at 1/3 s).
/// </para>
/// </summary>
public readonly struct PartGrid
{
    private readonly long _segmentTicks;

    /// <param name="segmentTicks">The segment target duration, 90 kHz.</param>
    /// <param name="partTicks">The configured part duration, 90 kHz.</param>
    public PartGrid(long segmentTicks, long partTicks)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(segmentTicks, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(partTicks, 1);
        _segmentTicks = segmentTicks;
        Cells = (int)Math.Max(1, (segmentTicks + partTicks / 2) / partTicks);
    }

    /// <summary>Parts in a segment of exactly the target duration.</summary>
    public int Cells { get; }

    /// <summary>Duration of one cell, 90 kHz (rounded down).</summary>
    public long CellTicks => _segmentTicks / Cells;

    /// <summary>
    /// The declared Part Target Duration (EXT-X-PART-INF PART-TARGET, LL-DASH chunk duration) in milliseconds: a cell plus
    /// 10 %, rounded up, plus a millisecond for RTMP's rounded timestamps. A part ends at the frame boundary nearest its
    /// grid point, so it can be longer than a cell by up to one frame: an AAC frame (21–23 ms), a ninth video frame at
    /// 25 fps (0.36 s for a 1/3 s cell), or an eleventh at 30 fps when a keyframe comes a frame late (0.367 s). RFC 8216bis
    /// 4.4.4.9 wants every part at most the target and, except independent and final parts, at least 85 % of it: this
    /// keeps 15-frame AAC parts (0.32 s) and 8-frame 25 fps parts inside both bounds.
    /// </summary>
    public int TargetMilliseconds => (int)((_segmentTicks * 1100 + (long)Cells * Timescales.Video - 1) / ((long)Cells * Timescales.Video)) + 1;

    /// <summary><see cref="TargetMilliseconds"/> in 90 kHz ticks.</summary>
    public long TargetTicks => TargetMilliseconds * (long)(Timescales.Video / 1000);

    /// <summary>90 kHz time of grid point <paramref name="index"/> (the end of part index - 1) of a segment starting at
    /// <paramref name="segmentStart"/>.</summary>
    public long Point(long segmentStart, int index) => segmentStart + (long)index * _segmentTicks / Cells;

    /// <summary>
    /// Whether a frame at <paramref name="time"/> lasting about <paramref name="frameDuration"/> starts a new part after
    /// grid point <paramref name="point"/>: it does when it begins in the later half of the frame before the point or
    /// after it, so the cut falls on the frame boundary nearest the point. Same timescale for all three.
    /// </summary>
    public static bool StartsAfter(long time, long frameDuration, long point) => time + frameDuration / 2 >= point;
}
