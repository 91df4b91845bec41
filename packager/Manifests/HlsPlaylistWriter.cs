using System.Text;
using Broadcast.Media;

namespace Broadcast.Packager.Manifests;

public enum PlaylistState
{
    /// <summary>A sliding window (or DVR range) that grows; no end tag.</summary>
    Live,

    /// <summary>The live playlist after unpublish: the same window plus EXT-X-ENDLIST.</summary>
    Ended,

    /// <summary>The whole broadcast, EXT-X-PLAYLIST-TYPE:VOD and EXT-X-ENDLIST (recordings).</summary>
    Vod,
}

/// <summary>
/// HLS playlists (RFC 8216) for CMAF segments: version 7 (EXT-X-MAP in non-I-frame playlists, section 7),
/// one media playlist per rendition and a master that groups audio as an EXT-X-MEDIA rendition.
/// </summary>
public static class HlsPlaylistWriter
{
    /// <summary>The EXT-X-SERVER-CONTROL attribute of the Skip Boundary, in seconds (RFC 8216bis 4.4.3.8).</summary>
    internal const string SkipBoundaryAttribute = "CAN-SKIP-UNTIL=";

    /// <summary>GROUP-ID of the closed-caption rendition.</summary>
    public const string ClosedCaptionsGroup = "cc";

