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

    public static string Milli3(long milli)
    {
        string sign = milli < 0 ? "-" : "";
        milli = Math.Abs(milli);
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{milli / 1000}.{milli % 1000:D3}");
    }

    /// <summary>Whole seconds rounded up: EXT-X-TARGETDURATION (RFC 8216 section 4.3.3.1).</summary>
    public static long CeilSeconds(long ticks, int timescale) => Math.Max(1, (ticks + timescale - 1) / timescale);

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
