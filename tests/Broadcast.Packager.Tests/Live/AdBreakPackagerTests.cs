using System.Globalization;
using Broadcast.Media;
using Broadcast.Media.Scte35;
using Broadcast.Packager.Live;
using Broadcast.Packager.Manifests;
using Broadcast.Storage;
using Broadcast.TestSupport;

namespace Broadcast.Packager.Tests.Live;

/// <summary>A break asked for while packaging lands at one segment boundary in every rendition, live and in the recording.</summary>
public sealed class AdBreakPackagerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A recorded two-rung ladder plus audio, 2 s segments, on a manual clock; every break change it reports.</summary>
    private sealed record Packaging(StreamPackager Packager, List<AdBreak> Changes, LadderFeed Ladder) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Packager.DisposeAsync();
    }

    private Packaging Rig(Func<int, bool>? isKeyframe = null)
    {
        var time = new ManualClock(new DateTimeOffset(2026, 11, 21, 5, 45, 12, TimeSpan.Zero));
        var options = new PackagerOptions { SegmentSeconds = 2, WindowSegments = 10, DeleteGraceSeconds = 4 };
        var p = new StreamPackager(new BroadcastSettings { Channel = "chan", Record = true, VideoRenditions = [StoreKeys.SourceRendition, "360p"] },
            new FileSystemSegmentStore(_dir.Path), options, time);
        var changes = new List<AdBreak>();
        p.BreakChanged += changes.Add;
        var feed = new LadderFeed(p, time, TestMedia.Video(), TestMedia.Video(640, 360));
        return new Packaging(p, changes, isKeyframe is null ? feed : new LadderFeed(p, time, TestMedia.Video(), TestMedia.Video(640, 360)) { IsKeyframe = isKeyframe });
    }

    private string Read(string key) => File.ReadAllText(new FileSystemSegmentStore(_dir.Path).PathOf(key));

    [Fact]
    public async Task A_break_is_marked_at_the_same_boundary_in_every_playlist_the_mpd_and_the_recording()
    {
        await using var rig = Rig();
        var (p, changes, ladder) = (rig.Packager, rig.Changes, rig.Ladder);
        Task Feed(int from, int to) => ladder.FeedAsync(from, to);

        await Feed(0, 5 * 30 + 7); // 5.23 s: segment 3 (4-6 s) is open
        Assert.True(await p.InsertBreakAsync(new SpliceCue(77, null, 4 * 90_000, null, "test"), default));
        Assert.False(await p.InsertBreakAsync(new SpliceCue(78, null, 4 * 90_000, null, "test"), default)); // one at a time
        await Feed(5 * 30 + 7, 16 * 30);

        // Begins at the next boundary (6 s: segment 4), ends 4 s later (segment 6).
        Assert.Equal(2, changes.Count);
        var b = Assert.Single(p.Breaks);
        Assert.Equal((4L, 6L), (b.StartNumber, b.EndNumber!.Value));
        foreach (var rendition in new[] { "source", "360p", "audio" })
        {
            string playlist = Read($"chan/{rendition}/index.m3u8");
            AssertMarkedAt(playlist, "SCTE35-OUT", b, rendition);
            AssertMarkedAt(playlist, "SCTE35-IN", b, rendition);
        }
        string mpd = Read("chan/manifest.mpd");
        Assert.Contains($"<Event presentationTime=\"{6 * 90_000}\" duration=\"{4 * 90_000}\" id=\"77\">", mpd, StringComparison.Ordinal);

        await p.CompleteAsync(default);
        Assert.False(await p.InsertBreakAsync(new SpliceCue(79, null, 90_000, null, "test"), default)); // ended
        foreach (var rendition in new[] { "source", "360p", "audio" })
        {
            string vod = Read(StoreKeys.VodPlaylist("chan", rendition, p.BroadcastId));
            AssertMarkedAt(vod, "SCTE35-OUT", b, rendition);
            AssertMarkedAt(vod, "SCTE35-IN", b, rendition);
        }
        Assert.Contains("id=\"77\"", Read(StoreKeys.RecordingMpd("chan", p.BroadcastId)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_break_still_running_when_the_broadcast_ends_returns_at_its_last_segment_in_every_ended_manifest()
    {
        await using var rig = Rig();
        var (p, changes, ladder) = (rig.Packager, rig.Changes, rig.Ladder);

        await ladder.FeedAsync(0, 5 * 30 + 7);
        Assert.True(await p.InsertBreakAsync(new SpliceCue(90, null, 30 * 90_000, null, "test"), default)); // 30 s planned
        await ladder.FeedAsync(5 * 30 + 7, 10 * 30); // the break begins at 6 s (segment 4); the encoder stops at 10 s
        await p.CompleteAsync(default);

        // Closed with the broadcast: after segment 5 (8-10 s), 4 s long, not its planned 30.
        Assert.Equal(2, changes.Count);
        var b = Assert.Single(p.Breaks);
        Assert.Equal((4L, 6L), (b.StartNumber, b.EndNumber!.Value));
        Assert.InRange(b.Duration!.Value, 4 * 90_000 - 3000, 4 * 90_000);
        Assert.True(SpliceInfoSection.TryRead(b.InSection.Span, out var section, out _, out var error), error.ToString());
        Assert.True(section is { Insert.OutOfNetwork: false }, "the return's splice_insert is not an IN");
        foreach (var rendition in new[] { "source", "360p", "audio" })
        {
            foreach (var playlist in new[] { Read($"chan/{rendition}/index.m3u8"), Read(StoreKeys.VodPlaylist("chan", rendition, p.BroadcastId)) })
            {
                Assert.Contains($"-5.m4s\n#EXT-X-DATERANGE:ID=\"splice-90\",START-DATE=\"{b.StartDate.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\",PLANNED-DURATION=30.000,DURATION=",
                    playlist, StringComparison.Ordinal);
                Assert.EndsWith("\n#EXT-X-CUE-IN\n#EXT-X-ENDLIST\n", playlist, StringComparison.Ordinal);
                Assert.Equal(1, TestMedia.CountOf(playlist, "SCTE35-IN="));
            }
        }
        foreach (var mpd in new[] { Read("chan/manifest.mpd"), Read(StoreKeys.RecordingMpd("chan", p.BroadcastId)) })
        {
            Assert.Contains($"<Event presentationTime=\"{6 * 90_000}\" duration=\"{b.Duration.Value}\" id=\"90\">", mpd, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// An encoder that conditions its splice (an IDR at the splice time and one at the return, as SCTE-35 encoders do)
    /// gets its break exactly there: every rendition cuts a short segment before each of those keyframes, inside the
    /// 2 s target, and the break starts and ends with those segments in all of them, audio included.
    /// </summary>
    [Fact]
    public async Task A_break_starts_exactly_at_a_keyframe_the_encoder_put_at_its_splice_time()
    {
        // Keyframes every 2 s, and one more at 7.0 s where the encoder was told a 4 s break begins, and at 11.0 s where it ends.
        await using var rig = Rig(i => i % 60 == 0 || i == 210 || i == 330);
        var (p, changes, ladder) = (rig.Packager, rig.Changes, rig.Ladder);

        await ladder.FeedAsync(0, 5 * 30 + 7); // 5.23 s: the cue arrives with 1.77 s of pre-roll
        Assert.True(await p.InsertBreakAsync(new SpliceCue(81, 7 * 90_000, 4 * 90_000, null, "test"), default));
        await ladder.FeedAsync(5 * 30 + 7, 16 * 30);

        // Segments 4 (6-7 s) and 5 (7-8 s): the break begins with 5, at 7.0 s; segments 7 (10-11 s) and 8 (11-12 s): it
        // returns with 8, at 11.0 s, exactly 4 s later.
        var b = Assert.Single(p.Breaks);
        Assert.Equal((5L, 8L), (b.StartNumber, b.EndNumber!.Value));
        Assert.Equal(4 * 90_000L, b.Duration);
        Assert.Equal(7 * 90_000L, b.StartPresentation);
        foreach (var rendition in new[] { "source", "360p", "audio" })
        {
            string playlist = Read($"chan/{rendition}/index.m3u8");
            AssertMarkedAt(playlist, "SCTE35-OUT", b, rendition);
            AssertMarkedAt(playlist, "SCTE35-IN", b, rendition);
        }
        Assert.Equal(Extinfs(Read("chan/source/index.m3u8")), Extinfs(Read("chan/360p/index.m3u8")));
        // 4-6, 6-7, 7-8, 8-10, 10-11, 11-12, 12-14 s
        Assert.Contains("2.000|1.000|1.000|2.000|1.000|1.000|2.000", Extinfs(Read("chan/source/index.m3u8")), StringComparison.Ordinal);
        Assert.Contains($"<Event presentationTime=\"{7 * 90_000}\" duration=\"{4 * 90_000}\" id=\"81\">", Read("chan/manifest.mpd"), StringComparison.Ordinal);
        Assert.Equal(2, changes.Count);
    }

    /// <summary>
    /// Without a return IDR at the planned end the break returns at the first keyframe after it, never before: ads
    /// stitched into it for its planned length are not cut short. Keyframes every 1.5 s, a 4 s break asked at 6.0 s.
    /// </summary>
    [Fact]
    public async Task Without_a_return_idr_a_break_returns_at_the_first_keyframe_after_its_planned_end()
    {
        await using var rig = Rig(i => i % 45 == 0);
        var (p, _, ladder) = (rig.Packager, rig.Changes, rig.Ladder);

        await ladder.FeedAsync(0, 150);
        Assert.True(await p.InsertBreakAsync(new SpliceCue(83, 6 * 90_000, 4 * 90_000, null, "test"), default));
        await ladder.FeedAsync(150, 20 * 30);

        // Starts at the 6.0 s keyframe; the planned end, 10.0 s, has none: 10.5 s (the regular boundary at 10 s would have
        // needed a keyframe there too).
        var b = Assert.Single(p.Breaks);
        Assert.Equal(6 * 90_000L, b.StartPresentation);
        Assert.Equal(4 * 90_000L + 45_000, b.Duration);
        foreach (var rendition in new[] { "source", "360p", "audio" })
            AssertMarkedAt(Read($"chan/{rendition}/index.m3u8"), "SCTE35-IN", b, rendition);
    }

    /// <summary>
    /// A transcoder rung trails its source. A splice time the source has passed but the rung has not would have the rung
    /// cut where the source did not, and their segment numbers part: the cut moves to the first keyframe after the
    /// newest picture any rendition took, the same one in both.
    /// </summary>
    [Fact]
    public async Task A_splice_time_one_rendition_has_passed_moves_to_the_next_keyframe_for_all_of_them()
    {
        // Keyframes every 0.5 s: each could start a break.
        await using var rig = Rig(i => i % 15 == 0);
        var (p, _, ladder) = (rig.Packager, rig.Changes, rig.Ladder);

        await ladder.FeedAsync(0, 140);                 // both at 4.63 s
        await ladder.FeedAsync(140, 161, renditionCount: 1); // the source goes on to 5.33 s; the rung trails at 4.63 s
        Assert.True(await p.InsertBreakAsync(new SpliceCue(82, 4 * 90_000 + 72_000, 4 * 90_000, null, "test"), default)); // 4.8 s
        await ladder.FeedRenditionAsync(1, 140, 161);   // the rung catches up, across its keyframe at 5.0 s
        await ladder.FeedAsync(161, 16 * 30);

        // Not at 5.0 s (the source was past it), but at 5.5 s in both; then the regular boundary at 6 s.
        var b = Assert.Single(p.Breaks);
        Assert.Equal(5 * 90_000L + 45_000, b.StartPresentation);
        foreach (var rendition in new[] { "source", "360p", "audio" })
            AssertMarkedAt(Read($"chan/{rendition}/index.m3u8"), "SCTE35-OUT", b, rendition);
        string source = Extinfs(Read("chan/source/index.m3u8"));
        Assert.Equal(source, Extinfs(Read("chan/360p/index.m3u8")));
        Assert.Contains("1.500|0.500|2.000", source, StringComparison.Ordinal); // 4-5.5 s, 5.5-6 s, 6-8 s
    }

    /// <summary>The media playlist's segment durations, in order, joined by '|'.</summary>
    private static string Extinfs(string playlist) =>
        string.Join('|', playlist.Split('\n').Where(l => l.StartsWith("#EXTINF:", StringComparison.Ordinal)).Select(l => l["#EXTINF:".Length..].TrimEnd(',')));

    /// <summary>
    /// The DATERANGE carrying <paramref name="attribute"/> is followed (after its CUE tag) by the PROGRAM-DATE-TIME and the
    /// segment at the break's edge; for video that date is the DATERANGE's own instant, audio is cut within a frame of it.
    /// </summary>
    private static void AssertMarkedAt(string playlist, string attribute, AdBreak b, string rendition)
    {
        var lines = playlist.Split('\n');
        int at = Array.FindIndex(lines, l => l.StartsWith("#EXT-X-DATERANGE:", StringComparison.Ordinal) && l.Contains(attribute, StringComparison.Ordinal));
        Assert.True(at >= 0, $"{rendition}: no DATERANGE with {attribute} in\n{playlist}");
        Assert.Contains($"START-DATE=\"{b.StartDate.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\"", lines[at], StringComparison.Ordinal);
        Assert.StartsWith("#EXT-X-CUE-", lines[at + 1], StringComparison.Ordinal);
        Assert.StartsWith("#EXT-X-PROGRAM-DATE-TIME:", lines[at + 2], StringComparison.Ordinal);
        Assert.StartsWith("#EXTINF:", lines[at + 3], StringComparison.Ordinal);
        long number = attribute == "SCTE35-OUT" ? b.StartNumber : b.EndNumber!.Value;
        Assert.EndsWith($"-{number}.m4s", lines[at + 4], StringComparison.Ordinal);
        var segmentDate = DateTimeOffset.Parse(lines[at + 2]["#EXT-X-PROGRAM-DATE-TIME:".Length..], CultureInfo.InvariantCulture);
        var edge = attribute == "SCTE35-OUT" ? b.StartDate : b.StartDate + TimeSpan.FromTicks(b.Duration!.Value * TimeSpan.TicksPerSecond / b.Timescale);
        var tolerance = rendition == "audio" ? TimeSpan.FromMilliseconds(22) : TimeSpan.Zero;
        Assert.True((segmentDate - edge).Duration() <= tolerance, $"{rendition}: segment at {segmentDate:O}, edge at {edge:O}");
    }
}
