using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

public class ClipPlaylistTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    /// <summary>The packager's rewind window as stored (golden rewind-window.m3u8): 12 segments of 2 s from T0.</summary>
    public static string Window() => Golden.Read("rewind-window.m3u8");

    /// <summary>A window with a reconnect: a new init and a discontinuity with its own program date-time.</summary>
    public static string Reconnect() => Golden.Read("reconnect-newinit.m3u8");

    [Fact]
    public void Reads_every_segment_of_the_stored_window_on_the_program_clock()
    {
        var playlist = StoredMediaPlaylist.Parse(Window());
        Assert.Equal(12, playlist.Segments.Count);
        Assert.Equal(T0, playlist.Start);
        Assert.Equal(T0.AddSeconds(24), playlist.End);
        Assert.Equal(T0.AddSeconds(10), playlist.Segments[5].Start);
        Assert.Equal("20261121T054512Z-init.mp4", playlist.Segments[11].MapUri);
    }

    [Fact]
    public void A_clip_takes_the_whole_segments_around_the_range_and_names_them_from_its_own_folder()
    {
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(Window()), T0.AddSeconds(3), T0.AddSeconds(9), "../../source/");
        Assert.NotNull(cut);
        Assert.Equal(T0.AddSeconds(2), cut.Start);
        Assert.Equal(T0.AddSeconds(10), cut.End);
        Assert.Equal([2L, 3, 4, 5], cut.SegmentNumbers);
        Assert.Equal(["20261121T054512Z-init.mp4"], cut.InitNames);
        Assert.Equal("""
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-TARGETDURATION:2
            #EXT-X-PLAYLIST-TYPE:VOD
            #EXT-X-MEDIA-SEQUENCE:0
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MAP:URI="../../source/20261121T054512Z-init.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:14.000Z
            #EXTINF:2.000,
            ../../source/20261121T054512Z-2.m4s
            #EXTINF:2.000,
            ../../source/20261121T054512Z-3.m4s
            #EXTINF:2.000,
            ../../source/20261121T054512Z-4.m4s
            #EXTINF:2.000,
            ../../source/20261121T054512Z-5.m4s
            #EXT-X-ENDLIST

            """.ReplaceLineEndings("\n"), cut.Playlist);
    }

    [Fact]
    public void Boundaries_on_segment_edges_take_no_neighbour()
    {
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(Window()), T0.AddSeconds(4), T0.AddSeconds(8), "");
        Assert.NotNull(cut);
        Assert.Equal([3L, 4], cut.SegmentNumbers);
        Assert.Equal(T0.AddSeconds(4), cut.Start);
        Assert.Equal(T0.AddSeconds(8), cut.End);
    }

    [Fact]
    public void A_range_outside_the_stored_media_gives_no_clip()
    {
        var playlist = StoredMediaPlaylist.Parse(Window());
        Assert.Null(ClipPlaylist.Cut(playlist, T0.AddSeconds(-10), T0, ""));
        Assert.Null(ClipPlaylist.Cut(playlist, T0.AddSeconds(24), T0.AddSeconds(30), ""));
        Assert.Throws<ArgumentException>(() => ClipPlaylist.Cut(playlist, T0.AddSeconds(9), T0.AddSeconds(3), ""));
    }

    [Fact]
    public void A_clip_across_a_reconnect_keeps_the_discontinuity_the_new_map_and_its_date_time()
    {
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(Reconnect()), T0, T0.AddMinutes(1), "../../source/");
        Assert.NotNull(cut);
        Assert.Equal([3L, 4, 5], cut.SegmentNumbers);
        Assert.Equal(["20261121T054512Z-init.mp4", "20261121T054512Z-init-1.mp4"], cut.InitNames);
        Assert.Contains("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init-1.mp4\"\n"
            + "#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:22.098Z\n", cut.Playlist, StringComparison.Ordinal);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 5, 45, 26, 98, TimeSpan.Zero), cut.End);
    }

    [Fact]
    public void Gaps_stay_placeholders_and_hold_nothing()
    {
        string text = "#EXTM3U\n#EXT-X-MAP:URI=\"b-init.mp4\"\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12.000Z\n"
            + "#EXTINF:2.000,\nb-1.m4s\n#EXT-X-GAP\n#EXTINF:2.000,\nb-2.m4s\n#EXTINF:2.000,\nb-3.m4s\n";
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(text), T0, T0.AddSeconds(6), "");
        Assert.NotNull(cut);
        Assert.Equal([1L, 3], cut.SegmentNumbers);
        Assert.Contains("#EXT-X-GAP\n#EXTINF:2.000,\nb-2.m4s\n", cut.Playlist, StringComparison.Ordinal);
        Assert.Null(ClipPlaylist.Cut(StoredMediaPlaylist.Parse(text), T0.AddSeconds(2.5), T0.AddSeconds(3.5), ""));
    }

    [Fact]
    public void Low_latency_parts_hints_and_reports_are_not_segments()
    {
        var playlist = StoredMediaPlaylist.Parse(Golden.Read("ll-window.m3u8"));
        Assert.Equal(12, playlist.Segments.Count);
        Assert.DoesNotContain(playlist.Segments, s => s.Uri.Contains('.', StringComparison.Ordinal) && s.Uri.Split('.').Length > 2);
    }

    [Theory]
    [InlineData("", "line 1: not #EXTM3U")]
    [InlineData("#EXTM3U\nb-1.m4s\n", "line 2: a segment URI without #EXTINF before it")]
    [InlineData("#EXTM3U\n#EXTINF:2.000,\nb-1.m4s\n", "line 3: a segment before any #EXT-X-PROGRAM-DATE-TIME")]
    [InlineData("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXTINF:abc,\nb-1.m4s\n",
        "line 3: EXTINF duration 'abc' is not a positive number of seconds")]
    [InlineData("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXTINF:-2,\nb-1.m4s\n",
        "line 3: EXTINF duration '-2' is not a positive number of seconds")]
    [InlineData("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:yesterday\n", "line 2: EXT-X-PROGRAM-DATE-TIME 'yesterday' is not an ISO 8601 date-time")]
    [InlineData("#EXTM3U\n#EXT-X-MAP:BYTERANGE=\"1@0\"\n", "line 2: EXT-X-MAP without URI")]
    [InlineData("#EXTM3U\n#EXT-X-MAP:URI=\"a\n", "line 2: EXT-X-MAP URI is empty or unterminated")]
    [InlineData("#EXTM3U\n#EXT-X-SKIP:SKIPPED-SEGMENTS=3\n", "line 2: a delta update (EXT-X-SKIP), not a whole playlist")]
    [InlineData("#EXTM3U\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:12Z\n#EXTINF:2,\nb-1.m4s\n#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:11Z\n"
        + "#EXTINF:2,\nb-2.m4s\n", "line 7: a segment starts before the one ahead of it")]
    [InlineData("#EXTM3U\n#EXT-X-BYTERANGE:100@0\n", "line 2: byte ranges are not supported")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:URI=\"x\"\n", "line 2: an EXT-X-KEY without METHOD")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES-CENC,URI=\"x\"\n", "line 2: an EXT-X-KEY of METHOD=SAMPLE-AES-CENC, which is not read")]
    [InlineData("#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"1\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"2\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"3\"\n"
        + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"4\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"5\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"6\"\n"
        + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"7\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"8\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"9\"\n"
        + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"10\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"11\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"12\"\n"
        + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"13\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"14\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"15\"\n"
        + "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"16\"\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"17\"\n", "line 18: more than 16 EXT-X-KEY tags")]
    public void Malformed_playlists_are_refused_with_the_line_at_fault(string text, string message)
    {
        var error = Assert.Throws<MediaPlaylistFormatException>(() => StoredMediaPlaylist.Parse(text));
        Assert.Equal(message, error.Message);
    }

    /// <summary>
    /// A protected broadcast's key tags (ClearKey's and a vendor's, METHOD anywhere in the tag) are kept and written into
    /// the clip before its first EXT-X-MAP, and again when its ends are cut; the same tag after a segment is no new key.
    /// </summary>
    [Fact]
    public void A_protected_playlist_s_key_tags_go_into_its_clip_before_the_first_map()
    {
        const string clearKey = "#EXT-X-KEY:METHOD=SAMPLE-AES,URI=\"data:text/plain;base64,ASNFZ4mrze8BI0VniavN7w==\",KEYFORMAT=\"org.w3.clearkey\","
            + "KEYFORMATVERSIONS=\"1\"";
        const string vendor = "#EXT-X-KEY:KEYFORMAT=\"com.apple.streamingkeydelivery\",METHOD=SAMPLE-AES,URI=\"skd://k\"";
        string window = Window();
        int map = window.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal);
        string text = window[..map] + clearKey + "\n" + vendor + "\n" + window[map..];
        int second = text.IndexOf("#EXTINF:", text.IndexOf("#EXTINF:", StringComparison.Ordinal) + 1, StringComparison.Ordinal);
        text = text[..second] + clearKey + "\n" + text[second..];
        var playlist = StoredMediaPlaylist.Parse(text);
        Assert.Equal([clearKey, vendor], playlist.KeyTags);
        Assert.Empty(StoredMediaPlaylist.Parse(Window()).KeyTags);

        var cut = ClipPlaylist.Cut(playlist, T0.AddSeconds(3), T0.AddSeconds(9), "../../source/")!;
        int keys = cut.Playlist.IndexOf(clearKey + "\n" + vendor + "\n", StringComparison.Ordinal);
        Assert.InRange(keys, 0, cut.Playlist.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal));
        Assert.Equal(keys, cut.Playlist.LastIndexOf(clearKey, StringComparison.Ordinal));
        var made = StoredMediaPlaylist.Parse(cut.Playlist);
        Assert.Equal(playlist.KeyTags, made.KeyTags);

        var ends = ClipEndsPlaylist.Write(made, new ClipPiece("source/first-init.mp4", "source/first.m4s", made.Start!.Value.AddSeconds(1),
            made.Segments[0].Duration - TimeSpan.FromSeconds(1)), null);
        Assert.Equal(playlist.KeyTags, StoredMediaPlaylist.Parse(ends).KeyTags);
        Assert.True(ends.IndexOf(vendor, StringComparison.Ordinal) < ends.IndexOf("#EXT-X-MAP:", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("20261121T054512Z-12.m4s", true, 12)]
    [InlineData("../../source/20261121T054512Z-0.m4s", true, 0)]
    [InlineData("20261121T054512Z-12.3.m4s", false, 0)]
    [InlineData("20261121T054512Z-.m4s", false, 0)]
    [InlineData("20261121T054512Z-init.mp4", false, 0)]
    [InlineData("12.m4s", false, 0)]
    public void Segment_numbers_are_read_from_the_packager_s_file_names(string uri, bool ok, long number)
    {
        Assert.Equal(ok, ClipPlaylist.TryParseSegmentNumber(uri, out long n));
        Assert.Equal(number, n);
    }

    [Fact]
    public void The_clip_master_names_the_clip_s_media_playlists_for_every_rendition_audio_included()
    {
        var (text, renditions) = ClipMaster.Rewrite(Golden.Read("master.m3u8"), uri => uri.EndsWith("/index.m3u8", StringComparison.Ordinal)
            ? uri[..uri.IndexOf('/', StringComparison.Ordinal)] : null, r => r + ".m3u8");
        Assert.Equal(["audio", "source"], renditions);
        Assert.Contains("URI=\"audio.m3u8\"", text, StringComparison.Ordinal);
        Assert.Contains("\nsource.m3u8", text, StringComparison.Ordinal);
        Assert.DoesNotContain("index.m3u8", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_master_naming_an_unknown_playlist_is_refused()
    {
        var error = Assert.Throws<MediaPlaylistFormatException>(() => ClipMaster.Rewrite("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nhttp://x/y.m3u8\n",
            _ => null, r => r));
        Assert.Equal("line 3: 'http://x/y.m3u8' names no rendition of this channel", error.Message);
        Assert.Throws<MediaPlaylistFormatException>(() => ClipMaster.Rewrite("#EXTM3U\n", _ => "a", r => r));
    }
}
