using System.Security;
using System.Text;
using Broadcast.Media;

namespace Broadcast.Packager.Manifests;

/// <summary>What one MPD needs beyond the timelines.</summary>
public sealed record MpdSettings(
    string BroadcastId,
    bool IsStatic,
    DateTimeOffset AvailabilityStartTime,
    DateTimeOffset PublishTime,
    int SegmentSeconds,
    int TimeShiftBufferSeconds,
    string UtcTimingUrl,
    long FirstNumber = 1,
    string PathPrefix = "",
    bool ClosedCaptions = false,
    IReadOnlyList<AdBreak>? Breaks = null,
    long? PresentationOrigin = null,
    int PeriodIdBase = 0,
    long? FirstPeriodStart = null,
    ManifestProtection? Protection = null);

/// <summary>
/// DASH MPD (ISO/IEC 23009-1) for the same CMAF files the HLS playlists name: SegmentTemplate with $Number$
/// and a SegmentTimeline per Representation, one video and one audio AdaptationSet, live profile plus CMAF.
/// A decoder-configuration change (new init segment) opens a new Period at that segment number: one
/// SegmentTemplate can only name one initialization segment (section 5.3.9.2). <see cref="MpdSettings.FirstNumber"/>
/// is the first segment number shown (the live window); earlier Periods with nothing shown are left out.
/// Retired video renditions (<see cref="RenditionTimeline.Retired"/>) get no Representation: on the next MPD
/// update the player's ABR only sees the Representations that still grow.
/// </summary>
public static class DashManifestWriter
{
    /// <param name="alternateAudio">The encoder's further audio tracks: each an AdaptationSet of its own beside the
    /// default's, with its language and an alternate Role (DASH-IF IOP 4.3, 3.9.4).</param>
    public static string Write(IReadOnlyList<RenditionTimeline> video, RenditionTimeline? audio, MpdSettings settings,
        IReadOnlyList<RenditionTimeline>? alternateAudio = null)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(settings);
        video = video.Where(v => !v.Retired).ToArray();
        RenditionTimeline[] audios = audio is null ? [] : [audio, .. alternateAudio ?? []];
        var all = new List<RenditionTimeline>(video);
        all.AddRange(audios);
        var leader = all.FirstOrDefault(t => t.Entries.Count > 0);
        var sb = new StringBuilder(2048);
        sb.Append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.Append("<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\"").Append(DashContentProtection.Namespace(settings.Protection))
          .Append(" profiles=\"urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019\"");
        sb.Append(" type=\"").Append(settings.IsStatic ? "static" : "dynamic").Append('"');

        int leaderScale = leader?.Timescale ?? 1;
        // Exact, in milliseconds rounded up: a 2.005 s audio segment must not claim a 3 s maximum.
        long longestMs = all.Count == 0 ? 0 : all.Max(t => (t.LongestDuration * 1000 + t.Timescale - 1) / t.Timescale);

        // Periods: segment numbers where any rendition switched to a new init segment, or resumed after numbers it has no
        // segment for (its track stopped while the picture went on). $Number$ with a SegmentTimeline numbers segments by
        // their place in it (ISO/IEC 23009-1 5.3.9.6) and cannot skip one: a new Period restarts the count at startNumber.
        var periodStarts = new SortedSet<long>();
        if (leader is not null) periodStarts.Add(leader.Entries[0].Number);
        foreach (var t in all)
            for (int i = 0; i < t.Entries.Count; i++)
                if (t.Entries[i].Segment.Discontinuity || (i > 0 && t.Entries[i].Number != t.Entries[i - 1].Number + 1))
                    periodStarts.Add(t.Entries[i].Number);
        var starts = periodStarts.ToList();

        // Which periods have something shown.
        var shown = new List<(long From, long To, int Index)>();
        for (int p = 0; p < starts.Count; p++)
        {
            long from = starts[p];
            long to = p + 1 < starts.Count ? starts[p + 1] : long.MaxValue;
            if (to > settings.FirstNumber) shown.Add((Math.Max(from, settings.FirstNumber), to, p));
        }

