using Broadcast.Media.Bits;
using Broadcast.Media.Codecs;
using Broadcast.Media.Codecs.H264;

namespace Broadcast.Media.Tests.Codecs;

/// <summary>
/// H.264 VUI timing info (E.1.1, E.2.1): what libx264 (ffmpeg 5.1) writes at common rates, what it writes under the
/// transcoder's <c>-enc_time_base 1:1000</c> (a clock of "1000 fps" for 30 fps pictures), and broken timing fields.
/// </summary>
public class VuiTimingTests
{
    // 320x240 Baseline SPS NAL units from `ffmpeg -f lavfi -i testsrc2=size=320x240:rate=R -c:v libx264 -preset ultrafast`.
    private const string Sps25 = "6742c00dda0507ec0440000003004000000c83c50aa8";
    private const string Sps30 = "6742c00dda0507ec0440000003004000000f03c50aa8";
    private const string Sps50 = "6742c015da0507ec0440000003004000001903c58ba8";
    private const string Sps5994 = "6742c015da0507ec04400000fa4000753003c58ba8";
    private const string Sps2997 = "6742c00dda0507ec04400000fa40003a9803c50aa8";
    // The 30 fps source again with -enc_time_base 1:1000, as every transcoded rung is encoded.
    private const string SpsTimeBase1000 = "6742c00dda0507ec044000000300400001f403c50aa8";
    // 25 fps with -x264-params force-cfr=1: the one way x264 sets fixed_frame_rate_flag.
    private const string Sps25Fixed = "6742c00dda0507ec0440000003004000000ca3c50aa8";

    [Theory]
    [InlineData("25", Sps25, 25, 1, 1u, 50u, false)]
    [InlineData("30", Sps30, 30, 1, 1u, 60u, false)]
    [InlineData("50", Sps50, 50, 1, 1u, 100u, false)]
    [InlineData("59.94", Sps5994, 60000, 1001, 1001u, 120000u, false)]
    [InlineData("29.97", Sps2997, 30000, 1001, 1001u, 60000u, false)]
    [InlineData("enc_time_base 1:1000", SpsTimeBase1000, 1000, 1, 1u, 2000u, false)]
    [InlineData("25, force-cfr", Sps25Fixed, 25, 1, 1u, 50u, true)]
    public void Reads_libx264_timing_info(string name, string hex, int num, int den, uint unitsInTick, uint timeScale, bool fixedRate)
    {
        Assert.True(H264Sps.TryParse(Convert.FromHexString(hex), out var sps), name);
        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.Equal(new H264VuiTiming(unitsInTick, timeScale, fixedRate, new FrameRate(num, den)), sps.Timing);
        Assert.Equal(new FrameRate(num, den), sps.FrameRate);
    }

    [Fact]
    public void A_track_carries_its_bitstream_timing_apart_from_the_metadata_rate()
    {
        byte[] sps = Convert.FromHexString(SpsTimeBase1000);
        Assert.True(AvcDecoderConfigurationRecord.TryCreate([sps], [Convert.FromHexString("68ce3c80")], out var avcC));
        Assert.True(MediaTrackFactory.TryCreateVideo(Codec.H264, avcC.ToArray(), new FrameRate(30, 1), out var track, out var error), error);
        Assert.Equal(new BitstreamTiming(new FrameRate(1000, 1), Fixed: false), track.BitstreamTiming);
        Assert.Equal(new BitstreamTiming(new FrameRate(1000, 1), Fixed: false), BitstreamTiming.TryRead(Codec.H264, avcC.ToArray()));
    }

    [Theory]
    [InlineData("empty", "")]
    [InlineData("avcC without SPS", "0164001fffe000")]
    [InlineData("garbage", "deadbeef")]
    [InlineData("avcC whose SPS is truncated", "0142c00dffe100046742c00d")]
    public void Bitstream_timing_of_a_malformed_config_is_null(string name, string hex)
    {
        foreach (var codec in new[] { Codec.H264, Codec.H265, Codec.Av1, Codec.Aac })
            Assert.True(BitstreamTiming.TryRead(codec, Convert.FromHexString(hex)) is null, $"{name} as {codec}");
    }

