using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Dashboard;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Transcoding;

/// <summary>
/// The encoder's own ladder: an Enhanced RTMP v2 multitrack publish (1080p, 720p and 360p H.264 with aligned keyframes,
/// sent by the test-only sender since no encoder here speaks multitrack) is packaged as three rungs with no transcoder
/// running; every variant's manifest attributes are what ffprobe finds in its segments; hls.js, dash.js and Shaka play it
/// and move to the 360p rung; the dashboard lists the ladder. An HEVC top rung beside H.264 ones on a low-latency channel
/// (LL-HLS parts on every rung), sent as OBS's muxer sends a ladder (track 0 a plain enhanced tag, each other track a
/// one-track multitrack message). A ladder whose keyframes are not aligned is refused with its reason in the log and on
/// the channel's status.
/// </summary>
public sealed partial class EncoderLadderTests
{
    private static readonly string[] Video = ["source", "track1", "track2"];
    private static readonly Dictionary<string, (int Width, int Height)> Sizes = new()
    {
        ["source"] = (1920, 1080),
        ["track1"] = (1280, 720),
        ["track2"] = (640, 360),
    };

    [Fact]
    public async Task A_multitrack_publish_is_the_ladder_players_switch_on_with_no_transcoder()
    {
        // The transcoder is on (its default ladder): the encoder's ladder must keep it from starting. Loopback destinations are
        // allowed for the relay below.
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            SegmentSeconds = 2, ExtraArguments = ["--Outbound:AllowedNetworks=127.0.0.0/8"],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync("encoder ladder " + Guid.NewGuid().ToString("N"));
        // A multitrack restream destination: another channel of this same server, which must receive the whole ladder.
        var relay = await server.Api.CreateChannelAsync("encoder ladder relay " + Guid.NewGuid().ToString("N"));
        string destinationId = await AddMultitrackDestinationAsync(server, channel.Id, relay.StreamKey);
        using var dir = new TempDirectory();
        // 20 s encoded, sent ten times: the stream stays live until the third player has switched, however long a loaded machine
        // takes. Sent once, 60 s ran out before Shaka's turn on a clean-clone run: with no new segments, Shaka's clock-driven
        // live edge ran past everything listed, it evicted the whole video index and stalled at 1280 wide.
        await using var sender = await TestOnlyMultitrackRtmpSender.StartAsync(server.RtmpUrl(channel.StreamKey),
            new MultitrackRenditions { Duration = TimeSpan.FromSeconds(20), Loops = 10 }, CancellationToken.None);
        var master = server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var mpd = server.Absolute($"/live/{channel.Slug}/manifest.mpd");

        // 1. The master and the MPD offer the encoder's three rungs, each described as its own segments are.
        string masterText = await LadderPlaylists.WaitForMasterAsync(server, master, Video, Log);
        var lines = masterText.Split('\n');
        var representations = await LadderPlaylists.WaitForRepresentationsAsync(server, mpd, Video, Log);
        foreach (var v in Video)
        {
            int at = Array.FindIndex(lines, l => l == $"{v}/index.m3u8");
            Assert.True(at > 0, Log(masterText));
            var inf = StreamInf().Match(lines[at - 1]);
            Assert.True(inf.Success, Log(lines[at - 1]));
            var probe = JsonNode.Parse((await LadderPlaylists.ProbeFirstSegmentAsync(server, channel.Slug, v, dir)).GetRawText())!.AsObject();
            string context = Log($"{v}: {lines[at - 1]}; MPD {representations[v]}; ffprobe {probe}");
            var (width, height) = Sizes[v];
            Assert.True(probe["width"]!.GetValue<int>() == width && probe["height"]!.GetValue<int>() == height, context);
            Assert.Equal($"{width}x{height}", inf.Groups["res"].Value);
            Assert.Equal("30.000", inf.Groups["fps"].Value);
            Assert.Equal("30/1", probe["avg_frame_rate"]!.GetValue<string>());
            Assert.StartsWith("avc1.64", inf.Groups["codecs"].Value, StringComparison.Ordinal);
            Assert.Equal(inf.Groups["codecs"].Value.Split(',')[0], (string?)representations[v].Attribute("codecs"));
            Assert.Equal(width, (int)representations[v].Attribute("width")!);
            Assert.Equal("30", (string?)representations[v].Attribute("frameRate"));
        }

        // 2. No transcoder runs for it: the encoder made the ladder.
        Assert.Contains("the encoder sends its own ladder of 3 video tracks; no transcoding", server.LogTail(400), StringComparison.Ordinal);
        var live = JsonNode.Parse(await server.Http.GetStringAsync($"api/channels/{channel.Id}"))!["live"]!;
        Assert.True(live["encoderBackend"] is null, Log(live.ToJsonString()));
        var ladder = live["encoderLadder"]!.AsArray();
        Assert.Equal([1, 2], ladder.Select(r => r!["trackId"]!.GetValue<int>()));
        Assert.Equal(1280, ladder[0]!["video"]!["width"]!.GetValue<int>());
        Assert.Equal(["source", "track1", "track2", "audio"], live["renditions"]!.AsArray().Select(r => r!.GetValue<string>()));

        // 2b. The multitrack restream carried every rung: the relay channel packages the encoder's ladder as it came, with no
        // transcoder either, and the destination's state counts the two rungs beside the default track.
        var relayMaster = server.Absolute($"/live/{relay.Slug}/master.m3u8");
        string relayText = await LadderPlaylists.WaitForMasterAsync(server, relayMaster, Video, Log);
        var relayVariants = relayText.Split('\n').Select(l => StreamInf().Match(l)).Where(m => m.Success)
            .Select(m => (m.Groups["codecs"].Value, m.Groups["res"].Value)).ToHashSet();
        foreach (var line in lines.Where(l => StreamInf().IsMatch(l)))
        {
            var m = StreamInf().Match(line);
            Assert.True(relayVariants.Contains((m.Groups["codecs"].Value, m.Groups["res"].Value)), Log($"relay master lacks {line}:\n{relayText}"));
        }
        var state = JsonNode.Parse(await server.Http.GetStringAsync($"api/channels/{channel.Id}/destinations/{destinationId}"))!["state"]!;
        Assert.True(state["state"]!.GetValue<string>() == "live" && state["videoTracks"]!.GetValue<int>() == 2, Log(state.ToJsonString()));
        var relayLive = JsonNode.Parse(await server.Http.GetStringAsync($"api/channels/{relay.Id}"))!["live"]!;
        Assert.True(relayLive["encoderBackend"] is null && relayLive["encoderLadder"]!.AsArray().Count == 2, Log(relayLive.ToJsonString()));

        // 3. Each player plays and moves to the 360p rung when told to (as a capped bandwidth would make it).
        await using var browser = await BrowserHost.StartAsync();
        foreach (var (kind, url) in new[] { (PlayerKind.Hls, master), (PlayerKind.Dash, mpd), (PlayerKind.Shaka, master) })
        {
            await using var player = await browser.OpenAsync(kind);
            await player.StartAsync(url.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log(kind.ToString()));
            var levels = await player.GetLevelsAsync();
            int low = levels.ToList().FindIndex(l => l.Height == 360);
            Assert.True(levels.Count == 3 && low >= 0, Log($"{kind} levels: {string.Join(", ", levels)}"));
            await player.SwitchToHeightAsync(low, 360, TimeSpan.FromSeconds(40), () => Log(""));
            double t = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(t + 2, TimeSpan.FromSeconds(20), () => Log(kind.ToString()));
            Assert.Empty(await player.GetFatalErrorsAsync());
        }

        // 4. The channel page lists the encoder's ladder.
        await using (var dashboard = await DashboardSession.SignInAsync(browser, server))
        {
            await dashboard.GotoAsync($"/dashboard/channels/{channel.Id}");
            var facts = dashboard.Page.Locator("#fact-ladder");
            await WaitFor.ConditionAsync(async () => (await facts.TextContentAsync() ?? "").Contains("track 2: 640×360 H.264", StringComparison.Ordinal),
                TimeSpan.FromSeconds(20), "the channel page to list the encoder's ladder", () => dashboard.Describe("ladder"));
            Assert.Contains("track 1: 1280×720 H.264", await facts.TextContentAsync(), StringComparison.Ordinal);
            Assert.True(await dashboard.Page.Locator("#fact-ladder-row").IsVisibleAsync());
        }
    }

