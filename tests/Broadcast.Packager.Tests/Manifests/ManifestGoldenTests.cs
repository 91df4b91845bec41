using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>HLS and DASH output for hand-built timelines, checked against golden files.</summary>
public sealed class ManifestGoldenTests
{
    internal const string Id = "20261121T054512Z";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly VideoTrack Video = TestMedia.Video(1280, 720, new FrameRate(30, 1));
    private static readonly VideoTrack Video2 = TestMedia.Video(1920, 1080, new FrameRate(30, 1), [0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x00, 0x01, 0x00, 0x00]);
    private static readonly AudioTrack Audio = TestMedia.Audio(48000);

    /// <summary>
    /// A video and an audio timeline of <paramref name="count"/> segments of about 2 s, starting at media time
    /// 10 s; the optional <paramref name="discontinuityAt"/> switches video to a new init there.
    /// </summary>
    internal static (RenditionTimeline Video, RenditionTimeline Audio) Build(int count, long? discontinuityAt = null, int lastVideoTicks = 0)
    {
        var v = new RenditionTimeline("source", MediaKind.Video);
        var a = new RenditionTimeline("audio", MediaKind.Audio);
        long vt = 900_000, at = 480_000;
        for (int n = 1; n <= count; n++)
        {
            bool disc = discontinuityAt == n;
            var track = discontinuityAt is long d && n >= d ? Video2 : Video;
            long vd = n == count && lastVideoTicks > 0 ? lastVideoTicks : 180_000;
            long ad = (n % 2 == 0 ? 93 : 94) * 1024L; // 2.005 / 1.984 s: audio cuts land on the sample grid
            var pdt = Start + TimeSpan.FromTicks((vt - 900_000) * TimeSpan.TicksPerSecond / 90_000);
            v.Add(new SegmentDescription("source", MediaKind.Video, n, vt, vd, 90_000, 400_000 + n * 1000, true, disc,
                StoreKeys.InitName(Id, discontinuityAt is long d2 && n >= d2 ? 1 : 0), track, (int)(vd / 3000)), pdt);
            a.Add(new SegmentDescription("audio", MediaKind.Audio, n, at, ad, 48_000, 32_000, true, false, StoreKeys.InitName(Id, 0), Audio, (int)(ad / 1024)),
                Start + TimeSpan.FromTicks((at - 480_000) * TimeSpan.TicksPerSecond / 48_000));
            vt += vd;
            at += ad;
        }
        return (v, a);
    }

    private static string Media(RenditionTimeline t, PlaylistState state, int window = 6) =>
        HlsPlaylistWriter.WriteMediaPlaylist(t, Id, t.WindowStart(window, 0), state);

    [Fact]
    public void Master_playlist() =>
        Golden.Verify("master.m3u8", HlsPlaylistWriter.WriteMaster([Build(3).Video], Build(3).Audio, r => $"{r}/index.m3u8"));