    [Fact]
    public void Hand_built_sps_round_trips_its_timing()
    {
        Assert.True(H264Sps.TryParse(Sps(1001, 60000, fixedRate: true), out var sps));
        Assert.Equal(new H264VuiTiming(1001, 60000, true, new FrameRate(30000, 1001)), sps.Timing);
        Assert.True(H264Sps.TryParse(Sps(1, 50, fixedRate: false), out sps));
        Assert.Equal(new FrameRate(25, 1), sps.FrameRate);
        Assert.True(H264Sps.TryParse(Sps(timing: false), out sps));
        Assert.Null(sps.Timing);
        Assert.Null(sps.FrameRate);
    }

    [Theory]
    [InlineData("num_units_in_tick 0", 0u, 60u)]
    [InlineData("time_scale 0", 1u, 0u)]
    [InlineData("rate too small for an int denominator", 0xFFFF_FFFFu, 1u)]
    public void Broken_timing_fields_leave_the_sps_without_timing(string name, uint unitsInTick, uint timeScale)
    {
        // E.2.1: both shall be greater than 0. The picture size is still good, so the SPS is kept and only the rate is unknown.
        Assert.True(H264Sps.TryParse(Sps(unitsInTick, timeScale, fixedRate: true), out var sps), name);
        Assert.Equal((320, 240), (sps.Width, sps.Height));
        Assert.Null(sps.Timing);
        Assert.Null(sps.FrameRate);
    }

    [Fact]
    public void Sps_cut_inside_the_timing_info_is_rejected()
    {
        byte[] whole = Sps(1001, 60000, fixedRate: true);
        // The two 32-bit fields take bits 58 to 122 of the RBSP: NAL bytes 9 to 16 (one more for an emulation byte).
        for (int n = 9; n < 16; n++) Assert.False(H264Sps.TryParse(whole.AsSpan(0, n), out _), $"{n} bytes");
    }

    /// <summary>
    /// A 320x240 Baseline SPS with only timing info in its VUI (E.1.1): no aspect ratio, overscan, signal type, chroma
    /// location, HRD or restrictions. Emulation prevention (7.4.1) is added, so 0x000000-0x000003 runs stay legal.
    /// </summary>
    private static byte[] Sps(uint numUnitsInTick = 1, uint timeScale = 60, bool fixedRate = false, bool timing = true)
    {
        Span<byte> rbsp = stackalloc byte[64];
        var w = new BitWriter(rbsp);
        w.WriteBits(66, 8); // profile_idc
        w.WriteBits(0xC0, 8); // constraint flags
        w.WriteBits(13, 8); // level_idc
        w.WriteUe(0); // seq_parameter_set_id
        w.WriteUe(0); // log2_max_frame_num_minus4
        w.WriteUe(2); // pic_order_cnt_type
        w.WriteUe(1); // max_num_ref_frames
        w.WriteFlag(false); // gaps_in_frame_num_value_allowed_flag
        w.WriteUe(19); // pic_width_in_mbs_minus1: 320
        w.WriteUe(14); // pic_height_in_map_units_minus1: 240
        w.WriteFlag(true); // frame_mbs_only_flag
        w.WriteFlag(true); // direct_8x8_inference_flag
        w.WriteFlag(false); // frame_cropping_flag
        w.WriteFlag(true); // vui_parameters_present_flag
        w.WriteBits(0, 4); // aspect_ratio, overscan, video_signal_type, chroma_loc: absent
        w.WriteFlag(timing); // timing_info_present_flag
        if (timing)
        {
            w.WriteBits(numUnitsInTick, 32);
            w.WriteBits(timeScale, 32);
            w.WriteFlag(fixedRate);
        }
        w.WriteBits(0, 4); // nal_hrd, vcl_hrd, pic_struct_present, bitstream_restriction
        w.WriteFlag(true); // rbsp_stop_one_bit
        var bytes = new List<byte> { 0x67 };
        int zeros = 0;
        foreach (byte b in rbsp[..w.BytesWritten])
        {
            if (zeros >= 2 && b <= 3)
            {
                bytes.Add(3);
                zeros = 0;
            }
            bytes.Add(b);
            zeros = b == 0 ? zeros + 1 : 0;
        }
        return bytes.ToArray();
    }
}