        // One presentation instant per Period, in the leader's timescale: the earliest presentation time (pts,
        // not dts: with B-frames the first picture comes two frames after its decode time) of the leader's first
        // segment there. Every AdaptationSet's presentationTimeOffset is that same instant rescaled to its own
        // timescale (ISO/IEC 23009-1 5.3.9.2; DASH-IF IOP 4.4.3.2: presentation time = (t - PTO) / timescale +
        // Period@start, the same instant for all tracks). Giving each track its own first t instead would shift
        // audio against video by however far apart the encoder started them.
        // Static (ended) presentations start at the first shown segment; dynamic ones keep Period@start fixed
        // across updates (section 5.3.2) and so measure from the broadcast's first segment.
        // A broadcast continued on another node holds only the window it restored: its origin and the Periods before
        // it come from the stored live state, so Period@start and Period@id stay what players already saw.
        long baseTime = settings.PresentationOrigin ?? leader?.Entries[0].PresentationStart ?? 0;
        if (settings.IsStatic && shown.Count > 0 && leader is not null)
            baseTime = FirstAtOrAfter(leader, shown[0].From)?.PresentationStart ?? baseTime;

        if (settings.IsStatic)
        {
            // Strictly past where the last track really ends. dash.js ends playback itself (seek to the Period
            // end, pause; no 'ended' event) as soon as currentTime >= Period@start + duration, so the media
            // element must reach its own end first: media running past the MPD's end (8.01 s of media under
            // PT8S) loses that race every time, and even an equal end loses it sometimes. Browsers round the
            // buffered end up to the millisecond (Chromium reports 8.001 for 8.000333 s), hence the true end
            // rounded up to the millisecond plus one more: the element's end then stays below the MPD's, and a
            // static presentation may end after its last sample (ISO/IEC 23009-1 5.3.1.2 sets an upper bound).
            long endMs = 0;
            if (leader is not null)
                foreach (var t in all)
                    if (t.Entries.Count > 0)
                        endMs = Math.Max(endMs, CeilMs(t.Entries[^1].PresentationEnd, t.Timescale, baseTime, leaderScale));
            sb.Append(" mediaPresentationDuration=\"").Append(ManifestFormat.XsDurationMs(endMs + 1)).Append('"');
        }
        else
        {
            sb.Append(" availabilityStartTime=\"").Append(ManifestFormat.DateTime(settings.AvailabilityStartTime)).Append('"');
            sb.Append(" publishTime=\"").Append(ManifestFormat.DateTime(settings.PublishTime)).Append('"');
            sb.Append(" minimumUpdatePeriod=\"").Append(ManifestFormat.XsDurationMs(settings.SegmentSeconds * 1000L)).Append('"');
            sb.Append(" timeShiftBufferDepth=\"").Append(ManifestFormat.XsDurationMs(settings.TimeShiftBufferSeconds * 1000L)).Append('"');
            // Three segments behind the live edge, as DASH-IF IOP suggests for segment-based live.
            sb.Append(" suggestedPresentationDelay=\"").Append(ManifestFormat.XsDurationMs(settings.SegmentSeconds * 3000L)).Append('"');
        }
        if (longestMs > 0) sb.Append(" maxSegmentDuration=\"").Append(ManifestFormat.XsDurationMs(longestMs)).Append('"');
        sb.Append(" minBufferTime=\"").Append(ManifestFormat.XsDurationMs(settings.SegmentSeconds * 1000L)).Append("\">\n");

