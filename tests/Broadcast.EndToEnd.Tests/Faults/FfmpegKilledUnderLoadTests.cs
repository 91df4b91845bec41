using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Faults;

/// <summary>
/// The transcoder's ffmpeg killed (SIGKILL) while two channels publish and hls.js plays one of them: that channel's
/// ladder restarts and its playlists keep advancing (the rung marks the break with EXT-X-DISCONTINUITY); the other
/// channel's ffmpeg, playlists and player-facing numbers are untouched. Extends Transcoding/TranscodingTests (one
/// channel, ffmpeg killed with nothing else running) to load. Own server: a small one-rung ladder (144p) so two
/// ladders, two publishers and a browser fit on this 2-core machine.
/// </summary>
[Collection(FaultsCollection.Name)]
public sealed class FfmpegKilledUnderLoadTests
{
    [Fact]
    public async Task Killing_one_channels_ffmpeg_restarts_its_ladder_while_the_other_channel_and_the_player_go_on()
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Transcode:Ladder:0:Name=144p", "--Transcode:Ladder:0:Height=144", "--Transcode:Ladder:0:VideoBitrate=150000",
                "--Transcode:X264Preset=ultrafast",
                // Shedding under this load would (rightly) drop the rung the test watches.
                "--Transcode:ShedBelowSpeed=0",
            ],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(100)}";
        var a = await server.Api.CreateChannelAsync($"killed {Guid.NewGuid():N}");
        var b = await server.Api.CreateChannelAsync($"bystander {Guid.NewGuid():N}");

        // Channel A first, so its ffmpeg is the one child there is; then B's is the new one.
        await using var publisherA = LavfiPublisher.Start(server.RtmpUrl(a.StreamKey));
        await Fault.WaitForAdvanceAsync(server.Viewer, a.Slug, 0, 1, TimeSpan.FromSeconds(60), () => Log(publisherA.Log.Tail(10)), "144p");
        var ffmpegA = Fault.Children(server.ProcessId, "ffmpeg");
        Assert.True(ffmpegA.Count == 1, Log($"ffmpeg children with one ladder: {string.Join(", ", ffmpegA)}"));
        await using var publisherB = LavfiPublisher.Start(server.RtmpUrl(b.StreamKey));
        string rungB = await Fault.WaitForAdvanceAsync(server.Viewer, b.Slug, 0, 1, TimeSpan.FromSeconds(60), () => Log(publisherB.Log.Tail(10)), "144p");
        var ffmpegB = Fault.Children(server.ProcessId, "ffmpeg").Except(ffmpegA).ToList();
        Assert.True(ffmpegB.Count == 1, Log($"B's ffmpeg: {string.Join(", ", ffmpegB)}"));

        // hls.js plays channel A.
        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(server.Absolute($"/live/{a.Slug}/master.m3u8").ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));
        double playedBefore = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(playedBefore + 2, TimeSpan.FromSeconds(30), () => Log(""));
        long rungBBefore = Fault.LastNumber(rungB);
        string sourceA = await Fault.PlaylistAsync(server.Viewer, a.Slug);

        // SIGKILL A's ffmpeg.
        await Fault.SignalAsync(ffmpegA[0], "KILL");
        double atKill = await player.GetCurrentTimeAsync();

        // A: a new ffmpeg, the restart counted, the rung marks the break and advances; the source never stopped.
        await WaitFor.ConditionAsync(() => Fault.Children(server.ProcessId, "ffmpeg").Except(ffmpegB).Except(ffmpegA).Any(),
            TimeSpan.FromSeconds(30), "a new ffmpeg for channel A", () => Log(""));
        await WaitFor.ConditionAsync(async () => Restarts(await server.Viewer.GetStringAsync("metrics"), a.Slug) >= 1,
            TimeSpan.FromSeconds(30), "broadcast_transcode_restarts_total of channel A", () => Log(""));
        string rungA = "";
        await WaitFor.ConditionAsync(async () =>
        {
            rungA = await Fault.PlaylistAsync(server.Viewer, a.Slug, "144p");
            int mark = rungA.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
            // Segments after the mark: the restarted ladder produces again.
            return mark >= 0 && Regex.Matches(rungA[mark..], @"\.m4s").Count >= 2;
        }, TimeSpan.FromSeconds(40), "A's 144p playlist to mark the restart and go on after it", () => Log(rungA));
        Assert.Null(Fault.Gap(rungA));
        sourceA = await Fault.WaitForAdvanceAsync(server.Viewer, a.Slug, Fault.LastNumber(sourceA), 3, TimeSpan.FromSeconds(30), () => Log(""));
        Assert.Null(Fault.Gap(sourceA));
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", sourceA);

        // The player goes on: at least 6 s more played, no fatal error.
        await player.WaitForCurrentTimeAsync(atKill + 6, TimeSpan.FromSeconds(40), () => Log("hls.js after the kill"));
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, $"hls.js fatal: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");

        // B: same ffmpeg, no restart, its rung advancing without a break.
        rungB = await Fault.WaitForAdvanceAsync(server.Viewer, b.Slug, rungBBefore, 3, TimeSpan.FromSeconds(30), () => Log(""), "144p");
        Assert.Null(Fault.Gap(rungB));
        Assert.DoesNotContain("#EXT-X-DISCONTINUITY\n", rungB);
        Assert.Contains(ffmpegB[0], Fault.Children(server.ProcessId, "ffmpeg"));
        Assert.Equal(0, Restarts(await server.Viewer.GetStringAsync("metrics"), b.Slug));
        Assert.False(publisherA.HasExited || publisherB.HasExited, Log("a publisher was dropped"));
    }

    private static long Restarts(string metrics, string slug) =>
        (long)(PrometheusSample.Read(metrics, "broadcast_transcode_restarts_total", $"stream=\"{slug}\"") ?? -1);
}
