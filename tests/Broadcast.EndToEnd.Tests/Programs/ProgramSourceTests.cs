using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.Soak;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Programs;

/// <summary>
/// Files of the media library as program inputs, pulled by the node that runs the program (no channel in between), on the
/// shared server: a looped green film, added in the control room, plays on past its own end; a red clip set to play once is on air, then at its end
/// becomes its placeholder card, and the program says why (its pull "stopped": the source played to its end); a file that
/// is not there says "failed" with a reason while the program carries on; a file of sound alone is a music bed under the film.
/// The program's own segments, decoded, show each.
/// </summary>
[Collection(RealTimeServerCollection.Name)]
public sealed class ProgramSourceTests(ServerFixture fixture)
{
    private const int CanvasWidth = 640, CanvasHeight = 360;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(45);

    private readonly ProgramOutput _output = new(fixture, CanvasWidth, CanvasHeight);

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Library_files_are_program_inputs_looped_or_once_and_a_missing_one_says_why()
    {
        // Pull:MediaRoot defaults to ./data/media-library under the server's working directory.
        string library = Directory.CreateDirectory(Path.Combine(Server.DataDirectory, "data", "media-library")).FullName;
        string tag = Guid.NewGuid().ToString("N")[..8];
        string film = $"film-{tag}.mp4", clip = $"clip-{tag}.mp4";
        await MakeClipAsync(Path.Combine(library, film), "green", seconds: 3);
        // The clip is on air from the program's cut to the new source (once its decoder has a picture, about 2 s into the
        // pull) to the pull's end: at 4 s that left a window of about 2 s, one segment's length, which a loaded machine
        // could miss. At 12 s it is on air for several segments.
        await MakeClipAsync(Path.Combine(library, clip), "red", seconds: 12);
        var program = await Server.Api.CreateChannelAsync($"program sources {tag}");

        // In the control room: the film typed under "Add source", Loop ticked, starts the program.
        await using var session = await Dashboard.DashboardSession.SignInAsync(await fixture.BrowserAsync(), Server);
        var page = session.Page;
        await session.GotoAsync($"/dashboard/channels/{program.Id}");
        await page.ClickAsync("#control-room-link");
        await page.WaitForSelectorAsync("#input-empty:visible");
        await page.FillAsync("#source-url", $"file:{film}");
        await page.CheckAsync("#source-loop");
        await page.ClickAsync("#source-add");
        await WaitFor.ConditionAsync(async () => await StateAsync(program.Id) is { } state && state["running"]!.GetValue<bool>()
            && state["inputs"]![0]!["source"]?["loop"]?.GetValue<bool>() == true && state["inputs"]![0]!["label"]!.GetValue<string>() == film,
            Bound, "a program of the looped film, named after its file, from the control room", () => session.Describe("add source"));
        string id = (await StateAsync(program.Id))!["inputs"]![0]!["id"]!.GetValue<string>();
        var single = new { kind = "single", inputs = new[] { new { id, fit = "fill" } } };

        // Looped: on air, and still on air (the same pull, live) after several times the film's length.
        await _output.WaitForPictureAsync(program.Slug, "the looped film", [(320, 180, Hue.Green)]);
        long reached = await LastSegmentAsync(program.Slug);
        await WaitFor.ConditionAsync(async () => await LastSegmentAsync(program.Slug) >= reached + 5, TimeSpan.FromSeconds(60),
            "five more program segments (10 s of a 3 s film)", () => fixture.WithLog(""));
        await _output.WaitForPictureAsync(program.Slug, "the looped film past its end", [(320, 180, Hue.Green)]);
        var looping = await InputAsync(program.Id);
        fixture.Check(looping["present"]!.GetValue<bool>() && looping["source"]!["state"]!.GetValue<string>() == "live",
            $"the looped film is not live and present after its end: {looping}");

        // Once: the clip plays (a new source for the same input, on air in the same broadcast), then at its end the input
        // is away and the program says why.
        await _output.PutAsync(program.Id, new { inputs = new[] { new { id, source = new { url = $"file:{clip}", loop = false } } }, layout = single });
        await _output.WaitForPictureAsync(program.Slug, "the clip played once", [(320, 180, Hue.Red)]);
        await WaitFor.ConditionAsync(async () => (await InputAsync(program.Id))["source"]?["state"]?.GetValue<string>() == "stopped", Bound,
            "the clip's pull stopped at its end", () => fixture.WithLog(""));
        var ended = await InputAsync(program.Id);
        fixture.Check(!ended["present"]!.GetValue<bool>() && ended["source"]!["reason"]!.GetValue<string>().Contains("end", StringComparison.Ordinal),
            $"the clip's end is not reported: {ended}");
        await _output.WaitForPictureAsync(program.Slug, "the clip's placeholder after its end", [(320, 100, Hue.Placeholder)]);
        // The control room's row says so too.
        await page.WaitForSelectorAsync($"tr[data-input='{id}'] .source-state:has-text('played to its end')", new() { Timeout = (float)Bound.TotalMilliseconds });

        // A file that is not there: refused by nobody up front (a library can be filled later), it fails with a reason.
        await _output.PutAsync(program.Id, new { inputs = new[] { new { id, source = new { url = $"file:missing-{tag}.mp4", loop = true } } }, layout = single });
        await WaitFor.ConditionAsync(async () => (await InputAsync(program.Id))["source"]?["state"]?.GetValue<string>() == "failed", Bound,
            "the missing file's pull failed", () => fixture.WithLog(""));
        var missing = await InputAsync(program.Id);
        fixture.Check(!missing["present"]!.GetValue<bool>() && missing["source"]!["reason"]!.GetValue<string>().Length > 0,
            $"the missing file gives no reason: {missing}");
        var status = JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{program.Id}/program"))!;
        fixture.Check(status["running"]!.GetValue<bool>(), $"the program stopped over a missing input: {status}");

        // A file of sound alone is a music bed: mixed under the film it is not placed in, heard in the program's audio.
        string bed = $"bed-{tag}.mp3";
        var madeBed = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", "sine=frequency=1000:sample_rate=44100:d=3", "-c:a", "libmp3lame", Path.Combine(library, bed)], TimeSpan.FromSeconds(60));
        Assert.True(madeBed.ExitCode == 0, $"ffmpeg could not write the bed: {madeBed}");
        await _output.PutAsync(program.Id, new
        {
            inputs = new object[] { new { id, source = new { url = $"file:{film}", loop = true } }, new { id = "bed", source = new { url = $"file:{bed}", loop = true } } },
            layout = single,
        });
        await WaitFor.ConditionAsync(async () => JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{program.Id}/program"))!["inputs"]![1]!
            is { } b && b["present"]!.GetValue<bool>() && b["source"]?["state"]?.GetValue<string>() == "live", Bound, "the music bed present and live",
            () => fixture.WithLog(""));
        string master = await Server.Viewer.GetStringAsync(Server.Absolute($"/live/{program.Slug}/master.m3u8"));
        await _output.WaitForTonesAsync(program.Slug, ProgramOutput.AudioRendition(master)!, (_, bedTone) => bedTone > 0.03, "the music bed's 1 kHz in the program");
        await _output.WaitForPictureAsync(program.Slug, "the film under the music bed", [(320, 180, Hue.Green)]);

        using (var stop = await Server.Http.DeleteAsync($"api/channels/{program.Id}/program"))
            fixture.Check(stop.StatusCode == HttpStatusCode.NoContent, $"DELETE program -> {(int)stop.StatusCode}");
        File.Delete(Path.Combine(library, film));
        File.Delete(Path.Combine(library, clip));
        File.Delete(Path.Combine(library, bed));
    }

