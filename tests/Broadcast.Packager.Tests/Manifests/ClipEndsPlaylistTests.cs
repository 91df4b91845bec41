using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>A clip's media playlist once its ends are cut to the frame: pieces with their own maps on the stored segments' timeline, no discontinuity around them.</summary>
public class ClipEndsPlaylistTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    /// <summary>The segment-accurate clip of [T0+3.3 s, T0+9.5 s): segments 2 to 5 (T0+2 s to T0+10 s).</summary>
    private static StoredMediaPlaylist Clip()
    {
        var cut = ClipPlaylist.Cut(StoredMediaPlaylist.Parse(ClipPlaylistTests.Window()), T0.AddMilliseconds(3300), T0.AddMilliseconds(9500), "../../source/");
        return StoredMediaPlaylist.Parse(cut!.Playlist);
    }

    [Fact]
    public void Both_ends_are_pieces_and_the_stored_segments_between_keep_their_map()
    {
        var text = ClipEndsPlaylist.Write(Clip(),
            new ClipPiece("source/first-init.mp4", "source/first.m4s", T0.AddMilliseconds(3300), TimeSpan.FromSeconds(0.7)),
            new ClipPiece("source/last-init.mp4", "source/last.m4s", T0.AddSeconds(8), TimeSpan.FromSeconds(1.5)));

        Assert.Equal("""
            #EXTM3U
            #EXT-X-VERSION:7
            #EXT-X-TARGETDURATION:2
            #EXT-X-PLAYLIST-TYPE:VOD
            #EXT-X-MEDIA-SEQUENCE:0
            #EXT-X-INDEPENDENT-SEGMENTS
            #EXT-X-MAP:URI="source/first-init.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:15.300Z
            #EXTINF:0.700,
            source/first.m4s
            #EXT-X-MAP:URI="../../source/20261121T054512Z-init.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:16.000Z
            #EXTINF:2.000,
            ../../source/20261121T054512Z-3.m4s
            #EXTINF:2.000,
            ../../source/20261121T054512Z-4.m4s
            #EXT-X-MAP:URI="source/last-init.mp4"
            #EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:20.000Z
            #EXTINF:1.500,
            source/last.m4s
            #EXT-X-ENDLIST

            """.ReplaceLineEndings("\n"), text);
        // Read back: the clip lasts exactly the range asked for.
        var back = StoredMediaPlaylist.Parse(text);
        Assert.Equal(T0.AddMilliseconds(3300), back.Start);
        Assert.Equal(T0.AddMilliseconds(9500), back.End);
    }

    [Fact]
    public void One_end_alone_and_a_one_segment_clip()
    {
        var clip = Clip();
        var text = ClipEndsPlaylist.Write(clip, null,
            new ClipPiece("source/last-init.mp4", "source/last.m4s", T0.AddSeconds(8), TimeSpan.FromSeconds(1.5)));
        Assert.StartsWith("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MEDIA-SEQUENCE:0\n"
            + "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"../../source/20261121T054512Z-init.mp4\"\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", text, StringComparison.Ordinal);
        Assert.Equal(T0.AddSeconds(2), StoredMediaPlaylist.Parse(text).Start);

        var single = StoredMediaPlaylist.Parse(ClipPlaylist.Cut(StoredMediaPlaylist.Parse(ClipPlaylistTests.Window()), T0.AddMilliseconds(4500),
            T0.AddMilliseconds(5500), "../../source/")!.Playlist);
        Assert.Single(single.Segments);
        text = ClipEndsPlaylist.Write(single, new ClipPiece("source/first-init.mp4", "source/first.m4s", T0.AddMilliseconds(4500), TimeSpan.FromSeconds(1)), null);
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY", text, StringComparison.Ordinal);
        Assert.DoesNotContain("../../source/", text, StringComparison.Ordinal);
        var back = StoredMediaPlaylist.Parse(text);
        Assert.Equal((T0.AddMilliseconds(4500), T0.AddMilliseconds(5500)), (back.Start!.Value, back.End!.Value));
        Assert.Throws<ArgumentException>(() => ClipEndsPlaylist.Write(single, null,
            new ClipPiece("a", "b", T0, TimeSpan.FromSeconds(1))));
    }

    /// <summary>
    /// #66: the audio's pieces start on the AAC frame around the cut, 9 ms before the video's, and end 11 ms after it.
    /// Shaka ends every rendition's last segment at the least sum of EXTINFs and then places each at its program
    /// date-time, so an audio that starts first and lists more never reached its end of stream: it lists the video's span.
    /// </summary>
    [Fact]
    public void Every_rendition_lists_the_leads_span_from_its_own_first_program_date_time()
    {
        var video = ClipEndsPlaylist.Span(Clip(),
            new ClipPiece("source/first-init.mp4", "source/first.m4s", T0.AddMilliseconds(3300), TimeSpan.FromSeconds(0.7)),
            new ClipPiece("source/last-init.mp4", "source/last.m4s", T0.AddSeconds(8), TimeSpan.FromSeconds(1.5)));
        Assert.Equal(TimeSpan.FromMilliseconds(6200), video);

        var text = ClipEndsPlaylist.Write(Clip(),
            new ClipPiece("audio/first-init.mp4", "audio/first.m4s", T0.AddMilliseconds(3291), TimeSpan.FromMilliseconds(709)),
            new ClipPiece("audio/last-init.mp4", "audio/last.m4s", T0.AddSeconds(8), TimeSpan.FromMilliseconds(1511)), video);

        Assert.Contains("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:15.291Z\n#EXTINF:0.709,\naudio/first.m4s\n", text, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:20.000Z\n#EXTINF:1.491,\naudio/last.m4s\n", text, StringComparison.Ordinal);
        var back = StoredMediaPlaylist.Parse(text);
        Assert.Equal(video, back.Segments.Aggregate(TimeSpan.Zero, (sum, s) => sum + s.Duration));
        Assert.Equal(T0.AddMilliseconds(3291) + video, back.End);
    }

    /// <summary>
    /// A piece's start is written truncated to the millisecond and its duration rounded: its EXTINF is what reaches the
    /// program date-time written after it, so a player that dates the next segment by the EXTINFs before it (Shaka's
    /// sums) and one that reads its tag agree.
    /// </summary>
    [Fact]
    public void Extinfs_add_up_to_the_program_date_times_written_after_them()
    {
        var text = ClipEndsPlaylist.Write(Clip(),
            new ClipPiece("source/first-init.mp4", "source/first.m4s", T0.AddTicks(32_996_000), TimeSpan.FromTicks(7_004_000)), null);

        Assert.Contains("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:15.299Z\n#EXTINF:0.701,\nsource/first.m4s\n", text, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-PROGRAM-DATE-TIME:2026-11-21T05:45:16.000Z\n#EXTINF:2.000,\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void The_master_gives_each_renditions_codec_and_bandwidth_and_skips_what_it_cannot_read()
    {
        const string Master = "#EXTM3U\n#EXT-X-INDEPENDENT-SEGMENTS\n"
            + "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,URI=\"audio.m3u8\"\n"
            + "#EXT-X-STREAM-INF:AVERAGE-BANDWIDTH=4000000,BANDWIDTH=5200000,CODECS=\"avc1.640028,mp4a.40.2\",AUDIO=\"audio\"\r\n1080p.m3u8\r\n"
            + "#EXT-X-STREAM-INF:BANDWIDTH=1400000,CODECS=\"hvc1.1.6.L93.B0\"\n720p.m3u8\n"
            + "#EXT-X-STREAM-INF:BANDWIDTH=abc,CODECS=\"avc1.64001e\"\n360p.m3u8\n"
            + "#EXT-X-STREAM-INF:RESOLUTION=1x1\nbare.m3u8\n";
        // AVERAGE-BANDWIDTH is not BANDWIDTH; a value that is not a number is left out.
        Assert.Equal(
        [
            new ClipMasterRendition("audio", "mp4a", null), new ClipMasterRendition("1080p", "avc1.640028", 5_200_000),
            new ClipMasterRendition("720p", "hvc1.1.6.L93.B0", 1_400_000), new ClipMasterRendition("360p", "avc1.64001e", null),
        ], ClipMasterRenditions.Read(Master));
        Assert.Empty(ClipMasterRenditions.Read("not a playlist"));
    }
}
