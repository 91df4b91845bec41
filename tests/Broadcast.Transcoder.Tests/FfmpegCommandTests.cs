using Broadcast.Transcoder.Encoding;
using Broadcast.Transcoder.Ladder;

namespace Broadcast.Transcoder.Tests;

public class FfmpegCommandTests
{
    private static readonly PlannedRung[] Rungs = [new("480p", 854, 480, 1_200_000), new("360p", 640, 360, 700_000)];
    private static readonly string[] Urls = ["tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002"];

    private const string Head = "-hide_banner -nostats -loglevel warning -progress pipe:1";
    private const string Input = "-copyts -analyzeduration 1000000 -f flv -i pipe:0";
    private const string Out0 = "-map [v0] -an -fps_mode passthrough -enc_time_base 1:1000 -force_key_frames source";
    private const string Out1 = "-map [v1] -an -fps_mode passthrough -enc_time_base 1:1000 -force_key_frames source";
    private const string Tail0 = "-flvflags no_duration_filesize -f flv tcp://127.0.0.1:5001";
    private const string Tail1 = "-flvflags no_duration_filesize -f flv tcp://127.0.0.1:5002";

    // (back-end, golden argument list joined by spaces; arguments themselves contain no spaces)
    public static TheoryData<string, string> Golden => new()
    {
        { "x264", $"{Head} {Input} -filter_complex [0:v:0]split=2[s0][s1];[s0]scale=854:480[v0];[s1]scale=640:360[v1] " +
            $"{Out0} -c:v libx264 -preset veryfast -profile:v high -sc_threshold 0 -g 9999 -keyint_min 1 -b:v 1200000 -maxrate 1200000 -bufsize 1200000 -a53cc 1 {Tail0} " +
            $"{Out1} -c:v libx264 -preset veryfast -profile:v high -sc_threshold 0 -g 9999 -keyint_min 1 -b:v 700000 -maxrate 700000 -bufsize 700000 -a53cc 1 {Tail1}" },
        { "nvenc", $"{Head} -hwaccel cuda -hwaccel_output_format cuda {Input} -filter_complex [0:v:0]split=2[s0][s1];[s0]scale_cuda=854:480[v0];[s1]scale_cuda=640:360[v1] " +
            $"{Out0} -c:v h264_nvenc -preset p4 -tune ll -rc cbr -forced-idr 1 -g 9999 -b:v 1200000 -maxrate 1200000 -bufsize 1200000 -a53cc 1 {Tail0} " +
            $"{Out1} -c:v h264_nvenc -preset p4 -tune ll -rc cbr -forced-idr 1 -g 9999 -b:v 700000 -maxrate 700000 -bufsize 700000 -a53cc 1 {Tail1}" },
        { "qsv", $"{Head} -init_hw_device qsv=hw -filter_hw_device hw {Input} -filter_complex [0:v:0]split=2[s0][s1];[s0]scale=854:480,hwupload=extra_hw_frames=64,format=qsv[v0];[s1]scale=640:360,hwupload=extra_hw_frames=64,format=qsv[v1] " +
            $"{Out0} -c:v h264_qsv -preset veryfast -g 9999 -b:v 1200000 -maxrate 1200000 -bufsize 1200000 -a53cc 1 {Tail0} " +
            $"{Out1} -c:v h264_qsv -preset veryfast -g 9999 -b:v 700000 -maxrate 700000 -bufsize 700000 -a53cc 1 {Tail1}" },
        { "vaapi", $"{Head} -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va {Input} -filter_complex [0:v:0]split=2[s0][s1];[s0]scale=854:480,format=nv12,hwupload[v0];[s1]scale=640:360,format=nv12,hwupload[v1] " +
            $"{Out0} -c:v h264_vaapi -rc_mode CBR -g 9999 -b:v 1200000 -maxrate 1200000 -bufsize 1200000 {Tail0} " +
            $"{Out1} -c:v h264_vaapi -rc_mode CBR -g 9999 -b:v 700000 -maxrate 700000 -bufsize 700000 {Tail1}" },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public void BuildsGoldenArguments(string backend, string expected)
    {
        var b = EncoderBackends.All.Single(x => x.Name == backend);
        var args = FfmpegCommand.Build(b, Rungs, Urls);
        Assert.Equal(expected.Split(' '), args);
    }

    public static TheoryData<string, string> ProbeGolden => new()
    {
        { "x264", "-hide_banner -nostdin -loglevel error -f lavfi -i color=c=black:size=256x144:rate=30 -frames:v 1 -vf scale=256:144 -c:v libx264 -f null -" },
        { "nvenc", "-hide_banner -nostdin -loglevel error -init_hw_device cuda=cu -filter_hw_device cu -f lavfi -i color=c=black:size=256x144:rate=30 -frames:v 1 -vf format=nv12,hwupload_cuda,scale_cuda=256:144 -c:v h264_nvenc -f null -" },
        { "qsv", "-hide_banner -nostdin -loglevel error -init_hw_device qsv=hw -filter_hw_device hw -f lavfi -i color=c=black:size=256x144:rate=30 -frames:v 1 -vf scale=256:144,hwupload=extra_hw_frames=64,format=qsv -c:v h264_qsv -f null -" },
        { "vaapi", "-hide_banner -nostdin -loglevel error -init_hw_device vaapi=va:/dev/dri/renderD128 -filter_hw_device va -f lavfi -i color=c=black:size=256x144:rate=30 -frames:v 1 -vf scale=256:144,format=nv12,hwupload -c:v h264_vaapi -f null -" },
    };

    [Theory]
    [MemberData(nameof(ProbeGolden))]
    public void BuildsGoldenProbeArguments(string backend, string expected) =>
        Assert.Equal(expected.Split(' '), EncoderBackends.All.Single(x => x.Name == backend).ProbeArguments());

    [Fact]
    public void X264PresetIsConfigurable()
    {
        var args = FfmpegCommand.Build(new H264X264Backend("superfast"), Rungs[..1], Urls[..1]);
        Assert.Equal("superfast", args[args.IndexOf("-preset") + 1]);
        Assert.Contains("split=1[s0]", args[args.IndexOf("-filter_complex") + 1]);
    }

    [Fact]
    public void A_low_latency_broadcast_encodes_every_x264_rung_with_the_zerolatency_tune()
    {
        var args = FfmpegCommand.Build(new H264X264Backend(), Rungs, Urls, lowLatency: true);
        // Once per rung, after that rung's encoder and before its output.
        var tunes = args.Select((a, i) => (a, i)).Where(x => x.a == "-tune").Select(x => x.i).ToList();
        Assert.Equal(Rungs.Length, tunes.Count);
        Assert.All(tunes, i => Assert.Equal("zerolatency", args[i + 1]));
        var outputs = Urls.Select(u => args.IndexOf(u)).ToList();
        for (int r = 0; r < Rungs.Length; r++) Assert.InRange(tunes[r], r == 0 ? 0 : outputs[r - 1], outputs[r]);
        Assert.DoesNotContain("-tune", FfmpegCommand.Build(new H264X264Backend(), Rungs, Urls));
        Assert.Equal(1, FfmpegCommand.Build(new H264NvencBackend(), Rungs[..1], Urls[..1], lowLatency: true).Count(a => a == "-tune"));
    }

    [Fact]
    public void RefusesMismatchedOutputs()
    {
        Assert.Throws<ArgumentException>(() => FfmpegCommand.Build(new H264X264Backend(), Rungs, Urls[..1]));
        Assert.Throws<ArgumentException>(() => FfmpegCommand.Build(new H264X264Backend(), [], []));
    }

    [Fact]
    public void CandidatesFollowProbeOrderAndRenderNodes()
    {
        var names = EncoderBackends.Candidates(new TranscodeOptions(), ["/dev/dri/renderD128", "/dev/dri/renderD129"])
            .Select(b => b is H264VaapiBackend v ? "vaapi:" + v.RenderNode : b.Name);
        Assert.Equal(["nvenc", "qsv", "vaapi:/dev/dri/renderD128", "vaapi:/dev/dri/renderD129", "x264"], names);
        Assert.Equal(["nvenc", "qsv", "x264"], EncoderBackends.Candidates(new TranscodeOptions(), []).Select(b => b.Name));
        Assert.Equal(["x264"], EncoderBackends.Candidates(new TranscodeOptions { Backends = ["x264"] }, []).Select(b => b.Name));
    }
}