    private static async Task<string> AddMultitrackDestinationAsync(ServerProcess server, string channelId, string streamKey)
    {
        using var response = await server.Http.PostAsJsonAsync($"api/channels/{channelId}/destinations",
            new { url = $"rtmp://127.0.0.1:{server.RtmpPort}/live", streamKey, enabled = true, multitrack = true });
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST destination -> {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task An_hevc_top_rung_beside_h264_rungs_is_packaged_as_the_encoder_sent_it()
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions { SegmentSeconds = 2 });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        // A low-latency channel: every rung of the encoder's ladder gets its LL-HLS parts.
        var channel = await server.Api.CreateChannelAsync("hevc ladder " + Guid.NewGuid().ToString("N"), lowLatency: true);
        using var dir = new TempDirectory();
        // As OBS's muxer sends a ladder: track 0 as a plain enhanced tag, every other track in a one-track multitrack message of
        // its own; and coded frames without a composition time (CodedFramesX).
        var options = new MultitrackRenditions
        {
            // 20 s encoded, sent five times: the stream stays live however long a loaded machine takes to probe and start the
            // player (30 s sent once ran out before hls.js had played 4 s on a clean-clone run).
            Duration = TimeSpan.FromSeconds(20),
            Loops = 5,
            Renditions = [new MultitrackRendition(1280, 720, 2000), new MultitrackRendition(640, 360, 800), new MultitrackRendition(426, 240, 400)],
            UseCodedFramesX = true,
        }.WithHevcTopRendition() with { Layout = MultitrackVideoLayout.OneTrack, DefaultTrackAsPlainTag = true };
        await using var sender = await TestOnlyMultitrackRtmpSender.StartAsync(server.RtmpUrl(channel.StreamKey), options, CancellationToken.None);
        var master = server.Absolute($"/live/{channel.Slug}/master.m3u8");

        string masterText = await LadderPlaylists.WaitForMasterAsync(server, master, Video, Log);
        var lines = masterText.Split('\n');
        foreach (var (v, codec, height) in new[] { ("source", "hevc", 720), ("track1", "h264", 360), ("track2", "h264", 240) })
        {
            var inf = StreamInf().Match(lines[Array.FindIndex(lines, l => l == $"{v}/index.m3u8") - 1]);
            var probe = JsonNode.Parse((await LadderPlaylists.ProbeFirstSegmentAsync(server, channel.Slug, v, dir)).GetRawText())!.AsObject();
            string context = Log($"{v}: {inf.Value}; ffprobe {probe}");
            Assert.True(probe["codec_name"]!.GetValue<string>() == codec && probe["height"]!.GetValue<int>() == height, context);
            Assert.StartsWith(codec == "hevc" ? "hvc1." : "avc1.", inf.Groups["codecs"].Value, StringComparison.Ordinal);
            Assert.EndsWith($"x{height}", inf.Groups["res"].Value, StringComparison.Ordinal);
            Assert.Equal("30.000", inf.Groups["fps"].Value);
        }
        Assert.Contains("the encoder sends its own ladder of 3 video tracks; no transcoding", server.LogTail(400), StringComparison.Ordinal);
        foreach (var v in Video)
        {
            string playlist = await server.Viewer.GetStringAsync(server.Absolute($"/live/{channel.Slug}/{v}/index.m3u8"));
            Assert.True(playlist.Contains("#EXT-X-PART:", StringComparison.Ordinal), Log($"{v} has no LL-HLS parts: {playlist}"));
        }

        // hls.js plays the ladder (on the rungs this browser decodes: Chromium without a GPU has no HEVC decoder).
        await using var browser = await BrowserHost.StartAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(master.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => Log("hls.js"));
        double t = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(t + 4, TimeSpan.FromSeconds(30), () => Log("hls.js"));
        Assert.Empty(await player.GetFatalErrorsAsync());
    }

