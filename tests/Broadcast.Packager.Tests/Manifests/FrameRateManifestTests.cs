using Broadcast.Media;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.H264;
using Broadcast.Packager.Manifests;
using Broadcast.Packager.Segmenting;
using Broadcast.Storage;

namespace Broadcast.Packager.Tests.Manifests;

/// <summary>
/// FRAME-RATE (RFC 8216bis section 4.4.6.2) and @frameRate (ISO/IEC 23009-1) come from the frames: a stated rate (SPS
/// VUI timing, FLV onMetaData framerate) only names it when the frames agree. The case that made this rule: every
/// transcoded rung is encoded with <c>-enc_time_base 1:1000</c>, and ffmpeg then states 1000 fps in both the SPS and the
/// FLV metadata of a 30 fps picture.
/// </summary>
public sealed class FrameRateManifestTests
{
    private const string Id = ManifestGoldenTests.Id;
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    // libx264 (ffmpeg 5.1) SPS NAL units, 320x240 Baseline: see Broadcast.Media.Tests VuiTimingTests.
    private const string SpsTimeBase1000 = "6742c00dda0507ec044000000300400001f403c50aa8"; // 1000 fps clock, not fixed
    private const string Sps2997 = "6742c00dda0507ec04400000fa40003a9803c50aa8"; // 30000/1001, not fixed
    private const string Sps25Fixed = "6742c00dda0507ec0440000003004000000ca3c50aa8"; // 25, fixed_frame_rate_flag 1
    private const string Pps = "68ce3c80";

    /// <summary>A track as the FLV demuxer builds it for a transcoded rung: SPS and metadata both say 1000.</summary>
    private static VideoTrack Track(string spsHex, FrameRate? metadataRate = null)
    {
        Assert.True(AvcDecoderConfigurationRecord.TryCreate([Convert.FromHexString(spsHex)], [Convert.FromHexString(Pps)], out var avcC));
        Assert.True(MediaTrackFactory.TryCreateVideo(Codec.H264, avcC.ToArray(), metadataRate, out var track, out var error), error);
        return track;
    }

    private static readonly VideoTrack Rung = Track(SpsTimeBase1000, new FrameRate(1000, 1));

    /// <summary>Segments of <paramref name="frames"/> frames lasting <paramref name="ms"/> milliseconds (FLV time) each.</summary>
    private static RenditionTimeline Timeline(VideoTrack track, int frames, long ms, int count = 3, string name = "720p")
    {
        var t = new RenditionTimeline(name, MediaKind.Video);
        Add(t, track, frames, ms, count);
        return t;
    }

    private static void Add(RenditionTimeline t, VideoTrack track, int frames, long ms, int count, bool discontinuity = false)
    {
        long start = t.Entries.Count > 0 ? t.Entries[^1].End : 900_000;
        long number = t.Entries.Count > 0 ? t.Entries[^1].Number + 1 : 1;
        for (int i = 0; i < count; i++)
        {
            long ticks = ms * 90;
            t.Add(new SegmentDescription(t.Name, MediaKind.Video, number + i, start, ticks, 90_000, 500_000, true, discontinuity && i == 0,
                StoreKeys.InitName(Id, 0), track, frames), Start + TimeSpan.FromTicks((start - 900_000) * TimeSpan.TicksPerSecond / 90_000));
            start += ticks;
        }
    }

    private static string Master(params RenditionTimeline[] video) => HlsPlaylistWriter.WriteMaster(video, null, r => $"{r}/index.m3u8");

    private static string Mpd(bool isStatic, params RenditionTimeline[] video) =>
        DashManifestWriter.Write(video, null, new MpdSettings(Id, isStatic, Start, Start.AddSeconds(10), 2, 12, "/time"));

