using System.Text;
using Broadcast.Media;

namespace Broadcast.Packager.Manifests;

/// <summary>
/// How the manifests mark <see cref="AdBreak"/>s. HLS (RFC 8216 §4.3.2.7, §4.4.5.1.4): EXT-X-DATERANGE with the
/// splice_info_section in SCTE35-OUT before the break's first segment and, with the same ID and START-DATE, SCTE35-IN and
/// DURATION before the first segment after it; plus the EXT-X-CUE-OUT / EXT-X-CUE-OUT-CONT / EXT-X-CUE-IN tags older
/// ad-insertion servers read. Each marked segment gets its EXT-X-PROGRAM-DATE-TIME, which DATERANGE needs (§4.3.2.7) and
/// which ties START-DATE to the segment. DASH (SCTE 214-1): one EventStream per Period with scheme
/// <c>urn:scte:scte35:2014:xml+bin</c>, an Event per break carrying the binary section in base64.
/// </summary>
internal static class AdBreakTags
{
    public const string DashScheme = "urn:scte:scte35:2014:xml+bin";
    private const string Scte35Namespace = "http://www.scte.org/schemas/35/2016";

    /// <summary>
    /// The tags to write before segment <paramref name="number"/> of a media playlist (the previous segment listed in the
    /// rendition being <paramref name="previousNumber"/>): a rendition whose numbers skip one still marks the edge at its
    /// first segment past it. Returns whether anything was written (the segment then needs its PROGRAM-DATE-TIME).
    /// </summary>
    public static bool AppendHls(StringBuilder sb, IReadOnlyList<AdBreak>? breaks, long number, long? previousNumber, DateTimeOffset programDateTime)
    {
        if (breaks is null) return false;
        bool wrote = false;
        foreach (var b in breaks)
        {
            string planned = ManifestFormat.Seconds3(b.PlannedDuration, b.Timescale);
            if (Crosses(b.StartNumber, number, previousNumber))
            {
                sb.Append("#EXT-X-DATERANGE:ID=\"").Append(b.Id).Append("\",START-DATE=\"").Append(ManifestFormat.DateTime(b.StartDate))
                  .Append("\",PLANNED-DURATION=").Append(planned).Append(",SCTE35-OUT=0x").Append(Convert.ToHexString(b.OutSection.Span))
                  .Append('\n');
                sb.Append("#EXT-X-CUE-OUT:DURATION=").Append(planned).Append('\n');
                wrote = true;
            }
            else if (b.EndNumber is { } end && Crosses(end, number, previousNumber))
            {
                AppendReturn(sb, b);
                wrote = true;
            }
            else if (number > b.StartNumber && (b.EndNumber is null || number < b.EndNumber))
            {
                // Inside the break: where the break is, for a server that joins after the CUE-OUT slid out of the window.
                long elapsedMs = (long)(programDateTime - b.StartDate).TotalMilliseconds;
                sb.Append("#EXT-X-CUE-OUT-CONT:ElapsedTime=").Append(ManifestFormat.Milli3(Math.Max(0, elapsedMs)))
                  .Append(",Duration=").Append(planned).Append('\n');
            }
        }
        return wrote;
    }

    /// <summary>
    /// An ended playlist (EXT-X-ENDLIST, VOD) whose last listed segment is <paramref name="lastNumber"/>: the return of a
    /// break that ended with the broadcast (<see cref="AdBreakSchedule.CloseAtEnd"/>) has no segment to stand before, so its
    /// DATERANGE (a playlist tag, placed anywhere: RFC 8216bis §4.4.5.1) and the CUE-IN follow the last segment.
    /// </summary>
    public static void AppendHlsEnd(StringBuilder sb, IReadOnlyList<AdBreak>? breaks, long lastNumber)
    {
        if (breaks is null) return;
        foreach (var b in breaks)
        {
            if (b.EndNumber is { } end && end > lastNumber && b.StartNumber <= lastNumber) AppendReturn(sb, b);
        }
    }

    /// <summary>The return of an ended break: its DATERANGE again with the real DURATION and SCTE35-IN, and the CUE-IN.</summary>
    private static void AppendReturn(StringBuilder sb, AdBreak b)
    {
        sb.Append("#EXT-X-DATERANGE:ID=\"").Append(b.Id).Append("\",START-DATE=\"").Append(ManifestFormat.DateTime(b.StartDate))
          .Append("\",PLANNED-DURATION=").Append(ManifestFormat.Seconds3(b.PlannedDuration, b.Timescale))
          .Append(",DURATION=").Append(ManifestFormat.Seconds3(b.Duration!.Value, b.Timescale))
          .Append(",SCTE35-IN=0x").Append(Convert.ToHexString(b.InSection.Span)).Append('\n');
        sb.Append("#EXT-X-CUE-IN\n");
    }

    /// <summary>
    /// The Period's EventStream: breaks that start within segment numbers [<paramref name="from"/>, <paramref name="to"/>),
    /// at presentation times relative to the Period's start (<paramref name="periodStart"/> in <paramref name="timescale"/>
    /// ticks, the instant every AdaptationSet's presentationTimeOffset names).
    /// </summary>
    public static void AppendDash(StringBuilder sb, IReadOnlyList<AdBreak>? breaks, long from, long to, long periodStart, int timescale)
    {
        if (breaks is null) return;
        var inPeriod = breaks.Where(b => b.StartNumber >= from && b.StartNumber < to).ToList();
        if (inPeriod.Count == 0) return;
        sb.Append("    <EventStream schemeIdUri=\"").Append(DashScheme).Append("\" timescale=\"").Append(ManifestFormat.Int(timescale))
            .Append("\">\n");
        foreach (var b in inPeriod)
        {
            long at = Timescales.Rescale(b.StartPresentation, b.Timescale, timescale) - periodStart;
            long duration = Timescales.Rescale(b.Duration ?? b.PlannedDuration, b.Timescale, timescale);
            sb.Append("      <Event presentationTime=\"").Append(ManifestFormat.Int(Math.Max(0, at))).Append("\" duration=\"")
                .Append(ManifestFormat.Int(duration))
              .Append("\" id=\"").Append(ManifestFormat.Int(b.EventId)).Append("\">\n");
            sb.Append("        <scte35:Signal xmlns:scte35=\"").Append(Scte35Namespace).Append("\"><scte35:Binary>")
              .Append(Convert.ToBase64String(b.OutSection.Span)).Append("</scte35:Binary></scte35:Signal>\n");
            sb.Append("      </Event>\n");
        }
        sb.Append("    </EventStream>\n");
    }

    private static bool Crosses(long edge, long number, long? previousNumber) => number >= edge && (previousNumber is null || previousNumber < edge);
}
