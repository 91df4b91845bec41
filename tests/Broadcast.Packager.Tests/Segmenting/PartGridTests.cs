using Broadcast.Media;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Tests.Segmenting;

/// <summary>
/// Low-latency parts on the segment's grid (<see cref="PartGrid"/>): every part of a full segment, the final one included,
/// is about a cell long, video and audio alike; irregular input (a late keyframe, audio stamps that step back or forward)
/// keeps parts and segments contiguous and never leaves a final part of a frame or two.
/// </summary>
public sealed class PartGridTests
{
    private const int Hz = Timescales.Video;
    private static readonly long PartTicks = (long)(0.333m * Hz);

    /// <summary>RTMP-style input: video at 30 fps with millisecond stamps, AAC 48 kHz interleaved after each video frame.</summary>
    private static (List<ClosedSegment> Segments, List<ClosedPart> Parts) Feed(int videoFrames, Func<int, bool> isKey,
        Func<long, long>? audioStampMs = null, Func<int, long>? videoStampMs = null, Action<StreamSegmenter, int>? beforeFrame = null)
    {
        using var s = new StreamSegmenter(["source"], "audio", 2, PartTicks);
        var video = TestMedia.Video();
        var audio = TestMedia.Audio();
        var segments = new List<ClosedSegment>();
        var parts = new List<ClosedPart>();
        long nextAudio = 0;
        for (int i = 0; i < videoFrames; i++)
        {
            long ms = videoStampMs?.Invoke(i) ?? (long)Math.Round(i * 1000.0 / 30);
            beforeFrame?.Invoke(s, i);
            s.PushVideo(0, TestMedia.Frame(video, ms * 90, isKey(i)), segments);
            // Audio up to this video frame's time, as an encoder interleaves it.
            for (; nextAudio * 1024 * 1000 / 48000 <= ms; nextAudio++)
            {
                long audioMs = nextAudio * 1024 * 1000 / 48000;
                long stamp = audioStampMs?.Invoke(audioMs) ?? audioMs;
                s.PushAudio(TestMedia.Frame(audio, Timescales.Rescale(stamp, 1000, 48000), true), segments);
            }
            parts.AddRange(s.Parts!);
            s.Parts!.Clear();
        }
        return (segments, parts);
    }

    private static void AssertContiguous(List<ClosedSegment> segments, List<ClosedPart> parts, string rendition)
    {
        var segs = segments.Where(x => x.Rendition == rendition).ToList();
        for (int i = 1; i < segs.Count; i++)
            Assert.True(segs[i].StartTime == segs[i - 1].StartTime + segs[i - 1].Duration,
                $"{rendition} segment {segs[i].Number} starts at {segs[i].StartTime}, {segs[i - 1].Number} ended at {segs[i - 1].StartTime + segs[i - 1].Duration}");
        foreach (var seg in segs)
        {
            var own = parts.Where(p => p.Rendition == rendition && p.Number == seg.Number).OrderBy(p => p.Index).ToList();
            long t = seg.StartTime;
            foreach (var p in own)
            {
                Assert.True(p.StartTime == t, $"{rendition} part {p.Number}.{p.Index} starts at {p.StartTime}, expected {t}");
                t += p.Duration;
            }
            Assert.Equal(seg.StartTime + seg.Duration, t);
        }
    }

    private static double Seconds(ClosedPart p) => p.Duration / (double)p.Timescale;

    /// <summary>
    /// An ad break's cuts inside the 2 s grid (a splice at 3.5 s, its return at 5.5 s, keyframes every 0.5 s): the short
    /// segments' parts still add up to them exactly, video and audio, with no hole at either cut.
    /// </summary>
    [Fact]
    public void Splice_cuts_inside_the_grid_keep_parts_and_segments_contiguous()
    {
        var (segments, parts) = Feed(300, i => i % 15 == 0,
            beforeFrame: (s, i) => { if (i == 100) s.ScheduleSpliceCut(3 * Hz + Hz / 2, 2 * Hz); });
        try
        {
            var starts = segments.Where(x => x.Rendition == "source").Select(x => x.StartTime).ToList();
            Assert.Contains(3 * Hz + Hz / 2, starts);
            Assert.Contains(5 * Hz + Hz / 2, starts);
            AssertContiguous(segments, parts, "source");
            AssertContiguous(segments, parts, "audio");
        }
        finally
        {
            segments.ForEach(x => x.Dispose());
        }
    }

    [Fact]
    public void Two_seconds_at_a_third_is_six_cells_and_a_target_of_0_368()
    {
        var grid = new PartGrid(2 * Hz, PartTicks);
        Assert.Equal(6, grid.Cells);
        Assert.Equal(30_000, grid.CellTicks);
        Assert.Equal(368, grid.TargetMilliseconds);
        Assert.Equal(6, new PartGrid(2 * Hz, Hz / 3).Cells);
        Assert.Equal(4, new PartGrid(2 * Hz, Hz / 2).Cells);
        Assert.Equal(1, new PartGrid(Hz, 2 * Hz).Cells);
    }

    [Theory]
    [InlineData(27_000, 30_000, 3_000, false)] // the frame ends at the point: the cut is after it
    [InlineData(28_499, 30_000, 3_000, false)] // its end is nearer the point than its start
    [InlineData(28_500, 30_000, 3_000, true)]  // nearer the point than its end is: the cut is before it
    [InlineData(30_060, 30_000, 3_000, true)]
    public void A_part_ends_at_the_frame_boundary_nearest_its_grid_point(long time, long point, long frame, bool startsAfter) =>
        Assert.Equal(startsAfter, PartGrid.StartsAfter(time, frame, point));

