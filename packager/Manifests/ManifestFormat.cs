using System.Globalization;

namespace Broadcast.Packager.Manifests;

/// <summary>Number and time formatting shared by the HLS and DASH writers: invariant culture, integer arithmetic.</summary>
internal static class ManifestFormat
{
    /// <summary>Seconds with exactly three decimals (EXTINF, FRAME-RATE), rounded to the nearest millisecond.</summary>
    public static string Seconds3(long ticks, int timescale)
    {
        long ms = (long)Math.Round((decimal)ticks * 1000 / timescale, MidpointRounding.AwayFromZero);
        return Milli3(ms);
    }

    /// <summary>Seconds with five decimals (EXT-X-PART DURATION: a part is a fraction of a second), rounded to 10 µs.</summary>
    public static string Seconds5(long ticks, int timescale)
    {
        long units = (long)Math.Round((decimal)ticks * 100_000 / timescale, MidpointRounding.AwayFromZero);
        return string.Create(CultureInfo.InvariantCulture, $"{units / 100_000}.{units % 100_000:D5}");
    }

    public static string Milli3(long milli)
    {
        string sign = milli < 0 ? "-" : "";
        milli = Math.Abs(milli);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{milli / 1000}.{milli % 1000:D3}");
    }

    /// <summary>
    /// EXT-X-TARGETDURATION for a longest segment of <paramref name="ticks"/>: RFC 8216 section 4.3.3.1 wants every
    /// EXTINF, "when rounded to the nearest integer", to be at most the target, so it is the longest EXTINF as
    /// written (milliseconds) rounded to the nearest second, halves up; a 2.048 s audio segment gives 2, not 3.
    /// At least 1.
    /// </summary>
    public static long TargetSeconds(long ticks, int timescale)
    {
        long ms = (long)Math.Round((decimal)ticks * 1000 / timescale, MidpointRounding.AwayFromZero);
        return Math.Max(1, (ms + 500) / 1000);
    }

    /// <summary>xs:duration with millisecond precision, e.g. PT2S, PT12.345S.</summary>
    public static string XsDuration(long ticks, int timescale)
    {
        long ms = (long)Math.Round((decimal)ticks * 1000 / timescale, MidpointRounding.AwayFromZero);
        return XsDurationMs(ms);
    }

    public static string XsDurationMs(long ms) =>
        ms % 1000 == 0
            ? string.Create(CultureInfo.InvariantCulture, $"PT{ms / 1000}S")
            : string.Create(CultureInfo.InvariantCulture, $"PT{ms / 1000}.{ms % 1000:D3}S");

    /// <summary>ISO 8601 UTC with milliseconds (EXT-X-PROGRAM-DATE-TIME, MPD dates).</summary>
    public static string DateTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string Int(long v) => v.ToString(CultureInfo.InvariantCulture);
}