    private static async Task MakeClipAsync(string path, string colour, int seconds)
    {
        var made = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", $"color=c={colour}:s=320x180:r=30:d={seconds}", "-f", "lavfi", "-i", $"sine=frequency=660:sample_rate=48000:d={seconds}",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-shortest", path],
            TimeSpan.FromSeconds(60));
        Assert.True(made.ExitCode == 0, $"ffmpeg could not write {path}: {made}");
    }

    private async Task<JsonNode> InputAsync(string channelId) =>
        JsonNode.Parse(await Server.Http.GetStringAsync($"api/channels/{channelId}/program"))!["inputs"]![0]!;

    private async Task<JsonNode?> StateAsync(string channelId)
    {
        using var response = await Server.Http.GetAsync($"api/channels/{channelId}/program");
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
    }

    /// <summary>The number of the newest segment of the program's source rendition (media sequence plus entries), 0 before any.</summary>
    private async Task<long> LastSegmentAsync(string slug)
    {
        using var response = await Server.Viewer.GetAsync(Server.Absolute($"/live/{slug}/source/index.m3u8"));
        if (!response.IsSuccessStatusCode) return 0;
        return MediaPlaylistView.TryParse(await response.Content.ReadAsStringAsync(), out var view, out _) ? view.MediaSequence + view.Entries.Count : 0;
    }
}