    [Fact]
    public async Task A_ladder_whose_keyframes_are_not_aligned_is_refused_with_its_reason()
    {
        await using var server = await ServerProcess.StartAsync(new ServerOptions { SegmentSeconds = 2, ExtraArguments = ["--Transcode:Enabled=false"] });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log ---{Environment.NewLine}{server.LogTail(80)}";
        var channel = await server.Api.CreateChannelAsync("misaligned " + Guid.NewGuid().ToString("N"));
        var options = new MultitrackRenditions
        {
            Duration = TimeSpan.FromSeconds(6),
            Renditions = [new MultitrackRendition(640, 360, 800), new MultitrackRendition(426, 240, 400)],
        }.WithMisalignedKeyframes(1);
        await using var sender = await TestOnlyMultitrackRtmpSender.StartAsync(server.RtmpUrl(channel.StreamKey), options, CancellationToken.None);

        // Track 1's keyframes every 1.5 s against track 0's every 2 s: at 1.5 s they disagree and the publish is closed.
        const string Reason = "the keyframes of video tracks 0 and 1 are not aligned: at 1.5";
        await WaitFor.ConditionAsync(() => Task.FromResult(server.LogTail(200).Contains(Reason, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the server to refuse the misaligned ladder", () => Log(""));
        await Assert.ThrowsAnyAsync<Exception>(() => sender.Completion.WaitAsync(TimeSpan.FromSeconds(30)));
        // The channel's status says why while the broadcast waits for its encoder.
        var live = JsonNode.Parse(await server.Http.GetStringAsync($"api/channels/{channel.Id}"))!["live"]!;
        Assert.Contains(live["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains(Reason, StringComparison.Ordinal));
    }

    [GeneratedRegex("^#EXT-X-STREAM-INF:.*CODECS=\"(?<codecs>[^\"]+)\",RESOLUTION=(?<res>\\d+x\\d+),FRAME-RATE=(?<fps>[0-9.]+),")]
    private static partial Regex StreamInf();
}
