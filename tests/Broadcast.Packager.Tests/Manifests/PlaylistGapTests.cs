using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// A rendition with no segment for a number of the grid (audio beside the encoder's last lone video frame before a slate)
/// lists it as an EXT-X-GAP segment, so every segment keeps its media sequence number as the window slides past the hole.
/// </summary>
public sealed class PlaylistGapTests
{
    [Fact]
    public void A_missing_number_is_a_gap_and_sequence_numbers_stay_put_as_the_window_slides()
    {
        var audio = new RenditionTimeline("audio", MediaKind.Audio);
        long at = 0;
        foreach (long n in new long[] { 1, 2, 3, 5, 6, 7 })
        {
            if (n == 5) at += 3_888; // the hole: 81 ms with no audio frames
            audio.Add(new SegmentDescription("audio", MediaKind.Audio, n, at, 96_000, 48_000, 32_000, true, n == 5,
                StoreKeys.InitName(ManifestGoldenTests.Id, 0), TestMedia.Audio(48000), 93), DateTimeOffset.UnixEpoch);
            at += 96_000;
        }

        string whole = HlsPlaylistWriter.WriteMediaPlaylist(audio, ManifestGoldenTests.Id, 0, PlaylistState.Live);
        Assert.Contains($"#EXTINF:2.000,\n{ManifestGoldenTests.Id}-3.m4s\n#EXT-X-GAP\n#EXTINF:0.081,\n{ManifestGoldenTests.Id}-4.m4s\n#EXT-X-DISCONTINUITY\n",
            whole, StringComparison.Ordinal);
        Assert.Equal(6, SequenceOf(whole, $"{ManifestGoldenTests.Id}-6.m4s"));

        // The window now starts after the hole: segment 6 has the same media sequence number as before.
        string later = HlsPlaylistWriter.WriteMediaPlaylist(audio, ManifestGoldenTests.Id, 4, PlaylistState.Live);
        Assert.DoesNotContain("#EXT-X-GAP", later, StringComparison.Ordinal);
        Assert.Equal(6, SequenceOf(later, $"{ManifestGoldenTests.Id}-6.m4s"));
    }

