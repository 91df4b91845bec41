using System.Net;
using Broadcast.TestSupport;
using Broadcast.Ingest.Pull;

namespace Broadcast.Ingest.Tests.Pull;

public sealed class PullCommandTests
{
    private static readonly PullOptions Options = new() { ConnectTimeout = TimeSpan.FromSeconds(10), KeyframeSeconds = 2, CaFile = "" };
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
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -protocol_whitelist rtmp,tcp -i rtmp://127.0.0.1:1935/live/key {Copy}" },
        { "rtmps://127.0.0.1/live/key", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -protocol_whitelist rtmps,tls,tcp -tls_verify 1 -i rtmps://127.0.0.1/live/key {Copy}" },
        { "srt://127.0.0.1:9000", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -protocol_whitelist srt -i srt://127.0.0.1:9000 {Copy}" },
        { "http://127.0.0.1/hls/index.m3u8", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -protocol_whitelist http,https,tls,tcp,crypto,data -max_redirects 0 -re -i http://127.0.0.1/hls/index.m3u8 {Copy}" },
        { "https://127.0.0.1/hls/index.m3u8", false, H264Aac,
            $"-hide_banner -nostats -v error -rw_timeout 10000000 -protocol_whitelist http,https,tls,tcp,crypto,data -tls_verify 1 -max_redirects 0 -re -i https://127.0.0.1/hls/index.m3u8 {Copy}" },
        { "file:clips/a.mp4", true, H264Aac,
            $"-hide_banner -nostats -v error -protocol_whitelist file -re -stream_loop -1 -i file:/srv/media/clips/a.mp4 {Copy}" },
        { "file:clips/a.mp4", false, H264Aac,
            $"-hide_banner -nostats -v error -protocol_whitelist file -re -i file:/srv/media/clips/a.mp4 {Copy}" },
        // Sound alone (a program's music bed; a channel's pull refuses it at the probe): the sound mapped, no video options.
        { "file:bed.mp3", true, new PullProbeResult(null, "mp3"),
            "-hide_banner -nostats -v error -protocol_whitelist file -re -stream_loop -1 -i file:/srv/media/bed.mp3 -map 0:a:0 " +
            "-c:a aac -b:a 128000 -f flv -flvflags no_duration_filesize pipe:1" },
        // HEVC cannot travel in legacy FLV, MP3 is not accepted by ingest: both are encoded.
        { "file:b.mkv", false, new PullProbeResult("hevc", "mp3"),
            "-hide_banner -nostats -v error -protocol_whitelist file -re -i file:/srv/media/b.mkv -map 0:v:0 -map 0:a:0? " +
            "-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -force_key_frames expr:gte(t,n_forced*2) -sc_threshold 0 " +
            "-c:a aac -b:a 128000 -f flv -flvflags no_duration_filesize pipe:1" },
        // No audio: no audio codec at all.
        { "file:c.mp4", false, new PullProbeResult("h264", null),
            "-hide_banner -nostats -v error -protocol_whitelist file -re -i file:/srv/media/c.mp4 -map 0:v:0 -map 0:a:0? -c:v copy -f flv -flvflags no_duration_filesize pipe:1" },
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
        Assert.Equal("-hide_banner -v error -rw_timeout 10000000 -protocol_whitelist rtmp,tcp -show_entries stream=codec_name,codec_type -of csv=p=0 rtmp://h/live/k",
            string.Join(' ', PullCommand.BuildProbe(Input("rtmp://h/live/k"), Options)));
        Assert.Equal("-hide_banner -v error -protocol_whitelist file -show_entries stream=codec_name,codec_type -of csv=p=0 file:/srv/media/a.mp4",
            string.Join(' ', PullCommand.BuildProbe(Input("file:a.mp4"), Options)));
    }

    [Fact]
    public void Tls_sources_verify_against_the_ca_bundle_unless_the_source_allows_an_untrusted_certificate()
    {
        using var ca = new TempDirectory("pull-ca");
        var bundle = ca.Combine("ca.pem");
        File.WriteAllText(bundle, "-----BEGIN CERTIFICATE-----\n");
        var options = new PullOptions { CaFile = bundle };
        Assert.Equal(["-protocol_whitelist", "rtmps,tls,tcp", "-tls_verify", "1", "-ca_file", bundle],
            PullTarget.For(Input("rtmps://live.example.com/app/key"), options, allowUntrustedCertificate: false).InputOptions);
        Assert.Equal(["-protocol_whitelist", "http,https,tls,tcp,crypto,data", "-max_redirects", "0"],
            PullTarget.For(Input("https://cdn.example.com/a.m3u8"), options, allowUntrustedCertificate: true).InputOptions);
        // A bundle that is not there is not named (ffmpeg's TLS library then uses the system store).
        Assert.DoesNotContain("-ca_file", PullTarget.For(Input("https://cdn.example.com/a.m3u8"), new PullOptions { CaFile = ca.Combine("none.pem") }, false).InputOptions);
    }

    // (url, pinned address, ffmpeg's input, the -rtmp_tcurl it gets or null)
    public static TheoryData<string, string, string, string?> Pinned => new()
    {
        { "rtmp://live.example.com/live/key", "93.184.216.34", "rtmp://93.184.216.34:1935/live/key", "rtmp://live.example.com:1935/live" },
        { "rtmp://live.example.com:1936/live/key?token=abc", "93.184.216.34", "rtmp://93.184.216.34:1936/live/key?token=abc", "rtmp://live.example.com:1936/live" },
        { "rtmp://user:pw@live.example.com/app/inst/key", "2606:2800:220:1::1", "rtmp://user:pw@[2606:2800:220:1::1]:1935/app/inst/key", "rtmp://live.example.com:1935/app/inst" },
        { "rtmp://live.example.com/app/mp4:a/b.mp4", "93.184.216.34", "rtmp://93.184.216.34:1935/app/mp4:a/b.mp4", "rtmp://live.example.com:1935/app" },
        { "rtmp://live.example.com/ondemand/x/y", "93.184.216.34", "rtmp://93.184.216.34:1935/ondemand/x/y", "rtmp://live.example.com:1935/ondemand" },
        { "rtmp://live.example.com/key", "93.184.216.34", "rtmp://93.184.216.34:1935/key", "rtmp://live.example.com:1935/key" },
        { "srt://guest.example.com:9000?streamid=live/key&latency=200000", "93.184.216.34", "srt://93.184.216.34:9000?streamid=live/key&latency=200000", null },
        // TLS keeps the name: SNI and the certificate check need it.
        { "rtmps://live.example.com/live/key", "93.184.216.34", "rtmps://live.example.com/live/key", null },
        { "https://cdn.example.com/a.m3u8", "93.184.216.34", "https://cdn.example.com/a.m3u8", null },
    };

    [Theory]
    [MemberData(nameof(Pinned))]
    public void Rtmp_and_srt_connect_to_the_checked_address_and_keep_the_name_in_the_tcurl(string url, string address, string expected, string? tcUrl)
    {
        var target = PullTarget.For(Input(url), Options, allowUntrustedCertificate: false, IPAddress.Parse(address));
        Assert.Equal(expected, target.Url);
        int at = target.InputOptions.ToList().IndexOf("-rtmp_tcurl");
        Assert.Equal(tcUrl, at < 0 ? null : target.InputOptions[at + 1]);
    }
}
