using Broadcast.Media;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Packager.Storage;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>HLS and DASH output for hand-built timelines, checked against golden files.</summary>
public sealed class ManifestGoldenTests
{
    private const string Id = "20261121T054512Z";
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);
    private static readonly VideoTrack Video = TestMedia.Video(1280, 720, new FrameRate(30, 1));
    private static readonly VideoTrack Video2 = TestMedia.Video(1920, 1080, new FrameRate(30, 1), [0x01, 0x64, 0x00, 0x28, 0xFF, 0xE1, 0x00, 0x00, 0x01, 0x00, 0x00]);
    private static readonly AudioTrack Audio = TestMedia.Audio(48000);

    /// <summary>
    /// A video and an audio timeline of <paramref name="count"/> segments of about 2 s, starting at media time
    /// 10 s; the optional <paramref name="discontinuityAt"/> switches video to a new init there.
    /// </summary>
    private static (RenditionTimeline Video, RenditionTimeline Audio) Build(int count, long? discontinuityAt = null, int lastVideoTicks = 0)
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
    public void Dynamic_mpd()
    {
        var (v, a) = Build(8);
        Golden.Verify("dynamic.mpd", DashManifestWriter.Write([v], a,
            new MpdSettings(Id, false, Start, Start.AddSeconds(16), 2, 12, "/time", FirstNumber: 3)));
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
}
