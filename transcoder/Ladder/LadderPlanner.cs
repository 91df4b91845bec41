using Broadcast.Media;

namespace Broadcast.Transcoder.Ladder;

/// <summary>A rung as it will be encoded for one source: exact output size, bitrate, and its priority (0 = highest).</summary>
public sealed record PlannedRung(string Name, int Width, int Height, long VideoBitrate);

/// <summary>
/// The ladder for one source. <see cref="Passthrough"/> says the source itself is served as rendition <c>source</c>;
/// <see cref="Rungs"/> are the transcoded renditions, highest first (shedding drops from the end).
/// </summary>
public sealed record PlannedLadder(bool Passthrough, IReadOnlyList<PlannedRung> Rungs)
{
    public bool NeedsTranscoder => Rungs.Count > 0;
}

/// <summary>Per-channel ladder override (the control plane implements it later). Null: use the configured ladder.</summary>
public interface ILadderOverride
{
    IReadOnlyList<LadderRung>? LadderFor(LiveStream stream);
}

/// <summary>
/// Plans the ladder for a source: never upscale, keep the aspect ratio, even dimensions, and measure "height" on the
/// short side so a portrait 1080x1920 source gets 720x... rungs named like its landscape twin.
/// </summary>
public static class LadderPlanner
{
    public static PlannedLadder Plan(int sourceWidth, int sourceHeight, Codec sourceCodec, IReadOnlyList<LadderRung> ladder, bool passthrough)
    {
        ArgumentNullException.ThrowIfNull(ladder);
        bool canPass = passthrough && sourceCodec is Codec.H264 or Codec.H265;
        if (sourceWidth <= 0 || sourceHeight <= 0) return new PlannedLadder(canPass, []);
        bool portrait = sourceHeight > sourceWidth;
        int shortSide = Math.Min(sourceWidth, sourceHeight);
        int longSide = Math.Max(sourceWidth, sourceHeight);
        var rungs = new List<PlannedRung>();
        var ordered = ladder.OrderByDescending(r => r.Height).ToList();
        // Without passthrough the top rung must still exist: the smallest configured rung at or above the source
        // is encoded at the source's own size (never above it). With passthrough the source stands for all of them.
        var clampToSource = canPass ? null : ordered.LastOrDefault(r => r.Height >= shortSide);
        foreach (var rung in ordered)
        {
            if (rung.Height >= shortSide && !ReferenceEquals(rung, clampToSource)) continue;
            int s = Math.Min(rung.Height, shortSide) & ~1;
            var planned = portrait
                ? new PlannedRung(rung.Name, s, EvenLongSide(longSide, shortSide, s), rung.VideoBitrate)
                : new PlannedRung(rung.Name, EvenLongSide(longSide, shortSide, s), s, rung.VideoBitrate);
            if (rungs.Any(r => r.Width == planned.Width && r.Height == planned.Height)) continue;
            rungs.Add(planned);
        }
        return new PlannedLadder(canPass, rungs);
    }

    /// <summary>The long side for short side <paramref name="s"/>, keeping the aspect ratio, rounded to the nearest even number,
    /// never above the source.</summary>
    public static int EvenLongSide(int longSide, int shortSide, int s)
    {
        // Nearest even: round (long * s / short) / 2 to the nearest integer, then double. Integer only.
        long half = ((long)longSide * s + shortSide) / (2L * shortSide); // round(long*s/short / 2)
        int even = (int)Math.Max(2, half * 2);
        return Math.Min(even, longSide & ~1);
    }
}
