using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Server;

/// <summary>RTMPS ingest on the shared server (its fixture turns RTMPS on with a self-signed certificate).</summary>
[Collection(ServerCollection.Name)]
public sealed class RtmpsTests(ServerFixture fixture)
{
    public static readonly ClipSpec RtmpsClip = new() { Seconds = 16, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Ffmpeg_publishes_over_rtmps_and_plays_while_a_plain_rtmp_client_on_that_port_is_refused()
    {
        var clip = await TestMedia.GetClipAsync(RtmpsClip);
        var channel = await Server.Api.CreateChannelAsync($"rtmps {Guid.NewGuid():N}");
        var small = await TestMedia.GetClipAsync(RtmpsClip with { Seconds = 4 });
        var other = await Server.Api.CreateChannelAsync($"rtmps plain {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(clip, fixture.RtmpsUrl(channel.StreamKey));
        string Publisher() => $"rtmps publisher:{Environment.NewLine}{publisher.Log.Tail(20)}";

        var hls = PlaybackUrls.Hls(Server, channel);
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await Server.Viewer.GetAsync(hls);
                return r.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"GET {hls} to answer 200 while publishing over RTMPS", () => fixture.WithLog(Publisher()));

        // A plain RTMP encoder pointed at the RTMPS port, with a valid key, while the TLS publisher is live.
        await using (var plain = FfmpegPublisher.Start(small, $"rtmp://127.0.0.1:{fixture.RtmpsPort}/live/{other.StreamKey}"))
        {
            var exit = await plain.WaitForExitAsync(TimeSpan.FromSeconds(60));
            fixture.Check(exit != 0, $"plain RTMP on the RTMPS port exited {exit}; expected a refusal{Environment.NewLine}{plain.Log.Tail(20)}");
        }

        await WaitFor.ConditionAsync(
            () => Server.Log.Contains("plain RTMP (first byte 0x03) on the RTMPS port"),
            TimeSpan.FromSeconds(15), "the server log to say why the plain RTMP client was refused", () => fixture.WithLog(""));
        fixture.Check(!publisher.HasExited, $"the RTMPS publisher stopped when a plain client was refused{Environment.NewLine}{Publisher()}");
        var otherStatus = await Server.Api.GetChannelAsync(other.Id);
        fixture.Check(otherStatus.Live != true, $"the channel the plain client aimed at went live: {otherStatus}");

        ProbeResult? probe = null;
        var probeError = await Record.ExceptionAsync(async () => probe = await FfProbe.ProbeAsync(hls.ToString(), timeout: TimeSpan.FromSeconds(60)));
        fixture.Check(probe is not null, $"ffprobe {hls} failed: {probeError?.Message}");
        fixture.Check(probe!.Video is { CodecName: "h264", Width: 320, Height: 240 }, $"ffprobe {hls}: video {probe.Video}, expected h264 320x240");
        fixture.Check(probe.Audio is { CodecName: "aac" }, $"ffprobe {hls}: audio {probe.Audio}, expected aac");

        await fixture.PlaysAsync(PlayerKind.Hls, hls, Publisher);

        var exitCode = await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60));
        fixture.Check(exitCode == 0, $"the RTMPS publisher exited {exitCode}{Environment.NewLine}{Publisher()}");
    }
}
