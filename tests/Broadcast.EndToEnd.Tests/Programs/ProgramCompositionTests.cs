using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.Soak;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Programs;

/// <summary>
/// A program end to end on the shared server (its canvas 640×360, <c>Program:*</c> in the fixture): two channels published
/// by ffmpeg, a red one with a 440 Hz tone and a blue one with 1 kHz, composed into a third channel through
/// <c>/api/channels/{id}/program</c>. The program starts with the red channel alone, and the blue one and a logo join on
/// air. hls.js plays the program while the layout changes five times; after each change the
/// program's own segments, fetched from the origin and decoded by ffmpeg, show the expected colours at known places;
/// muting the red input removes its tone from the program's decoded audio; when the blue channel's encoder stops, its tiles
/// become placeholder cards and the program carries on, and it reappears when it publishes again. The program's playlist stays one broadcast
/// with a contiguous media sequence and no discontinuity, and the player never stalls nor changes resolution.
/// </summary>
[Collection(RealTimeServerCollection.Name)]
public sealed partial class ProgramCompositionTests(ServerFixture fixture, ITestOutputHelper output)
{
    private const int CanvasWidth = 640, CanvasHeight = 360, RedHz = 440, BlueHz = 1000;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);

    private readonly ProgramOutput _output = new(fixture, CanvasWidth, CanvasHeight, RedHz, BlueHz);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task A_program_composes_two_live_channels_changes_layout_five_times_on_air_mutes_an_input_and_outlives_one_dropping()
    {
        var (red, blue, program) = await ChannelsAsync("program");
        await using var redPublisher = LavfiPublisher.StartSolid(Server.RtmpUrl(red.StreamKey), "red", RedHz);
        await using var bluePublisher = LavfiPublisher.StartSolid(Server.RtmpUrl(blue.StreamKey), "blue", BlueHz);
        foreach (var channel in new[] { red, blue })
        {
            await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Bound, $"{channel.Name} on air",
                () => fixture.WithLog(redPublisher.Log.Tail(10) + bluePublisher.Log.Tail(10)));
        }

        // Input b by slug, a by id: both resolve; a green PNG logo as the third, drawn as an overlay in one layout. The
        // program starts with a alone; b and the logo join in the first step, on air.
        string logo = Convert.ToBase64String(await GreenPngAsync());
        object[] inputs = [new { id = "a", channel = red.Id }, new { id = "b", channel = blue.Slug }, new { id = "logo", image = new { data = logo, width = 64, height = 64 } }];
        var started = await _output.PutAsync(program.Id, new { inputs = new[] { inputs[0] }, layout = new { kind = "single", inputs = new[] { new { id = "a" } } } });
        fixture.Check(started["running"]!.GetValue<bool>() && started["engine"]!["width"]!.GetValue<int>() == CanvasWidth,
            $"the program did not start on a {CanvasWidth}-wide canvas: {started}");

        // An image ffmpeg cannot decode is refused naming its field, and the running program is left as it was.
        object[] badInputs = [inputs[0], inputs[1], new { id = "logo", image = new { data = Convert.ToBase64String("not a picture"u8.ToArray()), width = 64, height = 64 } }];
        using (var bad = await Server.Http.PutAsJsonAsync($"api/channels/{program.Id}/program", new { inputs = badInputs, layout = new { kind = "single", inputs = new[] { new { id = "b" } } } }))
        {
            var problem = JsonNode.Parse(await bad.Content.ReadAsStringAsync())!;
            fixture.Check(bad.StatusCode == HttpStatusCode.BadRequest && problem["errors"]?["inputs[2].image.data"] is not null, $"a bad image: {(int)bad.StatusCode} {problem}");
        }

        var master = Server.Absolute($"/live/{program.Slug}/master.m3u8");
        string masterText = "";
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await Server.Viewer.GetAsync(master);
            masterText = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
            return masterText.Contains("source/index.m3u8", StringComparison.Ordinal) && AudioRendition(masterText) is not null;
        }, Bound, "the program's master playlist with its source and audio renditions", () => fixture.WithLog(""));
        string audio = AudioRendition(masterText)!;
        // A viewer arrives at a running program: hls.js starts three segments behind the live edge only once three are
        // listed; with one, it plays at the edge itself and stalls whenever a segment comes a little late on a busy machine.
        await WaitFor.ConditionAsync(async () =>
        {
            using var r = await Server.Viewer.GetAsync(Server.Absolute($"/live/{program.Slug}/source/index.m3u8"));
            return r.IsSuccessStatusCode && (await r.Content.ReadAsStringAsync()).Split("#EXTINF:").Length > 3;
        }, Bound, "three segments of the program listed", () => fixture.WithLog(""));

        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(master.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
        using var follow = new CancellationTokenSource();
        var followed = FollowAsync(program.Slug, follow.Token);
        try
        {
            // Single a, as started.
            await _output.WaitForPictureAsync(program.Slug, "single a", [(320, 180, Hue.Red)]);
            var sizes = new List<(int, int)> { (await player.GetVideoWidthAsync(), await player.GetVideoHeightAsync()) };

            // The first step changes the inputs (b and the logo join): the broadcast goes on, as for a change of layout.
            (string Name, object Layout, Dictionary<string, object>? Audio, (int X, int Y, Hue Hue)[] Expected)[] steps =
            [
                ("side-by-side", new { kind = "side-by-side", inputs = new[] { new { id = "a" }, new { id = "b" } } }, null,
                    [(160, 180, Hue.Red), (480, 180, Hue.Blue), (160, 40, Hue.Black)]),
                ("pip with the logo", new
                    {
                        kind = "pip", inputs = new[] { new { id = "a" }, new { id = "b" } }, insetCorner = "bottom-right",
                        overlays = new[] { new { id = "logo", rect = new { x = 20, y = 20, width = 64, height = 64 } } },
                    }, null,
                    [(100, 100, Hue.Red), (512, 274, Hue.Blue), (512, 150, Hue.Red), (52, 52, Hue.Green)]),
                ("single b, a muted", new { kind = "single", inputs = new[] { new { id = "b" } } }, new() { ["a"] = new { muted = true } },
                    [(160, 90, Hue.Blue), (480, 270, Hue.Blue)]),
                ("grid", new { kind = "grid", inputs = new[] { new { id = "a" }, new { id = "b" }, new { id = "b" }, new { id = "a" } } }, null,
                    [(160, 90, Hue.Red), (480, 90, Hue.Blue), (160, 270, Hue.Blue), (480, 270, Hue.Red)]),
            ];
            bool bothHeard = false;
            foreach (var (name, layout, mix, expected) in steps)
            {
                var clock = Stopwatch.StartNew();
                var state = await _output.PutAsync(program.Id, new { inputs, layout, audio = mix, transition = "cut" });
                fixture.Check(state["layout"]!["kind"]!.GetValue<string>() == ((JsonObject)JsonSerializerNode(layout))["kind"]!.GetValue<string>()
                    && state["running"]!.GetValue<bool>(), $"{name}: the answer is not the state that took effect: {state}");
                await _output.WaitForPictureAsync(program.Slug, name, expected);
                output.WriteLine($"{name}: first segment showing it decoded {clock.ElapsedMilliseconds} ms after the PUT");
                sizes.Add((await player.GetVideoWidthAsync(), await player.GetVideoHeightAsync()));
                if (name == "side-by-side")
                {
                    var (redLevel, blueLevel) = await _output.WaitForTonesAsync(program.Slug, audio, (r, b) => r > 0.03 && b > 0.03, "both tones in the mix");
                    output.WriteLine($"both unmuted: 440 Hz {redLevel:0.000}, 1 kHz {blueLevel:0.000}");
                    bothHeard = true;
                }
                if (mix is not null)
                {
                    var (redLevel, blueLevel) = await _output.WaitForTonesAsync(program.Slug, audio, (r, b) => r < 0.005 && b > 0.03, "the red input's tone gone after its mute");
                    output.WriteLine($"a muted: 440 Hz {redLevel:0.0000}, 1 kHz {blueLevel:0.000}");
                }
            }
            fixture.Check(bothHeard, "the mix was never checked with both inputs heard");

            // The blue channel's encoder goes away: its tiles become placeholders and the program carries on; it comes back.
            await bluePublisher.DisposeAsync();
            await _output.WaitForPictureAsync(program.Slug, "grid, b away", [(160, 90, Hue.Red), (480, 90, Hue.Placeholder), (160, 270, Hue.Placeholder)]);
            await _output.WaitForNameCardAsync(program.Slug, "b's placeholder showing the blue channel's name", CanvasWidth / 2, 0, CanvasWidth / 2, CanvasHeight / 2);
            var away = JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{program.Id}/program"))!;
            fixture.Check(away["inputs"]![1]!["present"]!.GetValue<bool>() == false && away["inputs"]![0]!["present"]!.GetValue<bool>()
                && away["inputs"]![1]!["label"]!.GetValue<string>() == blue.Name, $"input b is not reported away, under its channel's name: {away}");
            await using var blueAgain = LavfiPublisher.StartSolid(Server.RtmpUrl(blue.StreamKey), "blue", BlueHz);
            await _output.WaitForPictureAsync(program.Slug, "grid, b back", [(160, 90, Hue.Red), (480, 90, Hue.Blue), (160, 270, Hue.Blue)]);
            sizes.Add((await player.GetVideoWidthAsync(), await player.GetVideoHeightAsync()));

            var time = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(time + 2, TimeSpan.FromSeconds(30), () => fixture.WithLog(""));
            var stalls = await player.GetStallsAsync();
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(stalls.Count == 0 && fatal.Count == 0,
                $"hls.js stalled or failed: {string.Join("; ", stalls)} {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            fixture.Check(sizes.All(s => s == (CanvasWidth, CanvasHeight)), $"the program's resolution changed on air: {string.Join(", ", sizes)}");
        }
        finally
        {
            await follow.CancelAsync();
        }
        var tracker = await followed;
        fixture.Check(tracker.Gaps == 0 && tracker.Discontinuities == 0 && tracker.NewBroadcasts == 0 && _initUris.Count == 1,
            $"the program's playlist was not one contiguous broadcast: {tracker.Gaps} gaps ({string.Join("; ", tracker.GapDescriptions)}), " +
            $"{tracker.Discontinuities} discontinuities, {tracker.NewBroadcasts} new broadcasts, init segments {string.Join(", ", _initUris)}");

        var final = JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{program.Id}/program"))!;
        fixture.Check(final["engine"]!["framesComposed"]!.GetValue<long>() > 0 && final["updatedBy"]!.GetValue<string>() == "admin",
            $"GET program: {final}");
        fixture.Check(Server.Log.Tail(5000).Contains($"Program of channel {program.Id} set by admin", StringComparison.Ordinal), "the changes are not in the audit log");

        using (var stop = await Server.Http.DeleteAsync($"api/channels/{program.Id}/program"))
            fixture.Check(stop.StatusCode == HttpStatusCode.NoContent, $"DELETE program -> {(int)stop.StatusCode}");
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(program.Id)).Live != true, Bound, "the program channel off air after DELETE",
            () => fixture.WithLog(""));
    }

    [Fact]
    public async Task The_control_room_starts_a_program_from_two_channels_switches_layouts_mutes_and_stops_with_clicks()
    {
        var (red, blue, program) = await ChannelsAsync("room");
        await using var redPublisher = LavfiPublisher.StartSolid(Server.RtmpUrl(red.StreamKey), "red", RedHz);
        await using var bluePublisher = LavfiPublisher.StartSolid(Server.RtmpUrl(blue.StreamKey), "blue", BlueHz);
        await using var session = await Dashboard.DashboardSession.SignInAsync(await fixture.BrowserAsync(), Server);
        session.Page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        var page = session.Page;
        string api = $"api/channels/{program.Id}/program";
        async Task<JsonNode?> ProgramAsync()
        {
            using var r = await Server.Http.GetAsync(api);
            return r.IsSuccessStatusCode ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null;
        }
        Task WaitForStateAsync(Func<JsonNode, bool> condition, string what) => WaitFor.ConditionAsync(
            async () => await ProgramAsync() is { } state && condition(state), Bound, what, () => session.Describe(what));

        // From the channel page's Input card to the control room; add the two channels as inputs.
        await session.GotoAsync($"/dashboard/channels/{program.Id}");
        await page.ClickAsync("#control-room-link");
        await page.WaitForSelectorAsync("#input-empty:visible");
        await page.SelectOptionAsync("#input-channel", red.Id);
        await page.ClickAsync("#input-add");
        await WaitForStateAsync(s => s["running"]!.GetValue<bool>() && s["inputs"]!.AsArray().Count == 1, "a program of the red channel");
        await page.SelectOptionAsync("#input-channel", blue.Id);
        await page.ClickAsync("#input-add");
        await WaitForStateAsync(s => s["inputs"]!.AsArray().Count == 2, "the blue channel added");
        var state = (await ProgramAsync())!;
        string redId = state["inputs"]![0]!["id"]!.GetValue<string>(), blueId = state["inputs"]![1]!["id"]!.GetValue<string>();

        // One click per layout; the picture follows.
        await page.ClickAsync("#layout-buttons button[data-layout=side-by-side]");
        await WaitForStateAsync(s => s["layout"]!["kind"]!.GetValue<string>() == "side-by-side", "side by side after its click");
        await _output.WaitForPictureAsync(program.Slug, "side by side from the control room", [(160, 180, Hue.Red), (480, 180, Hue.Blue)]);
        await page.SelectOptionAsync("#program-transition", "fade");
        await page.ClickAsync("#layout-buttons button[data-layout=pip]");
        await WaitForStateAsync(s => s["layout"]!["kind"]!.GetValue<string>() == "pip", "picture in picture after its click");
        await _output.WaitForPictureAsync(program.Slug, "picture in picture from the control room", [(100, 100, Hue.Red), (512, 274, Hue.Blue)]);
        await page.ClickAsync($"#layout-buttons button[data-layout='single:{blueId}']");
        await _output.WaitForPictureAsync(program.Slug, "single blue from the control room", [(160, 90, Hue.Blue), (480, 270, Hue.Blue)]);

        // The red input's mute box: the state says so and the program's audio loses its tone.
        await page.ClickAsync($"tr[data-input='{redId}'] input.muted");
        await WaitForStateAsync(s => s["audio"]?[redId]?["muted"]?.GetValue<bool>() == true, "red muted after its click");
        var master = (await Server.Viewer.GetStringAsync(Server.Absolute($"/live/{program.Slug}/master.m3u8")));
        await _output.WaitForTonesAsync(program.Slug, AudioRendition(master)!, (r, b) => r < 0.005 && b > 0.03, "the red tone gone after the mute click");

        // The preview plays the program; the page shows what the engine reports.
        await WaitFor.ConditionAsync(async () => await page.EvaluateAsync<double>("() => window.__preview.currentTime") > 1, Bound,
            "the control room's program preview playing", () => session.Describe("preview: " + page.EvaluateAsync<string>("() => window.__preview.describe()").GetAwaiter().GetResult()));
        // Each input's preview: its tile of the sheet the engine draws from its own decoders, renewed while the program runs.
        string Previews() => session.Describe("previews: " + page.EvaluateAsync<string>("() => JSON.stringify({ shown: window.__previews.shown, drawn: window.__previews.drawn, inputs: window.__previews.inputs })").GetAwaiter().GetResult());
        await WaitFor.ConditionAsync(async () => await page.EvaluateAsync<int>("() => window.__previews.shown") >= 1
            && (await page.EvaluateAsync<string[]>("() => window.__previews.inputs")).SequenceEqual([redId, blueId]), Bound, "the input previews shown", Previews);
        string PixelOf(string id) => $"(() => {{ const c = document.querySelector(\"canvas.input-preview[data-input='{id}']\"); if (!c || c.hidden) return null; const d = c.getContext('2d').getImageData(80, 45, 1, 1).data; return [d[0], d[1], d[2]]; }})()";
        await WaitFor.ConditionAsync(async () => await page.EvaluateAsync<int[]?>(PixelOf(redId)) is [> 150, < 100, < 100]
            && await page.EvaluateAsync<int[]?>(PixelOf(blueId)) is [< 100, < 100, > 150], Bound, "the red input's preview red and the blue one's blue", Previews);
        string firstDrawn = await page.EvaluateAsync<string>("() => window.__previews.drawn");
        await WaitFor.ConditionAsync(async () => await page.EvaluateAsync<string>("() => window.__previews.drawn") != firstDrawn, Bound, "a newer preview sheet", Previews);
        // Free layout: red fills, blue is an inset at the bottom right; dragging blue's tile to the top left puts it there on air.
        await page.ClickAsync("#layout-buttons button[data-layout=free]");
        await WaitForStateAsync(s => s["layout"]!["kind"]!.GetValue<string>() == "free", "the free layout after its click");
        var canvasWidth = (await ProgramAsync())!["engine"]!["width"]!.GetValue<int>();
        var canvasHeight = (await ProgramAsync())!["engine"]!["height"]!.GetValue<int>();
        // The page draws the free stage from the PATCH's answer, a moment after the API holds it, and redraws it on each
        // refresh: measure once both the stage and blue's tile are on screen.
        Microsoft.Playwright.LocatorBoundingBoxResult? stage = null, inset = null;
        await WaitFor.ConditionAsync(async () =>
        {
            stage = await page.Locator("#free-stage").BoundingBoxAsync();
            inset = await page.Locator($"#free-stage .free-tile[data-tile='{blueId}']").BoundingBoxAsync();
            return stage is not null && inset is not null;
        }, Bound, "the free stage and blue's tile on screen", () => session.Describe("free stage"));
        await page.Mouse.MoveAsync(inset!.X + (inset.Width / 2), inset.Y + (inset.Height / 2));
        await page.Mouse.DownAsync();
        await page.Mouse.MoveAsync(stage!.X + (inset.Width / 2) + 4, stage.Y + (inset.Height / 2) + 4, new() { Steps = 8 });
        await page.Mouse.UpAsync();
        await WaitForStateAsync(s => s["layout"]!["inputs"]!.AsArray().FirstOrDefault(t => t!["id"]!.GetValue<string>() == blueId)?["rect"] is { } r
            && r["x"]!.GetValue<int>() < canvasWidth / 10 && r["y"]!.GetValue<int>() < canvasHeight / 10, "blue's tile dragged to the top left");
        await _output.WaitForPictureAsync(program.Slug, "blue placed top left by dragging",
            [(canvasWidth * 15 / 100, canvasHeight * 15 / 100, Hue.Blue), (canvasWidth * 3 / 4, canvasHeight * 3 / 4, Hue.Red)]);

        // The meters: each input's own level (red's tone shows though it is muted) and the program bus (blue's tone).
        string Meters() => session.Describe("meters: " + page.EvaluateAsync<string>("() => JSON.stringify(window.__meters.levels)").GetAwaiter().GetResult());
        await WaitFor.ConditionAsync(async () => await page.EvaluateAsync<bool>(
            $"() => {{ const l = window.__meters.levels; return !!l && l.inputs['{redId}'] > -40 && l.inputs['{blueId}'] > -40 && l.program > -40; }}"), Bound, "the meters moving", Meters);
        fixture.Check(await page.Locator($"tr[data-input='{redId}'] .meter").GetAttributeAsync("aria-valuenow") is { } now && double.Parse(now, System.Globalization.CultureInfo.InvariantCulture) > -40,
            Meters());
        fixture.Check(await page.TextContentAsync("#program-badge") == "On air", session.Describe("the badge does not say On air"));
        fixture.Check(await page.Locator($"tr[data-input='{blueId}'] .state").TextContentAsync() == "present", session.Describe("blue is not shown present"));
        await session.ScreenshotAsync("control-room.png");

        await page.ClickAsync("#program-stop");
        await WaitFor.ConditionAsync(async () => await ProgramAsync() is null, Bound, "the program gone after Stop", () => session.Describe("stop"));
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(program.Id)).Live != true, Bound, "the program channel off air after Stop",
            () => fixture.WithLog(""));
    }

    private readonly HashSet<string> _initUris = [];

    /// <summary>A red and a blue input channel and the program channel (the names tell the server log's lines apart).</summary>
    private async Task<(ChannelInfo Red, ChannelInfo Blue, ChannelInfo Program)> ChannelsAsync(string prefix) => (
        await Server.Api.CreateChannelAsync($"{prefix} red {Guid.NewGuid():N}"),
        await Server.Api.CreateChannelAsync($"{prefix} blue {Guid.NewGuid():N}"),
        await Server.Api.CreateChannelAsync($"{prefix} program {Guid.NewGuid():N}"));

    private static JsonNode JsonSerializerNode(object value) => System.Text.Json.JsonSerializer.SerializeToNode(value)!;

    /// <summary>Polls the program's video playlist as a player would, for the whole test, counting gaps and discontinuities.</summary>
    private async Task<SequenceTracker> FollowAsync(string slug, CancellationToken cancellationToken)
    {
        var tracker = new SequenceTracker();
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var text = await Server.Viewer.GetStringAsync(Server.Absolute($"/live/{slug}/source/index.m3u8"), cancellationToken);
                if (MediaPlaylistView.TryParse(text, out var view, out _))
                {
                    tracker.Observe(view);
                    if (view.InitUri is { } init) _initUris.Add(init);
                }
                await Task.Delay(500, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            catch (HttpRequestException)
            {
                // A refused poll: the next one reads the playlist again, as a player's would.
                await Task.Delay(500, CancellationToken.None);
            }
        }
        return tracker;
    }

    /// <summary>A 64×64 PNG of ffmpeg's "lime" (pure green), made by ffmpeg.</summary>
    private static async Task<byte[]> GreenPngAsync() =>
        await ProgramOutput.DecodeAsync(["-f", "lavfi", "-i", "color=c=lime:size=64x64", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"]);

    private static string? AudioRendition(string master) => ProgramOutput.AudioRendition(master);
}