    /// <summary>
    /// A media playlist. <paramref name="windowStart"/> is the index of the first entry to list (0 for VOD).
    /// Segment and init URIs are file names in the playlist's own folder. <paramref name="breaks"/> are marked at their
    /// segments (see <see cref="AdBreakTags"/>) while those are in the window. With <paramref name="deltaUpdates"/> a live
    /// playlist offers delta updates (a rewind window's long playlist: players then reload only its last minute). An
    /// encrypted broadcast's <paramref name="protection"/> puts its EXT-X-KEY before the first EXT-X-MAP, or for whole-segment
    /// encryption after each EXT-X-MAP (<see cref="HlsContentProtection"/>); null writes the clear playlist, byte for byte as before.
    /// </summary>
    public static string WriteMediaPlaylist(RenditionTimeline timeline, string broadcastId, int windowStart, PlaylistState state,
        IReadOnlyList<AdBreak>? breaks = null, bool deltaUpdates = false, ManifestProtection? protection = null)
    {
        ArgumentNullException.ThrowIfNull(timeline);
        var entries = timeline.Entries;
        if (state == PlaylistState.Vod) windowStart = 0;
        windowStart = Math.Clamp(windowStart, 0, entries.Count);
        var sb = new StringBuilder(256 + 64 * (entries.Count - windowStart));
        deltaUpdates &= state == PlaylistState.Live;
        // Section 7: a playlist that may be served as a delta update (EXT-X-SKIP) declares version 9.
        sb.Append("#EXTM3U\n#EXT-X-VERSION:").Append(deltaUpdates ? '9' : '7').Append('\n');
        // Section 4.3.3.1: the longest EXTINF over the whole broadcast rounded to the nearest second, so the value
        // never decreases (6.2.1).
        long target = entries.Count == 0 ? 1 : ManifestFormat.TargetSeconds(timeline.LongestDuration, timeline.Timescale);
        sb.Append("#EXT-X-TARGETDURATION:").Append(ManifestFormat.Int(target)).Append('\n');
        // RFC 8216bis 4.4.3.8: the Skip Boundary is at least six target durations. Without CAN-BLOCK-RELOAD a player
        // still asks for _HLS_skip=YES (section 6.2.5.1), which the origin answers from this same text.
        if (deltaUpdates)
            sb.Append("#EXT-X-SERVER-CONTROL:").Append(SkipBoundaryAttribute).Append(ManifestFormat.Int(6 * target)).Append(".0\n");
        if (state == PlaylistState.Vod) sb.Append("#EXT-X-PLAYLIST-TYPE:VOD\n");
        long mediaSequence = windowStart < entries.Count ? entries[windowStart].Number : (entries.Count > 0 ? entries[^1].Number + 1 : 1);
        // Section 4.3.3.3: discontinuities that slid out of the window are counted so clients keep their timelines.
        long discontinuitySequence = timeline.DiscontinuitiesBefore;
        for (int i = 0; i < windowStart; i++)
            if (entries[i].Segment.Discontinuity) discontinuitySequence++;
        sb.Append("#EXT-X-MEDIA-SEQUENCE:").Append(ManifestFormat.Int(mediaSequence)).Append('\n');
        sb.Append("#EXT-X-DISCONTINUITY-SEQUENCE:").Append(ManifestFormat.Int(discontinuitySequence)).Append('\n');
        sb.Append("#EXT-X-INDEPENDENT-SEGMENTS\n");

        string? currentInit = null;
        bool wholeSegment = protection is { WholeSegment: true };
        int keyPeriod = -1;
        for (int i = windowStart; i < entries.Count; i++)
        {
            var e = entries[i];
            var s = e.Segment;
            bool first = i == windowStart;
            if (!first) AppendGaps(sb, entries[i - 1], e, broadcastId, target);
            if (s.Discontinuity) sb.Append("#EXT-X-DISCONTINUITY\n");
            // Section 4.4.4.4: the key applies to every segment after it until the next EXT-X-KEY: written before the first
            // segment, and again where a rotated broadcast's next key takes over.
            int period = protection?.PeriodOf(e.Number) ?? 0;
            bool newKey = period != keyPeriod;
            keyPeriod = period;
            var key = protection?.Period(period);
            if (newKey && !wholeSegment) HlsContentProtection.AppendKey(sb, key);
            if (!string.Equals(currentInit, s.InitName, StringComparison.Ordinal))
            {
                // Section 4.4.4.5: an AES-128 key in force applies to an EXT-X-MAP's init segment too, which stays clear:
                // the key is ended before a later map and named again after each one.
                if (wholeSegment && currentInit is not null) sb.Append(HlsContentProtection.NoKey);
                // Section 4.3.2.5: a new EXT-X-MAP applies to every following segment until the next one.
                sb.Append("#EXT-X-MAP:URI=\"").Append(s.InitName).Append("\"\n");
                currentInit = s.InitName;
                if (wholeSegment) HlsContentProtection.AppendKey(sb, key);
            }
            else if (newKey && wholeSegment) HlsContentProtection.AppendKey(sb, key);
            bool marked = AdBreakTags.AppendHls(sb, breaks, e.Number, i > 0 ? entries[i - 1].Number : null, e.ProgramDateTime);
            if (first || s.Discontinuity || marked)
                sb.Append("#EXT-X-PROGRAM-DATE-TIME:").Append(ManifestFormat.DateTime(e.ProgramDateTime)).Append('\n');
            sb.Append("#EXTINF:").Append(ManifestFormat.Seconds3(s.Duration, s.Timescale)).Append(",\n");
            sb.Append(s.FileName(broadcastId)).Append('\n');
        }
        if (state != PlaylistState.Live)
        {
            if (entries.Count > windowStart) AdBreakTags.AppendHlsEnd(sb, breaks, entries[^1].Number);
            sb.Append("#EXT-X-ENDLIST\n");
        }
        return sb.ToString();
    }

