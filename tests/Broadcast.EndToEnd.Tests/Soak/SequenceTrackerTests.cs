using Broadcast.Soak;

namespace Broadcast.EndToEnd.Tests.Soak;

/// <summary>The soak's playlist reader and gap rule, on playlists as the packager writes them (no server).</summary>
public sealed class SequenceTrackerTests
{
    private static string Playlist(long sequence, params string[] lines) =>
        $"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{sequence}\n#EXT-X-MAP:URI=\"b1-init.mp4\"\n" +
        string.Concat(lines.Select(l => l.StartsWith('#') ? l + "\n" : $"#EXTINF:2.000,\n{l}\n"));

    private static MediaPlaylistView Parse(string text)
    {
        Assert.True(MediaPlaylistView.TryParse(text, out var view, out string error), error);
        return view;
    }

    [Fact]
    public void Parses_sequence_map_entries_discontinuities_and_endlist()
    {
        var view = Parse(Playlist(4, "20261121T083033Z-4.m4s", "#EXT-X-DISCONTINUITY", "20261121T083033Z-5.m4s", "#EXT-X-ENDLIST"));
        Assert.Equal(4, view.MediaSequence);
        Assert.Equal("b1-init.mp4", view.InitUri);
        Assert.True(view.Ended);
        Assert.Equal([(4L, "20261121T083033Z", 4L, false), (5L, "20261121T083033Z", 5L, true)],
            view.Entries.Select(e => (e.Sequence, e.BroadcastId, e.Number, e.Discontinuity)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("#EXT-X-MEDIA-SEQUENCE:1\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:x\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:-1\n")]
    [InlineData("#EXTM3U\n#EXT-X-MAP:URI=\"unterminated\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\nnodash.m4s\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\nb-x.m4s\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\nb-.m4s\n")]
    [InlineData("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:1\n-1.m4s\n")]
    public void Malformed_playlists_are_refused_with_a_reason(string text)
    {
        Assert.False(MediaPlaylistView.TryParse(text, out _, out string error));
        Assert.NotEmpty(error);
    }

    [Fact]
    public void A_sliding_window_polled_in_time_has_no_gap_and_yields_each_segment_once()
    {
        var t = new SequenceTracker();
        Assert.Equal(3, t.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-2.m4s", "b1-3.m4s"))).Count);
        Assert.Equal(["b1-4.m4s"], t.Observe(Parse(Playlist(2, "b1-2.m4s", "b1-3.m4s", "b1-4.m4s"))).Select(e => e.Uri));
        Assert.Empty(t.Observe(Parse(Playlist(2, "b1-2.m4s", "b1-3.m4s", "b1-4.m4s"))));
        Assert.Equal(0, t.Gaps);
    }

    [Fact]
    public void A_marked_discontinuity_continuing_the_broadcast_is_accepted()
    {
        var t = new SequenceTracker();
        t.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-2.m4s")));
        t.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-2.m4s", "#EXT-X-DISCONTINUITY", "b1-3.m4s")));
        t.Observe(Parse(Playlist(2, "b1-2.m4s", "#EXT-X-DISCONTINUITY", "b1-3.m4s", "b1-4.m4s")));
        Assert.Equal(0, t.Gaps);
        Assert.Equal(1, t.Discontinuities);
    }

    [Fact]
    public void A_new_broadcast_restarting_its_sequence_is_accepted()
    {
        var t = new SequenceTracker();
        t.Observe(Parse(Playlist(7, "b1-7.m4s", "b1-8.m4s", "#EXT-X-ENDLIST")));
        t.Observe(Parse(Playlist(1, "b2-1.m4s", "b2-2.m4s")));
        t.Observe(Parse(Playlist(2, "b2-2.m4s", "b2-3.m4s")));
        Assert.Equal(0, t.Gaps);
        Assert.Equal(1, t.NewBroadcasts);
    }

    [Fact]
    public void A_missing_segment_inside_a_playlist_or_between_polls_is_a_gap()
    {
        var inside = new SequenceTracker();
        inside.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-3.m4s")));
        Assert.Equal(1, inside.Gaps);

        var between = new SequenceTracker();
        between.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-2.m4s")));
        between.Observe(Parse(Playlist(5, "b1-5.m4s", "b1-6.m4s")));
        Assert.Equal(1, between.Gaps);

        var renamed = new SequenceTracker();
        renamed.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-2.m4s")));
        renamed.Observe(Parse(Playlist(1, "b1-1.m4s", "b1-9.m4s", "b1-10.m4s")));
        Assert.True(renamed.Gaps >= 1, string.Join("; ", renamed.GapDescriptions));
    }

    [Fact]
    public void Another_broadcast_joined_without_a_discontinuity_tag_is_a_gap()
    {
        var t = new SequenceTracker();
        t.Observe(Parse(Playlist(1, "b1-1.m4s", "b2-2.m4s")));
        Assert.Equal(1, t.Gaps);
    }
}
