using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Reconnect;

/// <summary>
/// <c>Ingest:Slate</c> end to end, on its own server (the slate is a server setting the shared server does not have):
/// hls.js plays a live channel, ffmpeg is killed, and while nobody publishes the media playlist keeps growing with
/// slate segments (behind one discontinuity) and hls.js keeps advancing well past what it had buffered; when the same
/// key publishes again the live media follows behind a second discontinuity and playback goes on.
/// </summary>
public sealed class SlateTests
{
    // 320x240 stays below every ladder rung: only the source and the audio are packaged, which keeps the test light.
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    [Fact]
    public async Task Hls_plays_the_slate_through_the_gap_and_the_encoder_after_it()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        using var dir = new TempDirectory("slate-e2e");
        string slate = Path.Combine(dir.Path, "slate.png");
        MediaTools.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=navy:s=640x360", "-frames:v", "1", "-y", slate);
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Ingest:Slate=" + slate, "--Ingest:ReconnectGraceSeconds=90"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(60)}";
        var channel = await server.Api.CreateChannelAsync($"slate {Guid.NewGuid():N}");
        var master = server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var media = server.Absolute($"/live/{channel.Slug}/source/index.m3u8");
        string playlist = "";
        async Task<string> MediaAsync()
        {
            using var r = await server.Viewer.GetAsync(media);
            playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return playlist;
        }

        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        var first = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 5);
        try
        {
            await WaitFor.ConditionAsync(async () => (await MediaAsync()).Contains(".m4s", StringComparison.Ordinal), TimeSpan.FromSeconds(60),
                "the media playlist while publishing", () => Log(first.Log.Tail(15)));
            // The master is written once every rendition (the transcoded rungs too) has a segment: the source's can be first.
            await WaitFor.ConditionAsync(async () =>
                {
                    using var r = await server.Viewer.GetAsync(master);
                    return r.IsSuccessStatusCode;
                }, TimeSpan.FromSeconds(60), "the master playlist while publishing", () => Log(first.Log.Tail(15)));
            await player.StartAsync(master.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(""));
            var playing = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(playing + 3, TimeSpan.FromSeconds(45), () => Log(""));
        }
        finally
        {
            // Killed: the connection drops without an unpublish.
            first.Stop();
            await first.DisposeAsync();
        }

        // During the gap: slate segments behind a discontinuity, the playlist growing, hls.js going on well past the
        // 3 target durations it holds back from the live edge.
        await WaitFor.ConditionAsync(async () => await Playlists.IsReconnectingAsync(server, channel.Id),
            TimeSpan.FromSeconds(30), "the channel to show as reconnecting", () => Log(""));
        double atDrop = await player.GetCurrentTimeAsync();
        await WaitFor.ConditionAsync(async () =>
            {
                var text = await MediaAsync();
                int at = text.IndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
                return at >= 0 && Playlists.Numbers(text[at..]).Count >= 4;
            }, TimeSpan.FromSeconds(60), "four slate segments after the drop", () => Log(playlist));
        await player.WaitForCurrentTimeAsync(atDrop + 12, TimeSpan.FromSeconds(60), () => Log($"{playlist}\n{player.DescribeAsync().GetAwaiter().GetResult()}"));
        Assert.True(await Playlists.IsReconnectingAsync(server, channel.Id), Log("the slate played after the gap ended"));
        Assert.DoesNotContain("#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);

        // The encoder is back: the live media follows the slate behind a second discontinuity.
        await using var second = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 5);
        await WaitFor.ConditionAsync(async () =>
            {
                var text = await MediaAsync();
                int at = text.LastIndexOf("#EXT-X-DISCONTINUITY\n", StringComparison.Ordinal);
                return Playlists.Discontinuities(text) + Playlists.DiscontinuitySequence(text) >= 2 && at >= 0 && Playlists.Numbers(text[at..]).Count >= 2;
            }, TimeSpan.FromSeconds(60), "two segments of the new publish after the slate", () => Log($"{playlist}\n{second.Log.Tail(10)}"));
        var numbers = Playlists.Numbers(playlist);
        Assert.True(numbers.Zip(numbers.Skip(1)).All(p => p.Second == p.First + 1), Log($"numbers not contiguous:\n{playlist}"));
        var atJoin = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(atJoin + 4, TimeSpan.FromSeconds(60), () => Log(playlist));
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, Log($"hls.js fatal errors: {string.Join("; ", fatal)}\n{await player.DescribeAsync()}"));
        second.Stop();
    }
}
