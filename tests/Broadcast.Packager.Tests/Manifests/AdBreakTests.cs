using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Manifests;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>Ad breaks on the segment grid (<see cref="AdBreakSchedule"/>) and how HLS and DASH mark them (golden files).</summary>
public sealed class AdBreakTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    /// <summary>
    /// <paramref name="count"/> segments of 2 s from media time 10 s (see <see cref="ManifestGoldenTests.Build"/>) with a
    /// 6 s break asked for at 13 s: it begins with segment 3 (14 s, the first start at or after 13 s) and ends at segment 6
    /// (20 s) once that exists.
    /// </summary>
    private static (RenditionTimeline Video, RenditionTimeline Audio, AdBreakSchedule Breaks) WithBreak(int count)
    {
        var (v, a) = ManifestGoldenTests.Build(count);
        var schedule = new AdBreakSchedule(segmentSeconds: 2);
        Assert.True(schedule.TryAdd(new SpliceCue(42, 13 * 90_000, 6 * 90_000, null, "test"), 13 * 90_000, 90_000));
        foreach (var e in v.Entries) schedule.OnLeaderSegment(e);
        return (v, a, schedule);
    }

    [Fact]
    public void A_break_starts_at_the_first_boundary_at_or_after_its_splice_time_and_ends_at_the_boundary_nearest_its_planned_end()
    {
        var (v, _, schedule) = WithBreak(8);
        var b = Assert.Single(schedule.Placed);
        Assert.Equal(3, b.StartNumber);
        Assert.Equal(14 * 90_000, b.StartTime);
        Assert.Equal(Start.AddSeconds(4), b.StartDate);
        Assert.Equal(6, b.EndNumber);
        Assert.Equal(6 * 90_000, b.Duration);
        Assert.Equal("splice-42", b.Id);

        // The sections are real SCTE-35: a splice_insert out with the planned break_duration, then the return.
        Assert.True(SpliceInfoSection.TryRead(b.OutSection.Span, out var outSection, out _, out _));
        Assert.Equal(new SpliceInsert { EventId = 42, OutOfNetwork = true, PtsTime = 14 * 90_000, BreakDuration = 6 * 90_000, AutoReturn = true }, outSection!.Insert);
        Assert.True(SpliceInfoSection.TryRead(b.InSection.Span, out var inSection, out _, out _));
        Assert.Equal(new SpliceInsert { EventId = 42, PtsTime = 20 * 90_000 }, inSection!.Insert);
        Assert.Equal(v.Entries[5].Start, b.StartTime + b.Duration);
    }

    [Fact]
    public void Breaks_do_not_overlap_and_the_next_may_follow_the_last()
    {
        var (v, _) = ManifestGoldenTests.Build(12);
        var schedule = new AdBreakSchedule(2);
        var cue = new SpliceCue(1, null, 4 * 90_000, null, "test");
        Assert.True(schedule.TryAdd(cue, 0, 90_000));
        Assert.False(schedule.TryAdd(cue with { EventId = 2 }, 0, 90_000)); // one waits
        schedule.OnLeaderSegment(v.Entries[0]);
        Assert.Equal(1, schedule.Placed[0].StartNumber);
        Assert.False(schedule.TryAdd(cue with { EventId = 2 }, 0, 90_000)); // one runs
        for (int i = 1; i < 4; i++) schedule.OnLeaderSegment(v.Entries[i]);
        Assert.Equal(3, schedule.Placed[0].EndNumber); // 10 s + 4 s = segment 3's start
        Assert.True(schedule.TryAdd(cue with { EventId = 2 }, 0, 90_000));
        schedule.OnLeaderSegment(v.Entries[4]);
        Assert.Equal([1, 5], schedule.Placed.Select(b => b.StartNumber));
    }

    [Fact]
    public void A_cue_that_carried_its_own_section_keeps_it()
    {
        var sent = new SpliceInfoSection
        {
            CommandType = SpliceCommandType.SpliceInsert,
            Insert = new SpliceInsert { EventId = 7, OutOfNetwork = true, PtsTime = 123, BreakDuration = 2_700_000, AutoReturn = true, AvailNum = 1, AvailsExpected = 2 },
        };
        var (v, _) = ManifestGoldenTests.Build(2);
        var schedule = new AdBreakSchedule(2);
        Assert.True(schedule.TryAdd(new SpliceCue(7, null, 2_700_000, sent, "rtmp"), 0, 90_000));
        Assert.Same(schedule.OnLeaderSegment(v.Entries[0]), schedule.Placed[0]);
        Assert.Equal(sent.ToArray(), schedule.Placed[0].OutSection.ToArray());
    }

    [Fact]
    public void Media_playlists_mark_the_break_in_video_and_audio()
    {
        var (v, a, schedule) = WithBreak(8);
        string video = HlsPlaylistWriter.WriteMediaPlaylist(v, ManifestGoldenTests.Id, v.WindowStart(10, 0), PlaylistState.Live, schedule.Placed);
        Golden.Verify("break.m3u8", video);
        string audio = HlsPlaylistWriter.WriteMediaPlaylist(a, ManifestGoldenTests.Id, a.WindowStart(10, 0), PlaylistState.Live, schedule.Placed);
        Golden.Verify("break-audio.m3u8", audio);
        // Same ID and attributes in every rendition (RFC 8216 §4.3.2.7: one date range, however many playlists name it).
        Assert.Equal(DateRanges(video), DateRanges(audio));
    }

    [Fact]
    public void The_marks_leave_with_their_segments()
    {
        var (v, _, schedule) = WithBreak(11);
        // Window of 6: segments 6-11. The start slid out; the return (segment 6) is still listed.
        string slid = HlsPlaylistWriter.WriteMediaPlaylist(v, ManifestGoldenTests.Id, v.WindowStart(6, 0), PlaylistState.Live, schedule.Placed);
        Golden.Verify("break-window.m3u8", slid);
        Assert.DoesNotContain("SCTE35-OUT", slid, StringComparison.Ordinal);
        Assert.Contains("SCTE35-IN", slid, StringComparison.Ordinal);
        var (later, _, laterSchedule) = WithBreak(14);
        string gone = HlsPlaylistWriter.WriteMediaPlaylist(later, ManifestGoldenTests.Id, later.WindowStart(6, 0), PlaylistState.Live, laterSchedule.Placed);
        Assert.DoesNotContain("#EXT-X-DATERANGE", gone, StringComparison.Ordinal);
        Assert.DoesNotContain("#EXT-X-CUE", gone, StringComparison.Ordinal);
    }

    [Fact]
    public void A_running_break_has_its_start_and_continuation_tags_only()
    {
        var (v, _, schedule) = WithBreak(5);
        Assert.Null(schedule.Placed[0].EndNumber);
        string text = HlsPlaylistWriter.WriteMediaPlaylist(v, ManifestGoldenTests.Id, 0, PlaylistState.Live, schedule.Placed);
        Assert.Contains("#EXT-X-CUE-OUT:DURATION=6.000\n", text, StringComparison.Ordinal);
        Assert.Contains("#EXT-X-CUE-OUT-CONT:ElapsedTime=4.000,Duration=6.000\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("CUE-IN", text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_break_running_at_the_end_returns_after_the_last_segment_and_a_waiting_one_is_dropped()
    {
        var (v, _, schedule) = WithBreak(5); // the break began with segment 3 (14 s); segment 5 ends at 20 s, its planned end
        var closed = schedule.CloseAtEnd(v.Entries[^1]);
        Assert.NotNull(closed);
        Assert.Equal((6L, 6L * 90_000), (closed.EndNumber!.Value, closed.Duration!.Value));
        Assert.True(SpliceInfoSection.TryRead(closed.InSection.Span, out var inSection, out _, out _));
        Assert.Equal(new SpliceInsert { EventId = 42, PtsTime = 20 * 90_000 }, inSection!.Insert);
        Assert.Null(schedule.CloseAtEnd(v.Entries[^1])); // nothing runs any more

        // Live playlists never carry it (the next segment will); an ended one closes it after its last segment.
        Assert.DoesNotContain("CUE-IN", HlsPlaylistWriter.WriteMediaPlaylist(v, ManifestGoldenTests.Id, 0, PlaylistState.Live, schedule.Placed), StringComparison.Ordinal);
        string ended = HlsPlaylistWriter.WriteMediaPlaylist(v, ManifestGoldenTests.Id, 0, PlaylistState.Ended, schedule.Placed);
        Assert.EndsWith($"-5.m4s\n#EXT-X-DATERANGE:ID=\"splice-42\",START-DATE=\"2026-11-21T05:45:16.000Z\",PLANNED-DURATION=6.000,DURATION=6.000,SCTE35-IN=0x{Convert.ToHexString(closed.InSection.Span)}\n#EXT-X-CUE-IN\n#EXT-X-ENDLIST\n",
            ended, StringComparison.Ordinal);

        var (w, _) = ManifestGoldenTests.Build(3);
        var waiting = new AdBreakSchedule(2);
        Assert.True(waiting.TryAdd(new SpliceCue(7, null, 90_000, null, "test"), 60 * 90_000, 90_000)); // after the last segment
        foreach (var e in w.Entries) waiting.OnLeaderSegment(e);
        Assert.Null(waiting.CloseAtEnd(w.Entries[^1]));
        Assert.Empty(waiting.Placed);
        Assert.True(waiting.TryAdd(new SpliceCue(8, null, 90_000, null, "test"), 0, 90_000)); // the dropped one no longer waits
    }

    [Fact]
    public void Vod_playlist_keeps_the_break() =>
        Golden.Verify("break-vod.m3u8", HlsPlaylistWriter.WriteMediaPlaylist(WithBreak(8).Video, ManifestGoldenTests.Id, 0, PlaylistState.Vod, WithBreak(8).Breaks.Placed));

    [Fact]
    public void Mpd_carries_the_break_as_an_scte35_event_in_its_period()
    {
        var (v, a, schedule) = WithBreak(8);
        string mpd = DashManifestWriter.Write([v], a, new MpdSettings(ManifestGoldenTests.Id, false, Start, Start.AddSeconds(16), 2, 12, "/time", Breaks: schedule.Placed));
        Golden.Verify("break.mpd", mpd);
        // 4 s after the Period's start (10 s), 6 s long, in the video timescale.
        Assert.Contains("<Event presentationTime=\"360000\" duration=\"540000\" id=\"42\">", mpd, StringComparison.Ordinal);
        string withoutBreak = DashManifestWriter.Write([v], a, new MpdSettings(ManifestGoldenTests.Id, false, Start, Start.AddSeconds(16), 2, 12, "/time"));
        Assert.DoesNotContain("EventStream", withoutBreak, StringComparison.Ordinal);
        // Once its segment left the shown window the event goes too.
        string slid = DashManifestWriter.Write([v], a, new MpdSettings(ManifestGoldenTests.Id, false, Start, Start.AddSeconds(16), 2, 12, "/time", FirstNumber: 4, Breaks: schedule.Placed));
        Assert.DoesNotContain("EventStream", slid, StringComparison.Ordinal);
    }

    private static List<string> DateRanges(string playlist) =>
        playlist.Split('\n').Where(l => l.StartsWith("#EXT-X-DATERANGE:", StringComparison.Ordinal)).ToList();
}