        foreach (var (from, to, index) in shown)
        {
            // An AdaptationSet holds at least one Representation (ISO/IEC 23009-1 5.3.3.2), and a rendition with no segment in
            // this Period has none here: at a join one track's first new segment is often stored before the other's, and
            // dash.js 5.2 stopped for good on an MPD with an AdaptationSet of no Representation (a TypeError in its
            // capability check, seen at the end of the Period before a reconnect's). Such a set is left out until its
            // rendition has a segment there; its id stays its own, so a set keeps one id in every Period (as DASH-IF IOP's
            // period continuity matches them).
            bool videoShown = video.Any(v => HasEntries(v, from, to));
            bool[] audioShown = audios.Select(a => HasEntries(a, from, to)).ToArray();
            if (!videoShown && !audioShown.Contains(true)) continue;
            long periodFirst = settings.IsStatic ? from : starts[index];
            long leaderStart = leader is null ? 0 : (FirstAtOrAfter(leader, periodFirst)?.PresentationStart ?? baseTime);
            // A continued broadcast's first Period began before the restored window: it keeps its start (section 5.3.2).
            if (!settings.IsStatic && index == 0 && settings.FirstPeriodStart is { } firstPeriodStart) leaderStart = firstPeriodStart;
            sb.Append("  <Period id=\"p").Append(ManifestFormat.Int(index + settings.PeriodIdBase)).Append("\" start=\"")
              .Append(ManifestFormat.XsDuration(leaderStart - baseTime, leaderScale)).Append("\">\n");
            AdBreakTags.AppendDash(sb, settings.Breaks, from, to, leaderStart, leaderScale);
            int asId = video.Count > 0 ? 1 : 0;
            if (videoShown)
            {
                sb.Append("    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\">\n");
                DashContentProtection.Append(sb, settings.Protection);
                // DASH-IF IOP (CEA-608 in the video's SEI): the channel and its ISO 639-2 language, CC1 as in the HLS master.
                if (settings.ClosedCaptions)
                    sb.Append("      <Accessibility schemeIdUri=\"urn:scte:dash:cc:cea-608:2015\" value=\"CC1=eng\"/>\n");
                foreach (var v in video) AppendRepresentation(sb, v, settings, leaderStart, leaderScale, from, to);
                sb.Append("    </AdaptationSet>\n");
            }
            for (int n = 0; n < audios.Length; n++, asId++)
            {
                if (!audioShown[n]) continue;
                var a = audios[n];
                string lang = AudioRenditionLabel.LanguageTag(a.AudioLabel.Language) ?? "und";
                sb.Append("    <AdaptationSet id=\"").Append(asId)
                    .Append("\" contentType=\"audio\" mimeType=\"audio/mp4\" segmentAlignment=\"true\" startWithSAP=\"1\" lang=\"")
                    .Append(lang).Append("\">\n");
                DashContentProtection.Append(sb, settings.Protection);
                AppendAudioRoles(sb, a, isDefault: ReferenceEquals(a, audio), alternates: audios.Length > 1);
                AppendRepresentation(sb, a, settings, leaderStart, leaderScale, from, to);
                sb.Append("    </AdaptationSet>\n");
            }
            sb.Append("  </Period>\n");
        }
        if (!settings.IsStatic)
            sb.Append("  <UTCTiming schemeIdUri=\"urn:mpeg:dash:utc:http-iso:2014\" value=\"")
              .Append(SecurityElement.Escape(settings.UtcTimingUrl)).Append("\"/>\n");
        sb.Append("</MPD>\n");
        return sb.ToString();
    }

    /// <summary>Whether <paramref name="t"/> has a segment numbered from <paramref name="from"/> to before <paramref name="to"/>.</summary>
    private static bool HasEntries(RenditionTimeline t, long from, long to) => FirstAtOrAfter(t, from) is { } first && first.Number < to;

    private static TimelineEntry? FirstAtOrAfter(RenditionTimeline t, long number)
    {
        foreach (var e in t.Entries)
            if (e.Number >= number) return e;
        return null;
    }

    /// <summary>(<paramref name="ticks"/> / <paramref name="timescale"/> - <paramref name="baseTicks"/> / <paramref name="baseScale"/>) in
    /// milliseconds, rounded up.</summary>
    private static long CeilMs(long ticks, int timescale, long baseTicks, int baseScale)
    {
        Int128 num = ((Int128)ticks * baseScale - (Int128)baseTicks * timescale) * 1000;
        Int128 den = (Int128)timescale * baseScale;
        if (num <= 0) return 0;
        return (long)((num + den - 1) / den);
    }

    /// <param name="periodStart">The Period's start instant in <paramref name="periodScale"/> ticks (see <see cref="Write"/>).</param>
    /// <summary>
    /// With several audio AdaptationSets, the Role (urn:mpeg:dash:role:2011, ISO/IEC 23009-1 5.8.5.5) tells a player which
    /// is the programme's main sound and which the alternates; an audio description or dialogue made easier to hear adds
    /// the Accessibility descriptor of DASH-IF IOP 4.3 section 3.9.4.4. A single unlabelled audio set stays as it was.
    /// </summary>
    private static void AppendAudioRoles(StringBuilder sb, RenditionTimeline audio, bool isDefault, bool alternates)
    {
        if (alternates)
            sb.Append("      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"").Append(isDefault ? "main" : "alternate").Append("\"/>\n");
        if (AudioRenditionLabel.DashAudioPurpose(audio.AudioLabel.Purpose) is int purpose)
            sb.Append("      <Accessibility schemeIdUri=\"urn:tva:metadata:cs:AudioPurposeCS:2007\" value=\"")
              .Append(ManifestFormat.Int(purpose)).Append("\"/>\n");
    }

    private static void AppendRepresentation(StringBuilder sb, RenditionTimeline t, MpdSettings settings, long periodStart, int periodScale,
        long from, long to)
    {
        var entries = t.Entries.Where(e => e.Number >= from && e.Number < to).ToList();
        if (entries.Count == 0) return;
        int timescale = entries[0].Segment.Timescale;
        long presentationTimeOffset = Timescales.Rescale(periodStart, periodScale, timescale);
        var track = entries[^1].Segment.Track;
        sb.Append("      <Representation id=\"").Append(t.Name).Append("\" codecs=\"").Append(track.CodecString)
          .Append("\" bandwidth=\"").Append(ManifestFormat.Int(Math.Max(1, t.PeakBitrate))).Append('"');
        if (track is VideoTrack v)
        {
            if (v.Width > 0 && v.Height > 0)
                sb.Append(" width=\"").Append(ManifestFormat.Int(v.Width)).Append("\" height=\"").Append(ManifestFormat.Int(v.Height)).Append('"');
            // Measured over this Period's own segments: each Period has its own track (a reconnect may change the rate).
            if (ManifestFrameRate.Choose(v, entries) is { } fr) sb.Append(" frameRate=\"").Append(ManifestFrameRate.Dash(fr)).Append('"');
            sb.Append(" sar=\"1:1\">\n");
        }
        else if (track is AudioTrack a)
        {
            sb.Append(" audioSamplingRate=\"").Append(ManifestFormat.Int(a.SampleRate)).Append("\">\n");
            sb.Append("        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:mpegB:cicp:ChannelConfiguration\" value=\"")
              .Append(ManifestFormat.Int(a.Channels)).Append("\"/>\n");
        }
        else sb.Append(">\n");

        // $RepresentationID$ is the rendition folder, so these are the very files the HLS playlists name.
        string prefix = settings.PathPrefix;
        sb.Append("        <SegmentTemplate timescale=\"").Append(ManifestFormat.Int(timescale))
          .Append("\" presentationTimeOffset=\"").Append(ManifestFormat.Int(presentationTimeOffset))
          .Append("\" initialization=\"").Append(prefix).Append("$RepresentationID$/").Append(entries[0].Segment.InitName)
          .Append("\" media=\"").Append(prefix).Append("$RepresentationID$/").Append(settings.BroadcastId).Append("-$Number$.m4s")
          .Append("\" startNumber=\"").Append(ManifestFormat.Int(entries[0].Number)).Append("\">\n");
        sb.Append("          <SegmentTimeline>\n");
        int i = 0;
        while (i < entries.Count)
        {
            var e = entries[i];
            int repeat = 0;
            while (i + repeat + 1 < entries.Count
                   && entries[i + repeat + 1].Duration == e.Duration
                   && entries[i + repeat + 1].Start == entries[i + repeat].End
                   && entries[i + repeat + 1].Number == entries[i + repeat].Number + 1)
                repeat++;
            sb.Append("            <S t=\"").Append(ManifestFormat.Int(e.Start)).Append("\" d=\"").Append(ManifestFormat.Int(e.Duration)).Append('"');
            if (repeat > 0) sb.Append(" r=\"").Append(ManifestFormat.Int(repeat)).Append('"');
            sb.Append("/>\n");
            i += repeat + 1;
        }
        sb.Append("          </SegmentTimeline>\n");
        sb.Append("        </SegmentTemplate>\n");
        sb.Append("      </Representation>\n");
    }
}