    /// <summary>
    /// Segment numbers this rendition has no segment for (its track had no frames in that stretch of the grid, e.g. audio
    /// beside the encoder's last lone video frame before a slate) are listed as EXT-X-GAP segments (RFC 8216bis 4.4.4.7).
    /// A media sequence number is a segment's position in the playlist (section 6.2.1): without the placeholder, the
    /// segments after a hole would change sequence numbers when the window slides past it, and players refuse that.
    /// Before a discontinuity the media time between the two is not a hole to fill (the timeline restarts there, and a
    /// broadcast continued on another node skips the number whose parts the dead node had announced): each placeholder
    /// then lasts at most the target duration (section 4.3.3.1).
    /// </summary>
    private static void AppendGaps(StringBuilder sb, TimelineEntry previous, TimelineEntry next, string broadcastId, long targetSeconds)
    {
        long missing = next.Number - previous.Number - 1;
        if (missing <= 0) return;
        var s = next.Segment;
        long hole = Math.Max(0, next.Start - previous.End);
        if (s.Discontinuity) hole = Math.Min(hole, missing * targetSeconds * s.Timescale);
        for (long n = previous.Number + 1; n < next.Number; n++)
        {
            // The hole's length shared out, the last one taking the rounding so the durations add up.
            long duration = n == next.Number - 1 ? hole - hole / missing * (missing - 1) : hole / missing;
            sb.Append("#EXT-X-GAP\n#EXTINF:").Append(ManifestFormat.Seconds3(duration, s.Timescale)).Append(",\n")
              .Append(Segmenting.SegmentDescription.FileNameOf(broadcastId, n)).Append('\n');
        }
    }