    [Fact]
    public void Every_part_of_a_full_segment_is_a_cell_long_the_final_part_included()
    {
        var (segments, parts) = Feed(300, i => i % 60 == 0);
        try
        {
            foreach (var rendition in new[] { "source", "audio" })
            {
                AssertContiguous(segments, parts, rendition);
                // The last segment is open at the end; segment 1's audio starts with the first frame.
                foreach (var g in parts.Where(p => p.Rendition == rendition && p.Number is > 1 and < 5).GroupBy(p => p.Number))
                {
                    Assert.Equal(6, g.Count());
                    Assert.All(g, p => Assert.InRange(Seconds(p), 0.85 * 0.368, 0.368));
                }
            }
        }
        finally { segments.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void A_keyframe_one_frame_late_joins_the_final_part()
    {
        // Keyframes at frames 0, 61, 121, ...: each segment after the first lasts 2 s and one frame.
        var (segments, parts) = Feed(250, i => i == 0 || (i - 1) % 60 == 0 && i > 1);
        try
        {
            AssertContiguous(segments, parts, "source");
            AssertContiguous(segments, parts, "audio");
            var finals = parts.Where(p => p.Number is > 1 and < 4).GroupBy(p => (p.Rendition, p.Number)).Select(g => g.MaxBy(p => p.Index)!).ToList();
            Assert.NotEmpty(finals);
            Assert.All(finals, p => Assert.True(Seconds(p) > 0.3, $"{p.Rendition} {p.Number}.{p.Index} lasts {Seconds(p):0.000} s"));
            Assert.All(parts.Where(p => p.Rendition == "source"), p => Assert.True(Seconds(p) <= 0.368, $"{p.Number}.{p.Index} lasts {Seconds(p):0.000} s"));
        }
        finally { segments.ForEach(x => x.Dispose()); }
    }

    /// <summary>
    /// A transcoder that drops frames (a 2-core machine under load, an encoder draining as its input stops) leaves a gap in
    /// the decode times, which the frame before it lasts. Wherever the gap falls in a segment, no part outlasts the Part
    /// Target (RFC 8216bis 4.4.4.9): the part it would overfill ends a frame early, and the parts stay contiguous.
    /// </summary>
    [Fact]
    public void Frames_dropped_anywhere_in_a_segment_never_take_a_part_past_the_part_target()
    {
        foreach (int dropped in new[] { 1, 2, 5 })
        {
            for (int at = 61; at <= 125; at++)
            {
                // Frames from `at` on are stamped `dropped` frames later: frame at - 1 lasts dropped + 1 frame intervals.
                var (segments, parts) = Feed(300, i => i % 60 == 0, videoStampMs: i => (long)Math.Round((i < at ? i : i + dropped) * 1000.0 / 30));
                try
                {
                    AssertContiguous(segments, parts, "source");
                    AssertContiguous(segments, parts, "audio");
                    Assert.All(parts.Where(p => p.Rendition == "source"), p =>
                        Assert.True(Seconds(p) <= 0.368, $"{dropped} dropped before frame {at}: part {p.Number}.{p.Index} lasts {Seconds(p):0.000} s"));
                }
                finally { segments.ForEach(x => x.Dispose()); }
            }
        }
    }

    /// <summary>Audio that skips ahead 100 ms (an encoder that lost input) anywhere in a segment: no part outlasts the Part Target.</summary>
    [Fact]
    public void Audio_that_skips_ahead_anywhere_in_a_segment_never_takes_a_part_past_the_part_target()
    {
        for (long from = 2000; from < 4000; from += 37)
        {
            var (segments, parts) = Feed(300, i => i % 60 == 0, audioStampMs: ms => ms >= from ? ms + 100 : ms);
            try
            {
                AssertContiguous(segments, parts, "audio");
                Assert.All(parts.Where(p => p.Rendition == "audio"), p =>
                    Assert.True(Seconds(p) <= 0.368, $"skip at {from} ms: audio part {p.Number}.{p.Index} lasts {Seconds(p):0.000} s"));
            }
            finally { segments.ForEach(x => x.Dispose()); }
        }
    }

    [Fact]
    public void Audio_stamps_that_step_back_into_sent_audio_drop_the_overlap_and_stay_contiguous()
    {
        // A looping encoder: from 3 s on, its audio stamps are 40 ms behind the samples already sent (two AAC frames).
        var (segments, parts) = Feed(300, i => i % 60 == 0, audioStampMs: ms => ms >= 3000 ? ms - 40 : ms);
        try
        {
            AssertContiguous(segments, parts, "audio");
            AssertContiguous(segments, parts, "source");
        }
        finally { segments.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Audio_stamps_that_jump_ahead_at_a_segment_end_are_absorbed_by_the_last_sample()
    {
        // From just before the 4 s cut on, the encoder's audio stamps run 100 ms ahead of the sample count.
        var (segments, parts) = Feed(300, i => i % 60 == 0, audioStampMs: ms => ms >= 3990 ? ms + 100 : ms);
        try
        {
            AssertContiguous(segments, parts, "audio");
        }
        finally { segments.ForEach(x => x.Dispose()); }
    }
}