    /// <summary>CTA-608 captions in the video: one CLOSED-CAPTIONS rendition, named by every variant (RFC 8216 4.3.4.1, 4.3.4.2).</summary>
    [Fact]
    public void Master_playlist_with_closed_captions()
    {
        var (v, a) = Build(3);
        var low = new RenditionTimeline("360p", MediaKind.Video);
        foreach (var e in Build(3).Video.Entries) low.Add(e.Segment with { Rendition = "360p" }, e.ProgramDateTime);
        string master = HlsPlaylistWriter.WriteMaster([v, low], a, r => $"{r}/index.m3u8", closedCaptions: true);
        Golden.Verify("master-captions.m3u8", master);
        Assert.Equal(2, master.Split('\n').Count(l => l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal) && l.EndsWith(",CLOSED-CAPTIONS=\"cc\"", StringComparison.Ordinal)));
        Assert.DoesNotContain("CLOSED-CAPTIONS=NONE", master, StringComparison.Ordinal);
        // Audio only: no video to carry them, nothing declared.
        Assert.DoesNotContain("CLOSED-CAPTIONS", HlsPlaylistWriter.WriteMaster([], a, r => $"{r}/index.m3u8", closedCaptions: true), StringComparison.Ordinal);
    }

    [Fact]
    public void Media_playlist() => Golden.Verify("media.m3u8", Media(Build(3).Video, PlaylistState.Live));

    [Fact]
    public void Audio_media_playlist() => Golden.Verify("audio.m3u8", Media(Build(3).Audio, PlaylistState.Live));

    [Fact]
    public void Live_window_slides()
    {
        var (v, _) = Build(9);
        string text = Media(v, PlaylistState.Live);
        Assert.Contains("#EXT-X-MEDIA-SEQUENCE:4\n", text, StringComparison.Ordinal);
        Golden.Verify("window.m3u8", text);
    }

    [Fact]
    public void Discontinuity_repeats_the_map_and_counts_after_sliding_out()
    {
        var (v, _) = Build(6, discontinuityAt: 4);
        Golden.Verify("discontinuity.m3u8", Media(v, PlaylistState.Live));
        var (slid, _) = Build(11, discontinuityAt: 4);
        string later = Media(slid, PlaylistState.Live);
        Assert.Contains("#EXT-X-DISCONTINUITY-SEQUENCE:1\n", later, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", later, StringComparison.Ordinal);
        Assert.Contains($"#EXT-X-MAP:URI=\"{Id}-init-1.mp4\"", later, StringComparison.Ordinal);
    }

    [Fact]
    public void Target_duration_never_decreases()
    {
        var (v, _) = Build(9, lastVideoTicks: 0);
        var (longFirst, _) = Build(1, lastVideoTicks: 8 * 90_000);
        Assert.Contains("#EXT-X-TARGETDURATION:2\n", Media(v, PlaylistState.Live), StringComparison.Ordinal);
        Assert.Contains("#EXT-X-TARGETDURATION:8\n", Media(longFirst, PlaylistState.Live), StringComparison.Ordinal);
    }

    [Fact]
    public void End_of_stream() => Golden.Verify("ended.m3u8", Media(Build(8, lastVideoTicks: 123_456).Video, PlaylistState.Ended));

    [Fact]
    public void Vod_playlist() => Golden.Verify("vod.m3u8", Media(Build(8).Video, PlaylistState.Vod));

    [Fact]
    public void Retired_renditions_leave_the_master_and_the_mpd()
    {
        var (v, a) = Build(4);
        var (rung, _) = Build(3);
        var low = new RenditionTimeline("360p", MediaKind.Video);
        foreach (var e in rung.Entries) low.Add(e.Segment with { Rendition = "360p" }, e.ProgramDateTime);
        string Master() => HlsPlaylistWriter.WriteMaster([v, low], a, r => $"{r}/index.m3u8");
        string Mpd() => DashManifestWriter.Write([v, low], a, new MpdSettings(Id, false, Start, Start.AddSeconds(8), 2, 12, "/time"));
        Assert.Contains("\n360p/index.m3u8\n", Master(), StringComparison.Ordinal);
        Assert.Contains("<Representation id=\"360p\"", Mpd(), StringComparison.Ordinal);

        low.Retire();
        string master = Master();
        Assert.DoesNotContain("360p", master, StringComparison.Ordinal);
        Assert.Equal(1, master.Split('\n').Count(l => l.StartsWith("#EXT-X-STREAM-INF:", StringComparison.Ordinal)));
        Assert.Contains("\nsource/index.m3u8\n", master, StringComparison.Ordinal);
        Assert.Equal(HlsPlaylistWriter.WriteMaster([v], a, r => $"{r}/index.m3u8"), master);
        string mpd = Mpd();
        Assert.DoesNotContain("360p", mpd, StringComparison.Ordinal);
        Assert.Equal(DashManifestWriter.Write([v], a, new MpdSettings(Id, false, Start, Start.AddSeconds(8), 2, 12, "/time")), mpd);
        // Its own playlist still lists what it stored, and ends.
        Assert.EndsWith("#EXT-X-ENDLIST\n", Media(low, PlaylistState.Ended), StringComparison.Ordinal);
    }

    [Fact]
    public void Dynamic_mpd()
    {
        var (v, a) = Build(8);
        Golden.Verify("dynamic.mpd", DashManifestWriter.Write([v], a,
            new MpdSettings(Id, false, Start, Start.AddSeconds(16), 2, 12, "/time", FirstNumber: 3)));
    }

    /// <summary>DASH-IF IOP: CEA-608 in the video's SEI is an Accessibility descriptor of the video AdaptationSet, in every Period.</summary>
    [Fact]
    public void Dynamic_mpd_with_closed_captions()
    {
        var (v, a) = Build(6, discontinuityAt: 4);
        string mpd = DashManifestWriter.Write([v], a,
            new MpdSettings(Id, false, Start, Start.AddSeconds(12), 2, 12, "/time", ClosedCaptions: true));
        Golden.Verify("dynamic-captions.mpd", mpd);
        Assert.Equal(2, mpd.Split('\n').Count(l => l.Contains("<Accessibility schemeIdUri=\"urn:scte:dash:cc:cea-608:2015\" value=\"CC1=eng\"/>", StringComparison.Ordinal)));
        Assert.DoesNotContain("Accessibility", DashManifestWriter.Write([v], a, new MpdSettings(Id, false, Start, Start.AddSeconds(12), 2, 12, "/time")), StringComparison.Ordinal);
    }

    [Fact]
    public void Dynamic_mpd_opens_a_period_at_a_new_init()
    {
        var (v, a) = Build(6, discontinuityAt: 4);
        Golden.Verify("dynamic-discontinuity.mpd", DashManifestWriter.Write([v], a,
            new MpdSettings(Id, false, Start, Start.AddSeconds(12), 2, 12, "https://time.example/iso")));
    }

    [Fact]
    public void Static_mpd()
    {
        var (v, a) = Build(5, lastVideoTicks: 123_456);
        Golden.Verify("static.mpd", DashManifestWriter.Write([v], a,
            new MpdSettings(Id, true, Start, Start.AddSeconds(10), 2, 12, "/time", PathPrefix: "../../")));
    }

    [Theory]
    [InlineData(180_000, 90_000, 2)]      // 2.000
    [InlineData(98_304, 48_000, 2)]       // 2.048: audio, was 3 when rounded up
    [InlineData(99_312, 48_000, 2)]       // 2.069
    [InlineData(224_910, 90_000, 2)]      // 2.499
    [InlineData(225_000, 90_000, 3)]      // 2.500: halves round up
    [InlineData(9_000, 90_000, 1)]        // 0.1 (after a 1 s segment): 1
    [InlineData(720_000, 90_000, 8)]
    public void Target_duration_is_the_longest_extinf_rounded_to_the_nearest_second(long ticks, int timescale, long expected)
    {
        var kind = timescale == 90_000 ? MediaKind.Video : MediaKind.Audio;
        MediaTrack track = kind == MediaKind.Video ? Video : Audio;
        var t = new RenditionTimeline("r", kind);
        t.Add(new SegmentDescription("r", kind, 1, 0, timescale, timescale, 1000, true, false, StoreKeys.InitName(Id, 0), track, 1), Start);
        t.Add(new SegmentDescription("r", kind, 2, timescale, ticks, timescale, 1000, true, false, StoreKeys.InitName(Id, 0), track, 1), Start);
        Assert.Contains($"#EXT-X-TARGETDURATION:{expected}\n", Media(t, PlaylistState.Live), StringComparison.Ordinal);
    }

    /// <summary>
    /// An ffmpeg-like broadcast: video with B-frames (first picture 2 frames = 6000 ticks after its decode time),
    /// audio starting 46 ms after video's first decode time and running 21 ms past video's last picture.
    /// </summary>
    private static (RenditionTimeline Video, RenditionTimeline Audio) BuildBFrames(int count)
    {
        var v = new RenditionTimeline("source", MediaKind.Video);
        var a = new RenditionTimeline("audio", MediaKind.Audio);
        long at = 2208; // 46 ms
        for (int n = 1; n <= count; n++)
        {
            long vt = (n - 1) * 180_000L;
            v.Add(new SegmentDescription("source", MediaKind.Video, n, vt, 180_000, 90_000, 400_000, true, false,
                StoreKeys.InitName(Id, 0), Video, 60, PresentationStartOffset: 6000, PresentationEndOffset: 6000), Start);
            // Audio cut where video's decode time cut; the last audio segment takes what came after the last cut.
            long aEnd = n == count ? n * 96_000L + 2208 + 1024 + 3216 : n * 96_000L + 2208;
            long ad = (aEnd - at) / 1024 * 1024;
            a.Add(new SegmentDescription("audio", MediaKind.Audio, n, at, ad, 48_000, 32_000, true, false, StoreKeys.InitName(Id, 0), Audio, (int)(ad / 1024)), Start);
            at += ad;
        }
        return (v, a);
    }

    [Fact]
    public void Static_mpd_shares_one_period_start_across_tracks_and_lasts_to_the_latest_end()
    {
        var (v, a) = BuildBFrames(4);
        string mpd = DashManifestWriter.Write([v], a, new MpdSettings(Id, true, Start, Start.AddSeconds(10), 2, 12, "/time"));
        // Video: the first picture (pts 6000), not the first decode time. Audio: the same instant at 48 kHz
        // (6000 / 90000 s = 3200 / 48000 s), not audio's own first t (2208), which would play audio 46 ms early.
        Assert.Contains("timescale=\"90000\" presentationTimeOffset=\"6000\"", mpd, StringComparison.Ordinal);
        Assert.Contains("timescale=\"48000\" presentationTimeOffset=\"3200\"", mpd, StringComparison.Ordinal);
        // Video shows [6000, 726000): 8 s. Audio ends at 390304 / 48000 s, 8.0647 s after the start: the duration is
        // the later end rounded up to the millisecond plus one, so no track reaches the Period end.
        long audioEnd = a.Entries[^1].End;
        long audioMs = (long)Math.Ceiling((audioEnd / 48_000m - 6000 / 90_000m) * 1000);
        Assert.Equal(8065, audioMs);
        Assert.Contains("mediaPresentationDuration=\"PT8.066S\"", mpd, StringComparison.Ordinal);
        Golden.Verify("static-bframes.mpd", mpd);
    }

    [Fact]
    public void Dynamic_mpd_keeps_the_common_period_start_as_the_window_slides()
    {
        var (v, a) = BuildBFrames(8);
        string mpd = DashManifestWriter.Write([v], a, new MpdSettings(Id, false, Start, Start.AddSeconds(16), 2, 12, "/time", FirstNumber: 4));
        Assert.Contains("<Period id=\"p0\" start=\"PT0S\">", mpd, StringComparison.Ordinal);
        Assert.Contains("presentationTimeOffset=\"6000\"", mpd, StringComparison.Ordinal);
        Assert.Contains("presentationTimeOffset=\"3200\"", mpd, StringComparison.Ordinal);
        Assert.Contains("startNumber=\"4\"", mpd, StringComparison.Ordinal);
    }
}
