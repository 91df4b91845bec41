using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.Media;
using Broadcast.Processes;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests;

/// <summary>
/// The server's program runner over the compositor's real engine, in-process: an image-only program goes on air in the
/// channel's hub, the layout planner's own errors come back as 400s naming the request's field (the running program
/// untouched), a new layout and new inputs go on air in the same broadcast, and the server's shutdown ends the program.
/// </summary>
[Trait("Kind", "Component")]
public sealed class ProgramRunnerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_image_program_goes_on_air_refuses_layouts_the_planner_cannot_draw_and_ends_with_the_server()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false", "--Program:Width=320", "--Program:Height=180",
            "--Program:FramesPerSecond=10", "--Program:VideoKilobits=300");
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();
        using var create = server.Authorized(HttpMethod.Post, "/api/channels");
        create.Content = JsonContent.Create(new { name = "slate program" });
        using var created = await server.Http.SendAsync(create);
        var channel = JsonNode.Parse(await created.Content.ReadAsStringAsync())!;
        string id = channel["id"]!.GetValue<string>(), slug = channel["slug"]!.GetValue<string>();

        var png = await SupervisedProcess.RunAsync(new ProcessLaunch("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=orange:size=64x36",
            "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"]), Bound, CancellationToken.None);
        Assert.True(png.Succeeded, png.Stderr);
        object[] inputs = [new { id = "slate", image = new { data = Convert.ToBase64String(png.Stdout), width = 64, height = 36 } }];

        var (status, state) = await PutAsync(server, id, new { inputs, layout = new { kind = "single", inputs = new[] { new { id = "slate", fit = "fill" } } } });
        Assert.True(status == HttpStatusCode.OK, state.ToJsonString());
        Assert.True(state["running"]!.GetValue<bool>());
        Assert.Equal(320, state["engine"]!["width"]!.GetValue<int>());
        await WaitFor.ConditionAsync(() => registry.Find(slug)?.LastVideoTime is not null, Bound, "the program's first encoded frame in its hub");
        var stream = registry.Find(slug)!;

        // The planner's checks, named as the request names them; the program keeps running as it was.
        (status, state) = await PutAsync(server, id, new { inputs, layout = new { kind = "side-by-side", inputs = new[] { new { id = "slate" } } } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("a side-by-side layout takes exactly 2 inputs, not 1", state["errors"]!["layout.inputs"]![0]!.GetValue<string>(), StringComparison.Ordinal);
        (status, state) = await PutAsync(server, id, new { inputs, layout = new { kind = "free", inputs = new[] { new { id = "slate", rect = new { x = 300, y = 0, width = 64, height = 36 } } } } });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.NotNull(state["errors"]!["layout.inputs[0].rect"]);
        Assert.Same(stream, registry.Find(slug));

        // A layout it can draw is applied live: same stream, no new broadcast.
        (status, state) = await PutAsync(server, id, new { inputs, layout = new { kind = "free", inputs = new[] { new { id = "slate", rect = new { x = 0, y = 0, width = 160, height = 90 } } } }, transition = "fade" });
        Assert.True(status == HttpStatusCode.OK, state.ToJsonString());
        Assert.Equal("free", state["layout"]!["kind"]!.GetValue<string>());
        Assert.Same(stream, registry.Find(slug));
        string startedAt = state["engine"]!["startedAt"]!.GetValue<string>();

        // Other inputs (a logo added as an overlay) change on air too: same stream, the same broadcast's start.
        object[] withLogo = [inputs[0], new { id = "logo", image = new { data = Convert.ToBase64String(png.Stdout), width = 32, height = 32 } }];
        (status, state) = await PutAsync(server, id, new
        {
            inputs = withLogo,
            layout = new { kind = "single", inputs = new[] { new { id = "slate", fit = "fill" } }, overlays = new[] { new { id = "logo", rect = new { x = 0, y = 0, width = 32, height = 32 } } } },
        });
        Assert.True(status == HttpStatusCode.OK, state.ToJsonString());
        Assert.Equal(2, state["inputs"]!.AsArray().Count);
        Assert.Same(stream, registry.Find(slug));
        Assert.Equal(startedAt, state["engine"]!["startedAt"]!.GetValue<string>());

        // Shutdown: the program ends with the server, its stream leaves the hub.
        await server.App.StopAsync();
        Assert.Null(registry.Find(slug));
        Assert.True(stream.IsCompleted);
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> PutAsync(InProcessServer server, string channelId, object body)
    {
        using var request = server.Authorized(HttpMethod.Put, $"/api/channels/{channelId}/program");
        request.Content = JsonContent.Create(body);
        using var response = await server.Http.SendAsync(request);
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!);
    }
}
