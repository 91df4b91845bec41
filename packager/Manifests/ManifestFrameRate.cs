using Broadcast.Media;
using Broadcast.Media.Codecs;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// The frame rate a manifest declares: HLS FRAME-RATE (RFC 8216bis section 4.4.6.2, three decimals) and DASH @frameRate
/// (ISO/IEC 23009-1 FrameRateType: an integer or N/D). Players drop variants whose rate they cannot decode, so it must
/// be the rate of the frames themselves.
/// </summary>
/// <remarks>
/// The policy, in order:
/// <list type="number">
/// <item>The measure: frames over their media time (each segment's sample count over the sum of its decode
/// intervals). Nothing else is as sure: it is what the player will be fed.</item>
/// <item>A stated rate names it when it agrees with the measure within <see cref="AgreeTolerance"/>: first the
/// bitstream's own timing (<see cref="VideoTrack.BitstreamTiming"/>, the SPS VUI), then the track's nominal rate
/// (<see cref="VideoTrack.FrameRate"/>, which may be FLV onMetaData framerate). Its exact rational (30000/1001) beats a
/// measure of millisecond FLV timestamps (29.976), and it settles 29.97 against 30 when a dropped frame or a short
/// segment leaves the measure between the two. A stated rate is never taken against the measure, fixed_frame_rate_flag
/// or not: x264 writes its time base there (ffmpeg's <c>-enc_time_base 1:1000</c>, the transcoder's, declares 1000 fps
/// with the flag 0, and ffmpeg puts the same 1000 in the FLV metadata), and some encoders count time_scale in frames
/// where H.264 E.2.1 counts fields (half the rate).</item>
/// <item>Else the measure, snapped to the nearest standard rate within <see cref="SnapTolerance"/> (timestamp rounding
/// and a dropped frame must not turn 30 into 29.985), else the measure in thousandths.</item>
/// <item>Before any frame is measured, a fixed bitstream rate (the standard holds pictures to it) within
/// <see cref="MaxPlausible"/>; else none: the attribute is optional, a wrong one is not.</item>
/// </list>
/// So FLV metadata never overrides the measure, and it is no hint before the first frame either: manifests are first
/// written once a segment is measured, and the one case it would then decide is the wrong one (1000 on every rung).
/// </remarks>
internal static class ManifestFrameRate
{
    /// <summary>A stated rate within 2% of the measure is the same rate (24 and 25 differ by 4%).</summary>
    private const double AgreeTolerance = 0.02;

    /// <summary>A measure within 1.5% of a standard rate is that rate; the nearest wins (29.97 and 30 are 0.1% apart).</summary>
    private const double SnapTolerance = 0.015;

    private const double MaxPlausible = 300;

    private static readonly FrameRate[] StandardRates =
    [
        new(15, 1), new(24000, 1001), new(24, 1), new(25, 1), new(30000, 1001), new(30, 1), new(48, 1), new(50, 1),
        new(60000, 1001), new(60, 1), new(100, 1), new(120, 1),
    ];

    /// <summary>The rate to declare for <paramref name="samples"/> frames lasting <paramref name="ticks"/>, or null.</summary>
    public static FrameRate? Choose(VideoTrack? track, long samples, long ticks, int timescale)
    {
        var declared = track?.BitstreamTiming;
        if (samples <= 0 || ticks <= 0 || timescale <= 0)
            return declared is { Fixed: true } d && Fps(d.Rate) is > 0 and <= MaxPlausible ? d.Rate : null;
        double measured = (double)samples * timescale / ticks;
        if (declared is not null && Near(Fps(declared.Rate), measured, AgreeTolerance)) return declared.Rate;
        if (track?.FrameRate is { Denominator: > 0 } nominal && Near(Fps(nominal), measured, AgreeTolerance)) return nominal;
        FrameRate? best = null;
        foreach (var rate in StandardRates)
        {
            if (Near(Fps(rate), measured, SnapTolerance) && (best is null || Math.Abs(Fps(rate) - measured) < Math.Abs(Fps(best.Value) - measured)))
                best = rate;
        }
        if (best is not null) return best;
        long milli = (long)Math.Round((decimal)samples * 1000 * timescale / ticks, MidpointRounding.AwayFromZero);
        return milli > 0 && milli <= int.MaxValue ? Reduce(milli, 1000) : null;
    }

    /// <summary>Chooses for the frames of <paramref name="entries"/> (one DASH Period's).</summary>
    public static FrameRate? Choose(VideoTrack? track, IReadOnlyList<TimelineEntry> entries)
    {
        long samples = 0, ticks = 0;
        foreach (var e in entries)
        {
            samples += e.Segment.SampleCount;
            ticks += e.Duration;
        }
        return Choose(track, samples, ticks, entries.Count > 0 ? entries[0].Segment.Timescale : 0);
    }

    /// <summary>FRAME-RATE in thousandths, rounded half away from zero (29.970 for 30000/1001).</summary>
    public static long Milli(FrameRate rate) =>
        (long)Math.Round((decimal)rate.Numerator * 1000 / rate.Denominator, MidpointRounding.AwayFromZero);

    /// <summary>@frameRate: "30" or "30000/1001".</summary>
    public static string Dash(FrameRate rate) =>
        rate.Denominator == 1 ? ManifestFormat.Int(rate.Numerator) : $"{ManifestFormat.Int(rate.Numerator)}/{ManifestFormat.Int(rate.Denominator)}";

    /// <summary>
    /// Whether a master that declared <paramref name="declared"/> must be written again for <paramref name="now"/>: a rate
    /// found where none was declared, or one outside <see cref="SnapTolerance"/> of it (another standard rate, not the same
    /// one measured a little differently), so a source of uneven rate does not rewrite the master every segment.
    /// </summary>
    public static bool IsAnotherRate(FrameRate? now, FrameRate? declared)
    {
        if (now is not { Denominator: > 0 } n) return false;
        if (declared is not { Denominator: > 0 } d) return true;
        return !Near(Fps(n), Fps(d), SnapTolerance);
    }

    private static double Fps(FrameRate rate) => rate.Denominator > 0 ? (double)rate.Numerator / rate.Denominator : 0;

    private static bool Near(double a, double measured, double tolerance) => a > 0 && Math.Abs(a - measured) <= measured * tolerance;

    private static FrameRate Reduce(long numerator, long denominator)
    {
        long a = numerator, b = denominator;
        while (b != 0) (a, b) = (b, a % b);
        return new FrameRate((int)(numerator / a), (int)(denominator / a));
    }
}
