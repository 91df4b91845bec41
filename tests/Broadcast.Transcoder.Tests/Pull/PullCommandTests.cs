using Broadcast.Transcoder.Pull;

namespace Broadcast.Transcoder.Tests.Pull;

public sealed class PullCommandTests
{
    private static readonly PullOptions Options = new() { ConnectTimeout = TimeSpan.FromSeconds(10), KeyframeSeconds = 2 };
    private static readonly PullProbeResult H264Aac = new("h264", "aac");

    private static PullInput Input(string url)
    {
        Assert.True(PullInput.TryResolve(url, "/srv/media", out var input, out var error), error);
        return input;
    }

    private const string Copy = "-map 0:v:0 -map 0:a:0? -c:v copy -c:a copy -f flv -flvflags no_duration_filesize pipe:1";

    // (url, loop, probe, golden argument list joined by spaces)
    public static TheoryData<string, bool, PullProbeResult, string> Golden => new()
    {
        { "rtmp://127.0.0.1:1935/live/key", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -i rtmp://127.0.0.1:1935/live/key {Copy}" },
        { "srt://127.0.0.1:9000", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -i srt://127.0.0.1:9000 {Copy}" },
        { "http://127.0.0.1/hls/index.m3u8", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -re -i http://127.0.0.1/hls/index.m3u8 {Copy}" },
        { "file:clips/a.mp4", true, H264Aac,
            $"-hide_banner -nostats -v error -re -stream_loop -1 -i file:/srv/media/clips/a.mp4 {Copy}" },
        { "file:clips/a.mp4", false, H264Aac,
            $"-hide_banner -nostats -v error -re -i file:/srv/media/clips/a.mp4 {Copy}" },
        // HEVC cannot travel in legacy FLV, MP3 is not accepted by ingest: both are encoded.
        { "file:b.mkv", false, new PullProbeResult("hevc", "mp3"),
            "-hide_banner -nostats -v error -re -i file:/srv/media/b.mkv -map 0:v:0 -map 0:a:0? " +
            "-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -force_key_frames expr:gte(t,n_forced*2) -sc_threshold 0 " +
            "-c:a aac -b:a 128000 -f flv -flvflags no_duration_filesize pipe:1" },
        // No audio: no audio codec at all.
        { "file:c.mp4", false, new PullProbeResult("h264", null),
            "-hide_banner -nostats -v error -re -i file:/srv/media/c.mp4 -map 0:v:0 -map 0:a:0? -c:v copy -f flv -flvflags no_duration_filesize pipe:1" },
    };

    [Theory]
    [MemberData(nameof(Golden))]
    public void Builds_golden_ffmpeg_arguments(string url, bool loop, PullProbeResult probe, string expected)
    {
        var args = PullCommand.Build(Input(url), loop, probe, Options);
        Assert.Equal(expected, string.Join(' ', args));
    }

    [Fact]
    public void Loop_applies_to_files_only()
    {
        var args = PullCommand.Build(Input("rtmp://h/live/k"), loop: true, H264Aac, Options);
        Assert.DoesNotContain("-stream_loop", args);
        Assert.DoesNotContain("-re", args);
    }

    [Fact]
    public void A_url_with_spaces_or_quotes_stays_one_argument()
    {
        var root = "/srv/media library";
        Assert.True(PullInput.TryResolve("file:it's%20a.mp4", root, out var input, out _));
        var args = PullCommand.Build(input, false, H264Aac, Options);
        Assert.Contains("file:/srv/media library/it's%20a.mp4", args);
    }

    [Fact]
    public void Probe_asks_for_codec_names_and_types_with_a_timeout_for_network_sources()
    {
        Assert.Equal("-hide_banner -v error -rw_timeout 10000000 -show_entries stream=codec_name,codec_type -of csv=p=0 rtmp://h/live/k",
            string.Join(' ', PullCommand.BuildProbe(Input("rtmp://h/live/k"), Options)));
        Assert.Equal("-hide_banner -v error -show_entries stream=codec_name,codec_type -of csv=p=0 file:/srv/media/a.mp4",
            string.Join(' ', PullCommand.BuildProbe(Input("file:a.mp4"), Options)));
    }
}