    /// <summary>
    /// The master playlist. <paramref name="playlistUri"/> maps a rendition name to its media playlist URI,
    /// relative to the master (e.g. <c>source/index.m3u8</c>, or <c>../../source/{id}.m3u8</c> for a recording).
    /// BANDWIDTH is the peak segment bitrate of video plus audio, AVERAGE-BANDWIDTH the measured average
    /// (section 4.3.4.2), both from the sizes of the segments actually stored. Retired video renditions
    /// (<see cref="RenditionTimeline.Retired"/>) are left out: a variant that stopped growing must not be offered.
    /// <paramref name="closedCaptions"/>: the video carries CTA-608 captions in its SEI (A/53), declared as one
    /// CLOSED-CAPTIONS rendition that every variant names. <paramref name="alternateAudio"/>: the encoder's further audio
    /// tracks (other languages, a description), each one more rendition of the audio group, offered by its label; a
    /// variant's BANDWIDTH then counts the largest audio peak, since a player may pick any of them. An encrypted
    /// broadcast's <paramref name="protection"/> is declared as EXT-X-SESSION-KEY.
    /// </summary>
    public static string WriteMaster(IReadOnlyList<RenditionTimeline> video, RenditionTimeline? audio, Func<string, string> playlistUri,
        bool closedCaptions = false, IReadOnlyList<RenditionTimeline>? alternateAudio = null, ManifestProtection? protection = null)
    {
        ArgumentNullException.ThrowIfNull(video);
        ArgumentNullException.ThrowIfNull(playlistUri);
        video = video.Where(v => !v.Retired).ToArray();
        RenditionTimeline[] audios = audio is null ? [] : [audio, .. alternateAudio ?? []];
        var sb = new StringBuilder(512);
        sb.Append("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
        HlsContentProtection.AppendSessionKey(sb, protection);
        if (video.Count > 0)
            foreach (var a in audios) AppendAudioMedia(sb, a, isDefault: ReferenceEquals(a, audio), playlistUri);
        closedCaptions &= video.Count > 0;
        if (closedCaptions)
        {
            // RFC 8216 section 4.3.4.1: a CLOSED-CAPTIONS rendition has no URI, INSTREAM-ID names the CTA-608 channel in the
            // video's SEI. CC1 (field 1, channel 1) is where caption inserters put the primary language.
            sb.Append("#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID=\"").Append(ClosedCaptionsGroup)
              .Append("\",NAME=\"English\",LANGUAGE=\"en\",INSTREAM-ID=\"CC1\",DEFAULT=YES,AUTOSELECT=YES\n");
        }
        foreach (var v in video)
        {
            var track = v.Track as VideoTrack;
            long peak = v.PeakBitrate + audios.Select(a => a.PeakBitrate).DefaultIfEmpty(0).Max();
            long average = v.AverageBitrate + audios.Select(a => a.AverageBitrate).DefaultIfEmpty(0).Max();
            string codecs = string.Join(',', audios.Where(a => a.Track is not null).Select(a => a.Track!.CodecString).Distinct()
                .Prepend(track?.CodecString ?? ""));
            sb.Append("#EXT-X-STREAM-INF:BANDWIDTH=").Append(ManifestFormat.Int(peak))
              .Append(",AVERAGE-BANDWIDTH=").Append(ManifestFormat.Int(average))
              .Append(",CODECS=\"").Append(codecs).Append('"');
            if (track is not null && track.Width > 0 && track.Height > 0)
                sb.Append(",RESOLUTION=").Append(ManifestFormat.Int(track.Width)).Append('x').Append(ManifestFormat.Int(track.Height));
            if (v.FrameRate is { } rate) sb.Append(",FRAME-RATE=").Append(ManifestFormat.Milli3(ManifestFrameRate.Milli(rate)));
            if (audio is not null) sb.Append(",AUDIO=\"audio\"");
            // RFC 8216 section 4.3.4.2: the group when captions are carried; otherwise NONE says no variant carries them, so
            // a player does not download segments to look for CEA-608 in them. Shaka Player does that probe by default and
            // fails on an LL-HLS playlist whose last segment is still parts only.
            if (closedCaptions) sb.Append(",CLOSED-CAPTIONS=\"").Append(ClosedCaptionsGroup).Append('"');
            else sb.Append(",CLOSED-CAPTIONS=NONE");
            sb.Append('\n').Append(playlistUri(v.Name)).Append('\n');
        }
        if (video.Count == 0 && audio is not null)
        {
            // Audio-only stream: the audio playlist is the variant itself.
            sb.Append("#EXT-X-STREAM-INF:BANDWIDTH=").Append(ManifestFormat.Int(audio.PeakBitrate))
              .Append(",AVERAGE-BANDWIDTH=").Append(ManifestFormat.Int(audio.AverageBitrate))
              .Append(",CODECS=\"").Append(audio.Track?.CodecString ?? "").Append("\"\n")
              .Append(playlistUri(audio.Name)).Append('\n');
        }
        return sb.ToString();
    }

    /// <summary>
    /// One rendition of the audio group (RFC 8216 section 4.3.4.1). A labelled track gets its LANGUAGE and menu NAME, and
    /// CHARACTERISTICS where its purpose has one; an unlabelled default keeps its rendition's name. Every track is
    /// AUTOSELECT: a player picks by the viewer's language, and by accessibility settings for a description.
    /// </summary>
    private static void AppendAudioMedia(StringBuilder sb, RenditionTimeline audio, bool isDefault, Func<string, string> playlistUri)
    {
        string? language = AudioRenditionLabel.LanguageTag(audio.AudioLabel.Language);
        bool unlabelled = language is null && audio.AudioLabel.Purpose == AudioPurpose.Main;
        sb.Append("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"")
          .Append(unlabelled ? audio.Name : AudioRenditionLabel.DisplayName(audio.AudioLabel, audio.Name)).Append('"');
        if (language is not null) sb.Append(",LANGUAGE=\"").Append(language).Append('"');
        sb.Append(isDefault ? ",DEFAULT=YES" : ",DEFAULT=NO").Append(",AUTOSELECT=YES");
        if (AudioRenditionLabel.HlsCharacteristics(audio.AudioLabel.Purpose) is { } characteristics)
            sb.Append(",CHARACTERISTICS=\"").Append(characteristics).Append('"');
        if (audio.Track is AudioTrack track) sb.Append(",CHANNELS=\"").Append(ManifestFormat.Int(track.Channels)).Append('"');
        sb.Append(",URI=\"").Append(playlistUri(audio.Name)).Append("\"\n");
    }
}
