using Microsoft.Extensions.Configuration;
using Broadcast.Ingest.Pull;

namespace Broadcast.Ingest.Tests.Pull;

public sealed class PullProbeTests
{
    // (name, ffprobe csv lines, video, audio)
    public static TheoryData<string, string[], string?, string?> Media => new()
    {
        { "h264 + aac", ["h264,video", "aac,audio"], "h264", "aac" },
        { "audio first", ["aac,audio", "h264,video"], "h264", "aac" },
        { "hevc + opus + data", ["hevc,video", "opus,audio", "bin_data,data"], "hevc", "opus" },
        { "two video streams: the first", ["h264,video", "mjpeg,video"], "h264", null },
        { "trailing comma and spaces", [" h264,video, ", "", "aac,audio"], "h264", "aac" },
        { "type first", ["video,h264"], "h264", null },
    };

    [Theory]
    [MemberData(nameof(Media))]
    public void Parses_the_first_video_and_audio_codec(string name, string[] lines, string? video, string? audio)
    {
        Assert.True(PullProbe.TryParse(lines, out var result, out var failure), name);
        Assert.Null(failure);
        Assert.Equal(video, result.VideoCodec);
        Assert.Equal(audio, result.AudioCodec);
    }

    [Theory]
    [InlineData(new[] { "aac,audio" }, "no video stream (found: aac)")]
    [InlineData(new[] { "bin_data,data" }, "no video stream (found: data only)")]
    [InlineData(new string[0], "no audio or video streams")]
    [InlineData(new[] { "garbage", ",", "video" }, "no video stream")]
    [InlineData(new[] { ",video" }, "no video stream")]
    public void A_source_without_video_is_not_media(string[] lines, string reason)
    {
        Assert.False(PullProbe.TryParse(lines, out _, out var failure));
        Assert.Equal(PullFailureKind.NotMedia, failure!.Kind);
        Assert.Contains(reason, failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Sound_alone_is_media_where_a_music_bed_is_allowed_and_nothing_at_all_still_is_not()
    {
        Assert.True(PullProbe.TryParse(["mp3,audio"], out var result, out var failure, audioOnlyAllowed: true));
        Assert.Null(failure);
        Assert.Null(result.VideoCodec);
        Assert.Equal("mp3", result.AudioCodec);
        Assert.False(PullProbe.TryParse(["bin_data,data"], out _, out failure, audioOnlyAllowed: true));
        Assert.Equal(PullFailureKind.NotMedia, failure!.Kind);
    }

    // (stderr as ffmpeg 5.1 (Debian 5.1.9) wrote it against sources on loopback, kind, verdict, reason): the reason is a fixed phrase, never
    // the remote's text, an address or a URL.
    public static TheoryData<string[], PullSourceKind, PullFailureKind, string> Failures => new()
    {
        { ["http://127.0.0.1:52047/proxy.py: Invalid data found when processing input"], PullSourceKind.Http, PullFailureKind.NotMedia,
            "not a media stream: ffmpeg says \"Invalid data found when processing input\"" },
        { ["[tcp @ 0x55c3190b2ac0] Connection to tcp://127.0.0.1:51665?tcp_nodelay=0 failed: Connection refused",
           "[rtmp @ 0x55c3190b2080] Cannot open connection tcp://127.0.0.1:51665?tcp_nodelay=0",
           "rtmp://127.0.0.1:51665/live/SECRET: Connection refused"], PullSourceKind.Rtmp, PullFailureKind.Unreachable, "connection refused" },
        { ["[tcp @ 0x56009c1db340] Connection to tcp://127.0.0.1:51665 failed: Connection refused",
           "[rtmps @ 0x56009c1da080] Cannot open connection tls://127.0.0.1:51665",
           "rtmps://127.0.0.1:51665/live/SECRET: Connection refused"], PullSourceKind.Rtmp, PullFailureKind.Unreachable, "connection refused" },
        { ["[tcp @ 0x5637dba87080] Connection to tcp://127.0.0.1:51665 failed: Connection refused",
           "http://127.0.0.1:51665/a.m3u8: Connection refused"], PullSourceKind.Http, PullFailureKind.Unreachable, "connection refused" },
        { ["[srt @ 0x5635235b2080] Connection to srt://127.0.0.1:51665 failed: Input/output error",
           "srt://127.0.0.1:51665: Input/output error"], PullSourceKind.Srt, PullFailureKind.Unreachable, "no answer from an SRT listener" },
        { ["[tls @ 0x5635ee425080] Peer certificate failed verification",
           "https://127.0.0.1:59323/seg.m3u8: Input/output error"], PullSourceKind.Http, PullFailureKind.Unreachable, "TLS verification failed" },
        { ["[tls @ 0x56017a3dfcc0] The certificate's owner does not match hostname 127.0.0.1",
           "https://127.0.0.1:35393/seg.m3u8: Input/output error"], PullSourceKind.Http, PullFailureKind.Unreachable, "TLS verification failed" },
        { ["[tls @ 0x5574d9551ac0] Peer certificate failed verification", "[rtmps @ 0x5574d9551080] Cannot open connection tls://127.0.0.1:59323",
           "rtmps://127.0.0.1:59323/live/SECRET: Input/output error"], PullSourceKind.Rtmp, PullFailureKind.Unreachable, "TLS verification failed" },
        { ["http://127.0.0.1:59323/seg.m3u8: Connection reset by peer"], PullSourceKind.Http, PullFailureKind.Unreachable, "connection reset by the remote" },
        { ["[rtmp @ 0x56088ef1f080] Cannot read RTMP handshake response", "rtmp://127.0.0.1:59323/live/SECRET: Connection reset by peer"],
            PullSourceKind.Rtmp, PullFailureKind.Unreachable, "connection reset by the remote" },
        { ["http://127.0.0.1:35965/x.m3u8: Connection timed out"], PullSourceKind.Http, PullFailureKind.Unreachable, "timed out" },
        { ["[tls @ 0x5567e1259040] Error in the pull function.", "[tls @ 0x5567e1259040] IO error: Connection timed out",
           "https://127.0.0.1:35965/x: Connection timed out"], PullSourceKind.Http, PullFailureKind.Unreachable, "timed out" },
        { ["[tcp @ 0x5564b1abb580] Failed to resolve hostname nonexistent.invalid: Name or service not known",
           "[rtmp @ 0x5564b1abaa80] Cannot open connection tcp://nonexistent.invalid:1935?tcp_nodelay=0",
           "rtmp://nonexistent.invalid/live/SECRET: Input/output error"], PullSourceKind.Rtmp, PullFailureKind.Unreachable, "host not found" },
        { ["http://127.0.0.1:52047/missing.m3u8: Server returned 404 Not Found"], PullSourceKind.Http, PullFailureKind.Unreachable, "the server answered HTTP 404" },
        { ["http://h/x.m3u8: Server returned 5XX Server Error reply"], PullSourceKind.Http, PullFailureKind.Unreachable, "the server answered HTTP 5xx" },
        { ["[rtmp @ 0x1] Server error: SECRET stream not found on 10.0.0.3", "rtmp://h/live/SECRET: Operation not permitted"], PullSourceKind.Rtmp,
            PullFailureKind.Unreachable, "the RTMP server refused the stream" },
        { ["http://127.0.0.1:36389/x.m3u8: Input/output error"], PullSourceKind.Http, PullFailureKind.Unreachable,
            "the source could not be read (a redirect, which is not followed, or a dropped connection)" },
        { ["file:/srv/media/gone.mp4: No such file or directory"], PullSourceKind.File, PullFailureKind.Missing, "the file does not exist in the media library" },
        { ["[hls @ 0x1] Opening 'http://10.0.0.3:6379/SECRET' for reading", "  "], PullSourceKind.Http, PullFailureKind.Unreachable,
            "the source could not be read (ffmpeg exit code 1)" },
        { [], PullSourceKind.Rtmp, PullFailureKind.Unreachable, "the source could not be read (ffmpeg exit code 1)" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Classifies_failures_and_keeps_urls_out_of_the_reason(string[] stderr, PullSourceKind kind, PullFailureKind verdict, string reason)
    {
        var failure = PullProbe.Classify(1, stderr, kind);
        Assert.Equal(verdict, failure.Kind);
        Assert.Equal(reason, failure.Reason);
        Assert.DoesNotContain("SECRET", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", failure.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain("10.0.0.3", failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_text_never_reaches_the_reason()
    {
        var failure = PullProbe.Classify(1, [new string('x', 5000)], PullSourceKind.Rtmp);
        Assert.Equal("the source could not be read (ffmpeg exit code 1)", failure.Reason);
    }

    [Fact]
    public void Describes_what_is_copied_and_what_is_encoded()
    {
        Assert.Equal("video h264 (copied), audio aac (copied)", new PullProbeResult("h264", "aac").Describe());
        Assert.Equal("video hevc (encoded to h264), audio mp3 (encoded to aac)", new PullProbeResult("hevc", "mp3").Describe());
        Assert.Equal("video h264 (copied), audio none", new PullProbeResult("h264", null).Describe());
    }
}

public sealed class PullOptionsTests
{
    [Fact]
    public void Defaults_and_keys()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pull:MediaRoot"] = "/srv/library",
            ["Pull:RetryMaxSeconds"] = "60",
            ["Transcode:FfmpegPath"] = "/opt/ffmpeg/bin/ffmpeg",
            ["Packager:SegmentSeconds"] = "4",
        }).Build();
        var o = PullOptions.FromConfiguration(config, Broadcast.Processes.FfmpegLocator.FromConfiguration(config));
        Assert.True(o.Enabled);
        Assert.Equal("/srv/library", o.MediaRoot);
        Assert.Equal(TimeSpan.FromSeconds(60), o.RetryMax);
        Assert.Equal(TimeSpan.FromSeconds(1), o.RetryInitial);
        Assert.Equal("/opt/ffmpeg/bin/ffmpeg", o.FfmpegPath);
        Assert.Equal("/opt/ffmpeg/bin/ffprobe", o.FfprobePath);
        Assert.Equal(4, o.KeyframeSeconds);
    }

    [Theory]
    [InlineData("Pull:RetryMaxSeconds", "0")]
    [InlineData("Pull:RetryInitialSeconds", "soon")]
    [InlineData("Pull:Enabled", "yes")]
    [InlineData("Pull:ConnectTimeoutSeconds", "-1")]
    public void An_invalid_value_names_its_key(string key, string value)
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [key] = value }).Build();
        var e = Assert.Throws<InvalidOperationException>(() => PullOptions.FromConfiguration(config, Broadcast.Processes.FfmpegLocator.FromConfiguration(config)));
        Assert.Contains(key, e.Message, StringComparison.Ordinal);
    }
}
