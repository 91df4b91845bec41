using Broadcast.Media;
using Broadcast.Packager.Segmenting;

namespace Broadcast.Packager.Tests.Segmenting;

public sealed class SegmenterTests
{
    private const int Hz = Timescales.Video;

    /// <summary>Feeds video frames at a millisecond-stamped frame rate, the way RTMP delivers them.</summary>
    private static List<ClosedSegment> FeedVideo(StreamSegmenter s, VideoTrack track, int fps, int frames, Func<int, bool> isKey, long offsetTicks = 0)
    {
        var output = new List<ClosedSegment>();
        for (int i = 0; i < frames; i++)
        {
            long ms = (long)Math.Round(i * 1000.0 / fps);
            s.PushVideo(0, TestMedia.Frame(track, offsetTicks + ms * 90, isKey(i)), output);
        }
        s.Flush(output);
        return output;
    }

    [Fact]
    public void Two_second_gop_cuts_every_two_seconds_with_frame_durations_from_dts()
    {
        using var s = new StreamSegmenter(["source"], null, 2);
        var segs = FeedVideo(s, TestMedia.Video(), 30, 300, i => i % 60 == 0);
        try
        {
            Assert.Equal([1L, 2, 3, 4, 5], segs.Select(x => x.Number));
            // The last segment closes at end of stream: its last frame lasts as long as the one before (33 or 34 ms).
            Assert.All(segs.Take(4), x => Assert.Equal(2 * Hz, x.Duration));
            Assert.InRange(segs[4].Duration, 2 * Hz - 90, 2 * Hz + 90);
            Assert.All(segs, x => Assert.True(x.StartsWithKeyframe));
            Assert.Equal([0L, 2 * Hz, 4 * Hz, 6 * Hz, 8 * Hz], segs.Select(x => x.StartTime));
            // 33/34 ms stamps give 2970 or 3060 ticks; every sample lasts until the next one's dts.
            Assert.All(segs.SelectMany(x => x.Samples), smp => Assert.InRange(smp.Duration, 2970u, 3060u));
            Assert.Null(s.KeyframeWarning);
        }
        finally { segs.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Keyframe_stamped_one_frame_early_still_cuts_at_the_boundary()
    {
        // GStreamer's flvmux at 15 fps: keyframes at 0, 1.933, 3.933, 5.933 s (frame 29, 59, 89 of a 30-frame GOP).
        using var s = new StreamSegmenter(["source"], null, 2);
        var segs = FeedVideo(s, TestMedia.Video(frameRate: new FrameRate(15, 1)), 15, 120, i => i == 0 || i % 30 == 29);
        try
        {
            Assert.Equal(1933 * 90, segs[0].Duration); // not 3.93 s
            Assert.Equal([1933L * 90, 3933L * 90, 5933L * 90], segs.Skip(1).Take(3).Select(x => x.StartTime));
            Assert.All(segs.Take(3), x => Assert.InRange(x.Duration, 1.9 * Hz, 2.0 * Hz));
            Assert.Null(s.KeyframeWarning);
        }
        finally { segs.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Rare_keyframes_make_long_segments_and_a_warning()
    {
        using var s = new StreamSegmenter(["source"], null, 2);
        var segs = FeedVideo(s, TestMedia.Video(), 30, 30 * 24, i => i % 240 == 0);
        try
        {
            Assert.Equal(3, segs.Count);
            Assert.All(segs.Take(2), x => Assert.Equal(8 * Hz, x.Duration));
            Assert.Equal("keyframes every 8 s, longer than the 2 s segment target", s.KeyframeWarning);
        }
        finally { segs.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Leading_non_keyframes_are_dropped()
    {
        using var s = new StreamSegmenter(["source"], null, 2);
        var segs = FeedVideo(s, TestMedia.Video(), 30, 90, i => i == 10 || i == 70);
        try
        {
            Assert.Equal(333 * 90, segs[0].StartTime);
            Assert.True(segs[0].StartsWithKeyframe);
        }
        finally { segs.ForEach(x => x.Dispose()); }
    }

    [Theory]
    [InlineData(48000)]
    [InlineData(44100)]
    public void Audio_is_cut_at_the_video_boundary_with_1024_sample_durations(int rate)
    {
        var video = TestMedia.Video();
        var audio = TestMedia.Audio(rate);
        using var s = new StreamSegmenter(["source"], "audio", 2);
        var output = new List<ClosedSegment>();
        // Interleave by millisecond time, audio stamped in rounded ms then rescaled (what ingest produces).
        int v = 0, a = 0;
        const long start = 5_000; // ms: streams rarely start at zero
        while (v < 300)
        {
            long vMs = start + (long)Math.Round(v * 1000.0 / 30);
            long aMs = start + (long)Math.Round(a * 1024 * 1000.0 / rate);
            if (aMs <= vMs)
            {
                s.PushAudio(TestMedia.Frame(audio, Timescales.Rescale(aMs, 1000, rate), true, 10), output);
                a++;
            }
            else
            {
                s.PushVideo(0, TestMedia.Frame(video, vMs * 90, v % 60 == 0), output);
                v++;
            }
        }
        s.Flush(output);
        try
        {
            var vs = output.Where(x => x.Rendition == "source").ToList();
            var au = output.Where(x => x.Rendition == "audio").ToList();
            Assert.Equal(vs.Select(x => x.Number), au.Select(x => x.Number));
            long anchor = Timescales.Rescale(start, 1000, rate);
            for (int i = 0; i < au.Count; i++)
            {
                var seg = au[i];
                Assert.All(seg.Samples, smp => Assert.Equal(1024u, smp.Duration));
                Assert.Equal(0, (seg.StartTime - anchor) % 1024); // on the sample-count grid
                if (i == 0) continue;
                // First audio frame at or after the video cut, and the one before it was before the cut.
                long cut = Timescales.Rescale(vs[i].StartTime, Hz, rate);
                Assert.True(seg.StartTime >= cut, $"segment {seg.Number} audio starts {seg.StartTime} before the cut {cut}");
                Assert.True(seg.StartTime - 1024 < cut);
                // Contiguous: no sample lost or doubled across the cut.
                Assert.Equal(au[i - 1].StartTime + au[i - 1].Duration, seg.StartTime);
            }
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Audio_trailing_the_video_in_the_interleave_still_fills_its_segment()
    {
        var video = TestMedia.Video();
        var audio = TestMedia.Audio(48000);
        using var s = new StreamSegmenter(["source"], "audio", 2);
        var output = new List<ClosedSegment>();
        for (int v = 0; v < 130; v++) s.PushVideo(0, TestMedia.Frame(video, (long)Math.Round(v * 1000.0 / 30) * 90, v % 60 == 0), output);
        Assert.DoesNotContain(output, x => x.Rendition == "audio"); // no audio yet: nothing to close
        for (int a = 0; a < 200; a++) s.PushAudio(TestMedia.Frame(audio, a * 1024L, true, 10), output);
        try
        {
            var au = output.Where(x => x.Rendition == "audio").ToList();
            Assert.Equal([1L, 2], au.Select(x => x.Number));
            Assert.Equal(94, au[0].Samples.Length); // 94 * 1024 / 48000 = 2.005 s: first frame >= 2 s starts segment 2
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Without_passthrough_the_audio_closes_at_a_drop_once_both_the_rung_and_the_source_audio_reached_it(bool rungFirst)
    {
        // The leading rung (a transcoder's) and the source's audio reach a drop on separate readers, in either order;
        // audio still on its way when the rung stops belongs to the rung's last segment, not to a stub after it.
        var video = TestMedia.Video();
        var audio = TestMedia.Audio(48000);
        using var s = new StreamSegmenter(["360p"], "audio", 2);
        var output = new List<ClosedSegment>();
        for (int v = 0; v < 150; v++) s.PushVideo(0, TestMedia.Frame(video, v * 3000L, v % 60 == 0), output); // 0..5 s
        int sent = 0;
        void SendAudioUpTo(double seconds)
        {
            for (; sent * 1024.0 / 48000 < seconds; sent++) s.PushAudio(TestMedia.Frame(audio, sent * 1024L, true, 10), output);
        }
        SendAudioUpTo(4.5);
        if (rungFirst)
        {
            s.InterruptVideo(0, output, audioAtDrop: false);
            Assert.DoesNotContain(output, x => x.Rendition == "audio" && x.Number == 3);
            SendAudioUpTo(5.1); // the rest of the source's audio from before the drop
            Assert.DoesNotContain(output, x => x.Rendition == "audio" && x.Number == 3);
            s.InterruptAudio(output);
        }
        else
        {
            SendAudioUpTo(5.1);
            s.InterruptAudio(output);
            Assert.DoesNotContain(output, x => x.Rendition == "audio" && x.Number == 3);
            s.InterruptVideo(0, output, audioAtDrop: false);
        }
        try
        {
            var au = output.Where(x => x.Rendition == "audio").ToList();
            Assert.Equal([1L, 2, 3], au.Select(x => x.Number));
            Assert.Equal(sent, au.Sum(x => x.Samples.Length));
            Assert.InRange(au[2].StartTime + au[2].Samples.Length * 1024L, 5.1 * 48000, 5.1 * 48000 + 1024);
            var rung = output.Where(x => x.Rendition == "360p").ToList();
            Assert.Equal([1L, 2, 3], rung.Select(x => x.Number));
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Audio_clock_reanchors_only_when_stamps_drift_more_than_a_frame()
    {
        var audio = TestMedia.Audio(48000);
        using var s = new StreamSegmenter([], "audio", 2);
        var output = new List<ClosedSegment>();
        // Jitter of a few ms is absorbed; a 500 ms gap moves the anchor.
        for (int a = 0; a < 50; a++) s.PushAudio(TestMedia.Frame(audio, a * 1024L + (a % 2 == 0 ? 48 : -48), true, 10), output);
        for (int a = 50; a < 200; a++) s.PushAudio(TestMedia.Frame(audio, a * 1024L + 24000, true, 10), output);
        s.Flush(output);
        try
        {
            Assert.Equal(1, s.AudioReanchors);
            var samples = output.SelectMany(x => x.Samples).ToList();
            Assert.Equal(200, samples.Count);
            Assert.Equal(1024u + 24000 - 48, samples[49].Duration); // the gap is absorbed by the frame before it
            Assert.Equal(48, output[0].StartTime);
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Timestamps_past_32_bits_segment_normally()
    {
        using var s = new StreamSegmenter(["source"], null, 2);
        long offset = (1L << 32) * 90 + 12345; // more than 49.7 days of RTMP milliseconds, in 90 kHz
        var segs = FeedVideo(s, TestMedia.Video(), 30, 180, i => i % 60 == 0, offset);
        try
        {
            Assert.Equal(3, segs.Count);
            Assert.All(segs.Take(2), x => Assert.Equal(2 * Hz, x.Duration));
            Assert.True(segs[2].StartTime > uint.MaxValue);
        }
        finally { segs.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void New_decoder_config_opens_a_new_init_and_a_discontinuity()
    {
        var first = TestMedia.Video();
        byte[] other = (byte[])TestMedia.AvcConfig.Clone();
        other[3] = 0x28; // level 4.0
        var second = TestMedia.Video(1920, 1080, config: other);
        using var s = new StreamSegmenter(["source"], null, 2);
        var output = new List<ClosedSegment>();
        for (int i = 0; i < 240; i++)
        {
            var track = i < 75 ? first : second;
            s.PushVideo(0, TestMedia.Frame(track, i * 3000L, i % 60 == 0 || i == 75), output);
        }
        s.Flush(output);
        try
        {
            Assert.Equal([0, 0, 1, 1, 1], output.Select(x => x.InitVersion));
            Assert.Equal([false, false, true, false, false], output.Select(x => x.Discontinuity));
            Assert.Equal(75 * 3000L, output[2].StartTime); // cut at the new config, mid-GOP
            Assert.Same(second, output[2].Track);
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Same_config_in_a_new_track_instance_is_not_a_discontinuity()
    {
        using var s = new StreamSegmenter(["source"], null, 2);
        var output = new List<ClosedSegment>();
        for (int i = 0; i < 180; i++) s.PushVideo(0, TestMedia.Frame(TestMedia.Video(), i * 3000L, i % 60 == 0), output);
        s.Flush(output);
        try
        {
            Assert.All(output, x => Assert.Equal(0, x.InitVersion));
            Assert.All(output, x => Assert.False(x.Discontinuity));
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void Renditions_with_the_same_timestamps_share_boundaries_and_numbers()
    {
        var hi = TestMedia.Video();
        var lo = TestMedia.Video(640, 360);
        using var s = new StreamSegmenter(["source", "360p"], null, 2);
        var output = new List<ClosedSegment>();
        for (int i = 0; i < 300; i++)
        {
            long dts = (long)Math.Round(i * 1000.0 / 30) * 90;
            s.PushVideo(0, TestMedia.Frame(hi, dts, i % 60 == 0), output);
            s.PushVideo(1, TestMedia.Frame(lo, dts, i % 30 == 0), output); // the transcoder may use shorter GOPs
        }
        s.Flush(output);
        try
        {
            var a = output.Where(x => x.Rendition == "source").Select(x => (x.Number, x.StartTime, x.Duration));
            var b = output.Where(x => x.Rendition == "360p").Select(x => (x.Number, x.StartTime, x.Duration));
            Assert.Equal(a, b);
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    [Fact]
    public void B_frame_segments_know_their_presentation_span()
    {
        // x264 with B-frames, as ffmpeg sends it over RTMP: decode order I P B B ..., the I shown two frames after
        // its decode time. Presentation order per 3000-tick frame: pts = dts + cto.
        int[] ctos = [6000, 12000, 3000, 3000];
        using var s = new StreamSegmenter(["source"], null, 2);
        var output = new List<ClosedSegment>();
        for (int i = 0; i < 120; i++)
            s.PushVideo(0, TestMedia.Frame(TestMedia.Video(), i * 3000L, i % 60 == 0, cto: i % 60 == 59 ? 3000 : ctos[i % 4]), output);
        s.Flush(output);
        try
        {
            Assert.Equal(2, output.Count);
            Assert.Equal([6000L, 6000], output.Select(x => x.PresentationStartOffset));
            // The latest picture of each segment (a B-frame decoded at 171000 / 351000, cto 12000) ends at
            // 186000 / 366000: 6000 past the decode ends of 180000 / 360000.
            Assert.Equal([6000L, 6000], output.Select(x => x.PresentationEndOffset));
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    /// <summary>
    /// A splice cut meets the same picture in renditions whose decode times differ: the source without B-frames, a rung
    /// whose encoder reorders (each picture decoded a frame before it is shown, as an encoder with B-frames does
    /// under -copyts). Both show their keyframes at the same times; the cut is by presentation time, so both cut at the
    /// 3.5 s keyframe (by decode time the rung's, stamped 3.467 s, would miss a 3.48 s threshold the source's meets).
    /// </summary>
    [Fact]
    public void A_splice_cut_meets_the_same_keyframe_in_renditions_with_different_decode_delays()
    {
        using var s = new StreamSegmenter(["source", "360p"], null, 2);
        var output = new List<ClosedSegment>();
        void Push(int from, int to)
        {
            for (int i = from; i < to; i++)
            {
                bool key = i % 15 == 0; // a keyframe every 0.5 s
                s.PushVideo(0, TestMedia.Frame(TestMedia.Video(), i * 3000L, key), output);
                s.PushVideo(1, TestMedia.Frame(TestMedia.Video(640, 360), i * 3000L - 3000, key, cto: 3000), output);
            }
        }
        Push(0, 90); // 3.0 s
        Assert.Equal(3 * Hz + Hz / 2 - StreamSegmenter.SpliceEarlyTolerance, s.ScheduleSpliceCut(3 * Hz + Hz / 2));
        Push(90, 240);
        s.Flush(output);
        try
        {
            foreach (var rendition in new[] { "source", "360p" })
            {
                var segments = output.Where(x => x.Rendition == rendition).ToList();
                Assert.Equal([1L, 2, 3, 4, 5], segments.Select(x => x.Number));
                // 0-2, 2-3.5, 3.5-4 (the splice, then the regular boundary), 4-6, 6-8 s, in presentation time.
                Assert.Equal([0L, 2 * Hz, 3 * Hz + Hz / 2, 4 * Hz, 6 * Hz], segments.Take(5).Select(x => x.StartTime + x.PresentationStartOffset));
            }
        }
        finally { output.ForEach(x => x.Dispose()); }
    }

    /// <summary>A splice point already passed by a rendition moves after the latest picture any rendition has taken.</summary>
    [Fact]
    public void A_splice_point_a_rendition_has_passed_moves_after_its_latest_picture()
    {
        using var s = new StreamSegmenter(["source", "360p"], null, 2);
        var output = new List<ClosedSegment>();
        for (int i = 0; i < 100; i++) s.PushVideo(0, TestMedia.Frame(TestMedia.Video(), i * 3000L, i % 15 == 0), output);
        for (int i = 0; i < 80; i++) s.PushVideo(1, TestMedia.Frame(TestMedia.Video(640, 360), i * 3000L, i % 15 == 0), output);
        Assert.Equal(99 * 3000L + 1, s.ScheduleSpliceCut(Hz));
        Assert.Null(new StreamSegmenter([], "audio", 2).ScheduleSpliceCut(Hz));
        output.ForEach(x => x.Dispose());
    }
}