    [Theory]
    [InlineData(50, 2000, "25.000", "25")]
    [InlineData(60, 2000, "30.000", "30")]
    [InlineData(100, 2000, "50.000", "50")]
    [InlineData(120, 2002, "59.940", "60000/1001")] // 120 frames at 59.94 last 2002 ms in FLV time
    [InlineData(60, 2002, "29.970", "30000/1001")]
    [InlineData(50, 1668, "29.970", "30000/1001")] // 50 frames at 29.97: 1668.3 ms, rounded; nearer 29.97 than 30
    [InlineData(54, 2000, "27.000", "27")] // no standard rate: the measure as it is
    [InlineData(25, 2000, "12.500", "25/2")]
    public void A_rung_whose_sps_and_metadata_say_1000_is_declared_at_the_rate_of_its_frames(int frames, long ms, string hls, string dash)
    {
        Assert.Equal(new FrameRate(1000, 1), Rung.FrameRate); // what the demuxer was told
        Assert.Equal(new BitstreamTiming(new FrameRate(1000, 1), Fixed: false), Rung.BitstreamTiming);
        var t = Timeline(Rung, frames, ms);
        string master = Master(t);
        Assert.Contains($",RESOLUTION=320x240,FRAME-RATE={hls},", master, StringComparison.Ordinal);
        Assert.Contains("CODECS=\"avc1.42c00d\"", master, StringComparison.Ordinal);
        Assert.DoesNotContain("FRAME-RATE=1000", master, StringComparison.Ordinal);
        string mpd = Mpd(true, t);
        Assert.Contains($"codecs=\"avc1.42c00d\" bandwidth=\"", mpd, StringComparison.Ordinal);
        Assert.Contains($"width=\"320\" height=\"240\" frameRate=\"{dash}\" sar=\"1:1\"", mpd, StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_segment_alone_is_measure_enough_for_the_master()
    {
        // The live master is written once, when every rendition has its first segment.
        Assert.Contains(",FRAME-RATE=30.000,", Master(Timeline(Rung, 30, 1000, count: 1)), StringComparison.Ordinal);
        Assert.Contains(",FRAME-RATE=30.000,", Master(Timeline(Rung, 61, 2033, count: 1)), StringComparison.Ordinal);
    }

    [Fact]
    public void Bitstream_timing_that_agrees_with_the_frames_gives_its_exact_rational()
    {
        // 59 frames in 1969 ms (FLV rounding and a short first GOP) measure 29.964: the SPS's 30000/1001 names it.
        var t = Timeline(Track(Sps2997), 59, 1969, count: 1);
        Assert.Contains(",FRAME-RATE=29.970,", Master(t), StringComparison.Ordinal);
        Assert.Contains("frameRate=\"30000/1001\"", Mpd(true, t), StringComparison.Ordinal);
    }

    [Fact]
    public void A_fixed_bitstream_rate_the_frames_contradict_loses_to_them()
    {
        // fixed_frame_rate_flag promises 25; the frames come at 50 (an encoder counting time_scale in frames, E.2.1).
        var t = Timeline(Track(Sps25Fixed), 100, 2000);
        Assert.Contains(",FRAME-RATE=50.000,", Master(t), StringComparison.Ordinal);
        Assert.Contains("frameRate=\"50\"", Mpd(true, t), StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_that_agrees_with_the_frames_settles_between_neighbouring_rates()
    {
        // 59 frames over 1969 ms is 29.964: nearer 29.97, but an encoder that says 30 (and no SPS timing to say
        // otherwise) is not contradicted by it. This keeps the golden manifests' "30".
        var t = Timeline(TestMedia.Video(frameRate: new FrameRate(30, 1)), 59, 1969, count: 1);
        Assert.Contains(",FRAME-RATE=30.000,", Master(t), StringComparison.Ordinal);
        var noClaim = Timeline(TestMedia.Video().WithFrameRate(null), 59, 1969, count: 1);
        Assert.Contains(",FRAME-RATE=29.970,", Master(noClaim), StringComparison.Ordinal);
    }

    [Fact]
    public void Before_any_frame_is_measured_only_a_fixed_bitstream_rate_is_declared()
    {
        var fixedRate = Timeline(Track(Sps25Fixed, new FrameRate(1000, 1)), 1, 0, count: 1);
        Assert.Equal(new FrameRate(25, 1), fixedRate.FrameRate);
        Assert.Contains(",FRAME-RATE=25.000,", Master(fixedRate), StringComparison.Ordinal);
        var clock = Timeline(Rung, 1, 0, count: 1);
        Assert.Null(clock.FrameRate);
        Assert.DoesNotContain("FRAME-RATE", Master(clock), StringComparison.Ordinal);
        Assert.Null(new RenditionTimeline("empty", MediaKind.Video).FrameRate);
    }

    [Fact]
    public void A_reconnect_with_a_new_configuration_is_measured_afresh()
    {
        var t = Timeline(Rung, 60, 2000, count: 5, name: "source");
        Add(t, Track(Sps25Fixed), 50, 2000, 2, discontinuity: true);
        Assert.Contains(",FRAME-RATE=25.000,", Master(t), StringComparison.Ordinal);
        string mpd = Mpd(false, t);
        Assert.Contains("frameRate=\"30\"", mpd, StringComparison.Ordinal);
        Assert.Contains("frameRate=\"25\"", mpd, StringComparison.Ordinal);
    }
}
