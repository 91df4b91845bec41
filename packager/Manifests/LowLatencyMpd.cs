using System.Globalization;
using System.Text;

namespace Broadcast.Packager.Manifests;

/// <summary>What a live MPD gains with low latency (DASH-IF IOP low-latency modes, ISO/IEC 23009-1 5.3.9.5.3, 5.12).</summary>
/// <param name="SegmentSeconds">Target segment duration: the segment being written is announced with it.</param>
/// <param name="PartMilliseconds">Part (CMAF chunk) duration: a segment can be fetched once its first chunk exists.</param>
/// <param name="AvailabilityStartTime">The MPD's availabilityStartTime: the wall clock of presentation time 0 of the first Period.</param>
/// <param name="TargetLatencyMilliseconds">ServiceDescription Latency@target.</param>
public sealed record LowLatencyMpdSettings(int SegmentSeconds, int PartMilliseconds, DateTimeOffset AvailabilityStartTime,
    int TargetLatencyMilliseconds);

/// <summary>
/// Turns a live MPD written by <see cref="DashManifestWriter"/> into low-latency DASH: each SegmentTemplate gets
/// availabilityTimeOffset (segment minus one chunk) with availabilityTimeComplete="false" (the origin sends the
/// segment being written chunk by chunk), each SegmentTimeline ends with the segment being written and the next, each
/// Representation gets a ProducerReferenceTime tying its media time to the wall clock, and the MPD a
/// ServiceDescription with the latency target. Works on the finished text, so the writer's Periods stay as they are.
/// </summary>
public static class LowLatencyMpd
{
    public static string Decorate(string mpd, LowLatencyMpdSettings settings)
    {
        ArgumentNullException.ThrowIfNull(mpd);
        ArgumentNullException.ThrowIfNull(settings);
        var lines = mpd.Split('\n');
        var sb = new StringBuilder(mpd.Length + 1024);
        long ato = settings.SegmentSeconds * 1000L - settings.PartMilliseconds;
        bool described = false;
        long periodStartMs = 0;
        int timescale = 1;
        long lastEnd = -1;
        foreach (var raw in lines)
        {
            string line = raw;
            string trimmed = line.TrimStart();
            if (trimmed.StartsWith("<Period ", StringComparison.Ordinal))
            {
                if (!described)
                {
                    sb.Append("  <ServiceDescription id=\"0\">\n    <Latency referenceId=\"0\" target=\"")
                        .Append(ManifestFormat.Int(settings.TargetLatencyMilliseconds))
                      .Append("\" min=\"").Append(ManifestFormat.Int(settings.TargetLatencyMilliseconds / 2))
                      .Append("\" max=\"").Append(ManifestFormat.Int(settings.TargetLatencyMilliseconds * 2)).Append("\"/>\n")
                      .Append("    <PlaybackRate min=\"0.96\" max=\"1.04\"/>\n  </ServiceDescription>\n");
                    described = true;
                }
                periodStartMs = Attribute(trimmed, "start") is { } start ? DurationMs(start) : 0;
            }
            else if (trimmed.StartsWith("<SegmentTemplate ", StringComparison.Ordinal))
            {
                timescale = Attribute(trimmed, "timescale") is { } ts && int.TryParse(ts, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
                    && v > 0 ? v : 1;
                string pto = Attribute(trimmed, "presentationTimeOffset") ?? "0";
                string indent = line[..(line.Length - trimmed.Length)];
                // Section 5.12: which presentation time was produced at which wall-clock instant.
                sb.Append(indent).Append("<ProducerReferenceTime id=\"0\" type=\"encoder\" wallClockTime=\"")
                  .Append(ManifestFormat.DateTime(settings.AvailabilityStartTime.AddMilliseconds(periodStartMs)))
                  .Append("\" presentationTime=\"").Append(pto).Append("\"/>\n");
                line = line.Replace("<SegmentTemplate ", string.Create(CultureInfo.InvariantCulture,
                    $"<SegmentTemplate availabilityTimeOffset=\"{ato / 1000}.{ato % 1000:D3}\" availabilityTimeComplete=\"false\" "),
                    StringComparison.Ordinal);
                lastEnd = -1;
            }
            else if (trimmed.StartsWith("<S ", StringComparison.Ordinal))
            {
                long t = Attribute(trimmed, "t") is { } tv && long.TryParse(tv, NumberStyles.None, CultureInfo.InvariantCulture, out long tt) ? tt
                    : lastEnd;
                long d = Attribute(trimmed, "d") is { } dv && long.TryParse(dv, NumberStyles.None, CultureInfo.InvariantCulture, out long dd) ? dd
                    : 0;
                long r = Attribute(trimmed, "r") is { } rv && long.TryParse(rv, NumberStyles.None, CultureInfo.InvariantCulture, out long rr) ? rr
                    : 0;
                lastEnd = t + d * (r + 1);
            }
            else if (trimmed.StartsWith("</SegmentTimeline>", StringComparison.Ordinal) && lastEnd >= 0)
            {
                // The segment being written and the one after it, at the target duration; the next update gives their
                // real ones. Announcing the next one too keeps a player whose MPD is a little old (a CDN's max-age)
                // fetching on time: it asks once that segment's first chunk is due, and the origin holds the request
                // until the chunk exists.
                string indent = line[..(line.Length - trimmed.Length)];
                sb.Append(indent).Append("  <S t=\"").Append(ManifestFormat.Int(lastEnd)).Append("\" d=\"")
                  .Append(ManifestFormat.Int((long)settings.SegmentSeconds * timescale)).Append("\" r=\"1\"/>\n");
            }
            sb.Append(line);
            sb.Append('\n');
        }
        sb.Length--; // the split left one line more than there were newlines
        return sb.ToString();
    }

    private static string? Attribute(string element, string name)
    {
        string key = " " + name + "=\"";
        int i = element.IndexOf(key, StringComparison.Ordinal);
        if (i < 0) return null;
        int start = i + key.Length;
        int end = element.IndexOf('"', start);
        return end < 0 ? null : element[start..end];
    }

    /// <summary>An xs:duration as written by <see cref="ManifestFormat.XsDurationMs"/> (PT12.345S), in milliseconds.</summary>
    private static long DurationMs(string value)
    {
        if (!value.StartsWith("PT", StringComparison.Ordinal) || !value.EndsWith('S')) return 0;
        return decimal.TryParse(value.AsSpan(2, value.Length - 3), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var s)
            ? (long)(s * 1000) : 0;
    }
}
