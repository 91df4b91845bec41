using Broadcast.Ingest.Srt;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Tests.Srt;

/// <summary>
/// The SRT listener with real callers: ffmpeg publishing MPEG-TS over libsrt, the same authorizer, registry and grace as
/// RTMP. A refused caller is refused during the handshake (ffmpeg fails to connect); a malformed stream closes only
/// its own connection.
/// </summary>
[Trait("Kind", "Component")]
public class SrtServerTests
{
    private const int RefusedEvent = 1101;
    private const int ProtocolErrorEvent = 1103;
    private const int InterruptedEvent = 1104;
    private const int OpusToAacEvent = 1117;
    private const int OpusToAacRestartEvent = 1118;
    private const int StreamsLeftOutEvent = 1113;

    private static Task<RtmpTestHost> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["Srt:Port"] = "0", ["Srt:BindAddress"] = "127.0.0.1" };
        foreach (var (key, value) in settings ?? []) all[key] = value;
        return RtmpTestHost.StartAsync(all);
    }

    private static string Logs(RtmpTestHost host) => string.Join("\n", host.Logs.Entries.Select(e => $"{e.EventId} {e.Message}"));

    private static SrtServer Srt(RtmpTestHost host) => host.Services.GetRequiredService<SrtServer>();

    [Theory]
    [InlineData("access control", "#!::r=live/good,m=publish", "libx264", Codec.H264)]
    [InlineData("plain", "live/good", "libx264", Codec.H264)]
    [InlineData("access control, HEVC", "#!::u=studio,r=live/good,m=publish,t=stream", "libx265", Codec.H265)]
    public async Task Ffmpeg_publishes_over_srt_into_the_channels_stream(string name, string streamId, string codec, Codec expected)
    {
        await using var host = await StartAsync();
        await using var publisher = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, streamId), videoCodec: codec);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 50, Statistics.AudioFrames: > 50 }, 60),
            $"{name}: {publisher.Log.Tail(30)}\n{Logs(host)}");
        var stream = host.Registry.Find("news")!;
        Assert.Equal("channel-1", stream.Tag);
        Assert.Equal(expected, stream.Video!.Codec);
        Assert.Equal((320, 180), (stream.Video.Width, stream.Video.Height));
        Assert.Equal((48000, 2), (stream.Audio!.SampleRate, stream.Audio.Channels));
        Assert.Equal(1, Srt(host).Publishers);
    }

    [Fact]
    public async Task Opus_audio_over_srt_enters_the_stream_as_aac_on_the_video_clock()
    {
        await using var host = await StartAsync();
        await using var publisher = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, "live/good"), audioCodec: "libopus");
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Audio: not null }, 60), $"{publisher.Log.Tail(30)}\n{Logs(host)}");
        var stream = host.Registry.Find("news")!;
        Assert.Equal((Codec.Aac, 48000, 2), (stream.Audio!.Codec, stream.Audio.SampleRate, stream.Audio.Channels));
        Assert.Contains(host.Logs.Entries, e => e.EventId == OpusToAacEvent && e.Message.Contains("2 channels", StringComparison.Ordinal));

        // Frames as a reader sees them: AAC times on the same clock as the video (the publisher starts both at once), so
        // the two newest lie within the converter's delay of each other, not seconds apart.
        var reader = stream.OpenReader("test", capacity: 4096);
        long? video = null, audio = null;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        int audioFrames = 0;
        while (audioFrames < 100)
        {
            var frame = await reader.ReadAsync(timeout.Token);
            if (frame is null) break;
            if (frame.Kind == MediaKind.Video) video = Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Milliseconds);
            else
            {
                audio = Timescales.Rescale(frame.Dts, frame.Track.Timescale, Timescales.Milliseconds);
                audioFrames++;
            }
            frame.Release();
        }
        Assert.True(audioFrames >= 100 && video is not null, $"{audioFrames} audio frames read\n{Logs(host)}");
        Assert.InRange(audio!.Value - video!.Value, -1000, 1000);
    }

    [Fact]
    public async Task A_failing_opus_converter_is_restarted_and_never_stops_the_video()
    {
        await using var host = await StartAsync(new() { ["Srt:FfmpegPath"] = "/bin/false" });
        await using var publisher = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, "live/good"), audioCodec: "libopus");
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 100 }
            && host.Logs.Entries.Count(e => e.EventId == OpusToAacRestartEvent) >= 2, 60), $"{publisher.Log.Tail(30)}\n{Logs(host)}");
        Assert.Contains("ffmpeg exited (1)", host.Logs.Entries.First(e => e.EventId == OpusToAacRestartEvent).Message);
        Assert.Null(host.Registry.Find("news")!.Audio);
    }

    [Theory]
    [InlineData("unknown key", "#!::r=live/wrong,m=publish", 1401)]
    [InlineData("playback mode", "#!::r=live/good,m=request", 1400)]
    [InlineData("no stream id", "", 1400)]
    public async Task A_refused_caller_fails_at_the_handshake(string name, string streamId, int code)
    {
        await using var host = await StartAsync();
        await using var publisher = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, streamId), seconds: 5);
        Assert.NotEqual(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("reject", publisher.Log.Tail(200), StringComparison.OrdinalIgnoreCase);
        var refusal = Assert.Single(host.Logs.Entries, e => e.EventId == RefusedEvent);
        Assert.Contains($"reject code {code}", refusal.Message);
        Assert.DoesNotContain("wrong", refusal.Message); // the key never goes into a log
        Assert.Null(host.Registry.Find("news"));
        Assert.Equal(0, Srt(host).Publishers);
        Assert.NotNull(name);
    }

    [Fact]
    public async Task A_second_publisher_of_a_live_channel_is_refused()
    {
        await using var host = await StartAsync();
        var url = SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey));
        await using var first = SrtPublisher.StartLavfi(url);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 10 }, 60), first.Log.Tail(30) + "\n" + Logs(host));
        await using var second = SrtPublisher.StartLavfi(url, seconds: 5);
        Assert.NotEqual(0, await second.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(host.Logs.Entries, e => e.EventId == RefusedEvent && e.Message.Contains("reject code 1409"));
        Assert.False(first.HasExited);
    }

    [Theory]
    [InlineData("aac")]
    [InlineData("libopus")]
    public async Task A_dropped_publisher_that_returns_within_the_grace_continues_the_broadcast(string audioCodec)
    {
        await using var host = await StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "30" });
        var url = SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey));
        var first = SrtPublisher.StartLavfi(url, audioCodec: audioCodec);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 25 }, 60), first.Log.Tail(30) + "\n" + Logs(host));
        var stream = host.Registry.Find("news")!;

        first.Stop(); // killed: no SRT shutdown reaches us; libsrt notices the silence (peer idle timeout)
        await first.DisposeAsync();
        Assert.True(await RtmpTestHost.EventuallyAsync(() => stream.IsReconnecting, 30));
        // The stream waits a moment before the line saying so is written (the server logs after Interrupt returns).
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == InterruptedEvent), 30), Logs(host));

        long before = stream.Statistics.VideoFrames, audioBefore = stream.Statistics.AudioFrames;
        await using var second = SrtPublisher.StartLavfi(url, audioCodec: audioCodec);
        // The returning publisher's audio continues too (with Opus: through the new connection's own converter).
        Assert.True(await RtmpTestHost.EventuallyAsync(() => !stream.IsReconnecting && stream.Epoch == 1 && stream.Statistics.VideoFrames > before + 25
            && stream.Statistics.AudioFrames > audioBefore + 25, 60), second.Log.Tail(30) + "\n" + Logs(host));
        Assert.Equal(audioCodec == "libopus" ? 2 : 0, host.Logs.Entries.Count(e => e.EventId == OpusToAacEvent));
        Assert.Same(stream, host.Registry.Find("news"));
        Assert.False(stream.IsCompleted);
        Assert.Empty(host.Authorizer.Unpublished);
    }

    [Fact]
    public async Task Malformed_ts_closes_that_connection_with_a_reason_and_the_server_keeps_serving()
    {
        await using var host = await StartAsync(new() { ["Ingest:ReconnectGraceSeconds"] = "0" });
        using var dir = new TempDirectory();
        string clip = dir.Combine("clip.ts");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "mpegts", clip);
        var bytes = File.ReadAllBytes(clip);
        bytes[188 * 40] = 0x00; // packet 40 loses its sync byte
        string broken = dir.Combine("broken.ts");
        File.WriteAllBytes(broken, bytes);

        var url = SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey));
        await using (var bad = SrtPublisher.StartRawBytes(broken, url))
        {
            Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == ProtocolErrorEvent), 60), bad.Log.Tail(30) + "\n" + Logs(host));
        }
        var error = Assert.Single(host.Logs.Entries, e => e.EventId == ProtocolErrorEvent);
        Assert.Contains("lost MPEG-TS sync", error.Message);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is null && Srt(host).Publishers == 0));

        await using var good = SrtPublisher.StartLavfi(url);
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 25 }, 60), good.Log.Tail(30) + "\n" + Logs(host));
    }

    [Fact]
    public async Task With_a_passphrase_only_callers_that_know_it_get_in()
    {
        const string passphrase = "correct-horse-battery";
        await using var host = await StartAsync(new() { ["Srt:Passphrase"] = passphrase, ["Srt:KeyLength"] = "32", ["Srt:LatencyMs"] = "200" });
        var server = Srt(host).LocalEndPoint!;
        string streamId = SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey);

        await using (var plain = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(server, streamId), seconds: 5))
            Assert.NotEqual(0, await plain.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await using (var wrong = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(server, streamId, "not the passphrase"), seconds: 5))
            Assert.NotEqual(0, await wrong.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Null(host.Registry.Find("news"));

        await using var right = SrtPublisher.StartLavfi(SrtPublisher.UrlFor(server, streamId, passphrase));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Registry.Find("news") is { Statistics.VideoFrames: > 25 }, 60), right.Log.Tail(30) + "\n" + Logs(host));
    }

    [Fact]
    public async Task Audio_left_out_is_a_warning_naming_the_default_and_alternate_audio_taken()
    {
        await using var host = await StartAsync(new() { ["Srt:MaxAudioTracks"] = "2" });
        using var dir = new TempDirectory();
        string clip = dir.Combine("languages.ts");
        // Three AAC languages and an MP2 commentary: English is the default, French an alternate, German past the cap.
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000",
            "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000", "-f", "lavfi", "-i", "sine=frequency=220:sample_rate=48000",
            "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-map", "4:a", "-t", "4",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a:0", "aac", "-c:a:1", "aac", "-c:a:2", "aac", "-c:a:3", "mp2",
            "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:a:2", "language=deu",
            "-metadata:s:a:3", "language=spa", "-f", "mpegts", clip);

        await using var publisher = SrtPublisher.StartRawBytes(clip, SrtPublisher.UrlFor(Srt(host).LocalEndPoint!, SrtPublisher.StreamId(TestPublishAuthorizer.GoodKey)));
        Assert.True(await RtmpTestHost.EventuallyAsync(() => host.Logs.Entries.Any(e => e.EventId == StreamsLeftOutEvent), 60), publisher.Log.Tail(30) + "\n" + Logs(host));
        var leftOut = host.Logs.Entries.First(e => e.EventId == StreamsLeftOutEvent);
        Assert.Equal(LogLevel.Warning, leftOut.Level);
        string[] parts = leftOut.Message.Split("audio ingested:", 2);
        Assert.True(parts.Length == 2, leftOut.Message);
        Assert.Contains("(deu)", parts[0], StringComparison.Ordinal);
        Assert.Contains("(spa)", parts[0], StringComparison.Ordinal);
        Assert.Contains("(eng) (default)", parts[1], StringComparison.Ordinal);
        Assert.Contains("(fra)", parts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("(deu)", parts[1], StringComparison.Ordinal);
    }
}