    [Fact]
    public void The_listed_duration_counts_every_segment_and_the_gaps_as_the_vod_playlists_extinfs_add_up()
    {
        var audio = new RenditionTimeline("audio", MediaKind.Audio);
        long at = 0;
        foreach (long n in new long[] { 1, 2, 4, 5 })
        {
            if (n == 4) at += 3_888; // one missing number, 81 ms of hole
            long duration = n == 5 ? 50_000 : 96_000;
            audio.Add(new SegmentDescription("audio", MediaKind.Audio, n, at, duration, 48_000, 32_000, true, false,
                StoreKeys.InitName(ManifestGoldenTests.Id, 0), TestMedia.Audio(48000), 93), DateTimeOffset.UnixEpoch);
            at += duration;
        }

        Assert.Equal(3 * 96_000L + 50_000 + 3_888, audio.ListedDuration);
        string vod = HlsPlaylistWriter.WriteMediaPlaylist(audio, ManifestGoldenTests.Id, 0, PlaylistState.Vod);
        var extinf = vod.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal))
            .Select(l => decimal.Parse(l[8..].TrimEnd(','), System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(5, extinf.Count); // four segments and the gap
        Assert.Equal(7.123m, extinf.Sum()); // 2 + 2 + 0.081 + 2 + 1.042 (50 000 / 48 000 rounded)
        Assert.Equal(extinf.Sum(), Math.Round((decimal)audio.ListedDuration / 48_000, 3));
    }

    [Fact]
    public void In_the_mpd_a_rendition_that_resumes_after_missing_numbers_starts_a_period_where_it_resumes()
    {
        // Video 1..8 without a break; the French audio stopped after 3 and came back in 7, half-way through its span.
        var video = new RenditionTimeline("source", MediaKind.Video);
        var french = new RenditionTimeline("audio-fr", MediaKind.Audio) { AudioLabel = new AudioLabel("fra", AudioPurpose.Main) };
        var audio = new RenditionTimeline("audio", MediaKind.Audio);
        for (long n = 1; n <= 8; n++)
        {
            video.Add(new SegmentDescription("source", MediaKind.Video, n, (n - 1) * 180_000, 180_000, 90_000, 500_000, true, false,
                StoreKeys.InitName(ManifestGoldenTests.Id, 0), TestMedia.Video(), 60), DateTimeOffset.UnixEpoch);
            audio.Add(Audio("audio", n, (n - 1) * 96_000, 96_000), DateTimeOffset.UnixEpoch);
            if (n <= 3) french.Add(Audio("audio-fr", n, (n - 1) * 96_000, 96_000), DateTimeOffset.UnixEpoch);
            else if (n >= 7) french.Add(Audio("audio-fr", n, (n - 1) * 96_000 + (n == 7 ? 48_000 : 0), n == 7 ? 48_000 : 96_000), DateTimeOffset.UnixEpoch);
        }

        string mpd = DashManifestWriter.Write([video], audio, new MpdSettings(ManifestGoldenTests.Id, false, DateTimeOffset.UnixEpoch,
            DateTimeOffset.UnixEpoch.AddSeconds(16), 2, 30, "/time"), [french]);
        var doc = System.Xml.Linq.XDocument.Parse(mpd);
        System.Xml.Linq.XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        var periods = doc.Root!.Elements(ns + "Period").ToList();
        Assert.Equal(2, periods.Count);
        string[] StartNumbers(System.Xml.Linq.XElement period, string id) => period.Descendants(ns + "Representation")
            .Where(r => (string?)r.Attribute("id") == id).Select(r => (string?)r.Element(ns + "SegmentTemplate")!.Attribute("startNumber") ?? "").ToArray();
        int Count(System.Xml.Linq.XElement period, string id) => period.Descendants(ns + "Representation")
            .Where(r => (string?)r.Attribute("id") == id).SelectMany(r => r.Descendants(ns + "S"))
            .Sum(s => 1 + (int?)s.Attribute("r") ?? 1);
        // The first Period: every rendition from 1, the French one's three segments only; the second from 7 for all.
        Assert.Equal(["1"], StartNumbers(periods[0], "audio-fr"));
        Assert.Equal(3, Count(periods[0], "audio-fr"));
        Assert.Equal(6, Count(periods[0], "source"));
        Assert.Equal(["7"], StartNumbers(periods[1], "audio-fr"));
        Assert.Equal(["7"], StartNumbers(periods[1], "source"));
        Assert.Equal(["7"], StartNumbers(periods[1], "audio"));

        // HLS lists the missing numbers as gaps, sharing out the 7 s hole, so the durations add up to the media's.
        string playlist = HlsPlaylistWriter.WriteMediaPlaylist(french, ManifestGoldenTests.Id, 0, PlaylistState.Live);
        Assert.Contains($"{ManifestGoldenTests.Id}-3.m4s\n#EXT-X-GAP\n#EXTINF:2.333,\n{ManifestGoldenTests.Id}-4.m4s\n", playlist, StringComparison.Ordinal);
        Assert.Contains($"#EXT-X-GAP\n#EXTINF:2.333,\n{ManifestGoldenTests.Id}-6.m4s\n#EXTINF:1.000,\n{ManifestGoldenTests.Id}-7.m4s\n", playlist, StringComparison.Ordinal);
        Assert.Equal(7, SequenceOf(playlist, $"{ManifestGoldenTests.Id}-7.m4s"));
    }

    /// <summary>
    /// At a join the picture's first segment of the new Period is stored before the sound's: that Period lists the video
    /// AdaptationSet alone until audio has a segment there, never an AdaptationSet with no Representation (ISO/IEC
    /// 23009-1 5.3.3.2; dash.js 5.2 stopped for good on one), and each set keeps its id across Periods.
    /// </summary>
    [Fact]
    public void A_period_lists_no_adaptation_set_for_a_rendition_without_a_segment_there_yet()
    {
        var video = new RenditionTimeline("source", MediaKind.Video);
        var audio = new RenditionTimeline("audio", MediaKind.Audio);
        for (long n = 1; n <= 7; n++)
        {
            // 7 begins the second Period: the encoder came back (a discontinuity).
            video.Add(new SegmentDescription("source", MediaKind.Video, n, (n - 1) * 180_000, 180_000, 90_000, 500_000, true, n == 7,
                StoreKeys.InitName(ManifestGoldenTests.Id, n < 7 ? 0 : 1), TestMedia.Video(), 60), DateTimeOffset.UnixEpoch);
            if (n < 7) audio.Add(Audio("audio", n, (n - 1) * 96_000, 96_000), DateTimeOffset.UnixEpoch);
        }
        System.Xml.Linq.XNamespace ns = "urn:mpeg:dash:schema:mpd:2011";
        List<System.Xml.Linq.XElement> Periods() => System.Xml.Linq.XDocument.Parse(DashManifestWriter.Write([video], audio,
            new MpdSettings(ManifestGoldenTests.Id, false, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddSeconds(14), 2, 30, "/time")))
            .Root!.Elements(ns + "Period").ToList();
        string Sets(System.Xml.Linq.XElement period) => string.Join(",", period.Elements(ns + "AdaptationSet")
            .Select(a => $"{(string?)a.Attribute("id")}:{(string?)a.Attribute("contentType")}:{a.Elements(ns + "Representation").Count()}"));

        var periods = Periods();
        Assert.Equal(2, periods.Count);
        Assert.Equal("0:video:1,1:audio:1", Sets(periods[0]));
        Assert.Equal("0:video:1", Sets(periods[1]));

        audio.Add(new SegmentDescription("audio", MediaKind.Audio, 7, 6 * 96_000, 96_000, 48_000, 32_000, true, true,
            StoreKeys.InitName(ManifestGoldenTests.Id, 1), TestMedia.Audio(48000), 93), DateTimeOffset.UnixEpoch);
        periods = Periods();
        Assert.Equal("0:video:1,1:audio:1", Sets(periods[1]));
    }

    private static SegmentDescription Audio(string rendition, long number, long start, long duration) =>
        new(rendition, MediaKind.Audio, number, start, duration, 48_000, 32_000, true, false,
            StoreKeys.InitName(ManifestGoldenTests.Id, 0), TestMedia.Audio(48000), 93);

    /// <summary>The media sequence number a playlist gives a segment URI: EXT-X-MEDIA-SEQUENCE plus its position.</summary>
    private static long SequenceOf(string playlist, string uri)
    {
        var lines = playlist.Split('\n');
        long sequence = long.Parse(lines.Single(l => l.StartsWith("#EXT-X-MEDIA-SEQUENCE:", StringComparison.Ordinal))[22..],
            System.Globalization.CultureInfo.InvariantCulture);
        foreach (var line in lines.Where(l => l.Length > 0 && !l.StartsWith('#')))
        {
            if (line == uri) return sequence;
            sequence++;
        }

        throw new Xunit.Sdk.XunitException($"{uri} is not in the playlist");
    }
}
