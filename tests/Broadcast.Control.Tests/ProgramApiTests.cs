using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Programs;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Tests;

/// <summary>
/// Programs through the admin API on a real Kestrel over SQLite: the body checked field by field, channel inputs resolved by
/// id or slug, the plan handed to the runner, the stored program read back and resumed, and DELETE. The runner is a recorder
/// standing in for the pipeline (the compositor's engine has no place in the control plane's tests; the end-to-end
/// <c>ProgramCompositionTests</c> run the real one).
/// </summary>
public sealed class ProgramApiTests : IAsyncLifetime
{
    private const string Token = "test-admin-token-program-0123456789";
    private readonly RecordingProgramRunner _runner = new();
    private ControlApiHost _host = null!;
    private HttpClient _client = null!;

    public async Task InitializeAsync()
    {
        // The keeper's timed passes stay out of the way (its first, at start, finds nothing stored): tests call its pass.
        _host = await ControlApiHost.StartAsync(Token, Quiet, services => services.AddSingleton<IProgramRunner>(_runner));
        _client = _host.Client;
    }

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static readonly Dictionary<string, string?> Quiet = new() { ["Program:KeeperSeconds"] = "300" };

    private static StringContent Json(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

    private static async Task<JsonElement> BodyAsync(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private async Task<(string Id, string Slug)> ChannelAsync()
    {
        using var response = await _client.PostAsync("/api/channels", Json(new { name = $"Studio {Guid.NewGuid():N}" }));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await BodyAsync(response);
        return (body.GetProperty("id").GetString()!, body.GetProperty("slug").GetString()!);
    }

    [Fact]
    public async Task A_program_is_set_by_id_or_slug_answered_with_the_engine_state_read_back_and_stopped()
    {
        var (program, programSlug) = await ChannelAsync();
        var (a, aSlug) = await ChannelAsync();
        var (_, bSlug) = await ChannelAsync();
        string aName;
        using (var channelA = await _client.GetAsync($"/api/channels/{a}"))
            aName = (await BodyAsync(channelA)).GetProperty("name").GetString()!;
        using (var none = await _client.GetAsync($"/api/channels/{program}/program"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);

        var body = new
        {
            inputs = new object[] { new { id = "a", channel = a }, new { id = "b", channel = bSlug, label = "Guest — Ana" } },
            layout = new { kind = "pip", inputs = new object[] { new { id = "a" }, new { id = "b", fit = "fill" } }, insetCorner = "top-left" },
            audio = new Dictionary<string, object> { ["b"] = new { gainDb = -6.0, muted = true } },
            transition = "fade",
        };
        using (var put = await _client.PutAsync($"/api/channels/{program}/program", Json(body)))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var state = await BodyAsync(put);
            Assert.True(state.GetProperty("running").GetBoolean());
            Assert.Equal("admin", state.GetProperty("updatedBy").GetString());
            Assert.Equal("pip", state.GetProperty("layout").GetProperty("kind").GetString());
            Assert.Equal(aSlug, state.GetProperty("inputs")[0].GetProperty("channelSlug").GetString());
            Assert.True(state.GetProperty("inputs")[0].GetProperty("present").GetBoolean());
            Assert.False(state.GetProperty("inputs")[1].GetProperty("present").GetBoolean());
            Assert.Equal(640, state.GetProperty("engine").GetProperty("width").GetInt32());
            // A channel input's placeholder shows its label, or the channel's name when none is given.
            Assert.Equal(aName, state.GetProperty("inputs")[0].GetProperty("label").GetString());
            Assert.Equal("Guest — Ana", state.GetProperty("inputs")[1].GetProperty("label").GetString());
        }

        var plan = _runner.Plans[^1];
        Assert.Equal(programSlug, plan.Slug);
        Assert.Equal([("a", aSlug), ("b", bSlug)], plan.Inputs.Select(i => (i.Id, i.ChannelSlug!)).ToArray());
        Assert.Equal([aName, "Guest — Ana"], plan.Inputs.Select(i => i.Label!).ToArray());
        Assert.Equal("fade", plan.Transition);
        Assert.Equal(new ProgramAudioRequest(-6.0, true), plan.Audio["b"]);

        using (var get = await _client.GetAsync($"/api/channels/{program}/program"))
        {
            var state = await BodyAsync(get);
            Assert.Equal("top-left", state.GetProperty("layout").GetProperty("insetCorner").GetString());
            Assert.True(state.GetProperty("audio").GetProperty("b").GetProperty("muted").GetBoolean());
        }

        // PATCH: a new layout and mix, the same inputs; no transition given is a cut.
        using (var patch = await _client.PatchAsync($"/api/channels/{program}/program", Json(new
        {
            layout = new { kind = "single", inputs = new object[] { new { id = "b" } } },
            audio = new Dictionary<string, object> { ["a"] = new { muted = true } },
        })))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
            var state = await BodyAsync(patch);
            Assert.Equal("single", state.GetProperty("layout").GetProperty("kind").GetString());
            Assert.Equal(2, state.GetProperty("inputs").GetArrayLength());
        }
        Assert.Equal([("a", aSlug), ("b", bSlug)], _runner.Plans[^1].Inputs.Select(i => (i.Id, i.ChannelSlug!)).ToArray());
        Assert.Equal("cut", _runner.Plans[^1].Transition);
        Assert.Equal(new ProgramAudioRequest(null, true), _runner.Plans[^1].Audio["a"]);
        using (var badPatch = await _client.PatchAsync($"/api/channels/{program}/program", Json(new { transition = "wipe" })))
            Assert.True((await BodyAsync(badPatch)).GetProperty("errors").TryGetProperty("transition", out _));

        // The stored program is what a restart resumes (a node that runs nothing yet).
        _runner.Forget(programSlug);
        _runner.Plans.Clear();
        Assert.Equal(1, await _host.App.Services.GetRequiredService<ProgramService>().KeepAsync(default));
        Assert.Equal(programSlug, Assert.Single(_runner.Plans).Slug);

        using (var delete = await _client.DeleteAsync($"/api/channels/{program}/program"))
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Contains(programSlug, _runner.Stopped);
        using (var gone = await _client.GetAsync($"/api/channels/{program}/program"))
            Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using (var again = await _client.DeleteAsync($"/api/channels/{program}/program"))
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        using (var patchNone = await _client.PatchAsync($"/api/channels/{program}/program", Json(new { transition = "cut" })))
            Assert.Equal(HttpStatusCode.NotFound, patchNone.StatusCode);
    }

    // (name, body, the field the 400 names)
    public static TheoryData<string, string, string> BadBodies => new()
    {
        { "no inputs", """{"inputs":[],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs" },
        { "an id with a space", """{"inputs":[{"id":"a b","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].id" },
        { "two inputs called a", """{"inputs":[{"id":"a","channel":"CH"},{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[1].id" },
        { "neither channel nor image", """{"inputs":[{"id":"a"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0]" },
        { "an unknown channel", """{"inputs":[{"id":"a","channel":"nobody"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].channel" },
        { "its own channel", """{"inputs":[{"id":"a","channel":"SELF"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].channel" },
        { "an image that is not base64", """{"inputs":[{"id":"logo","image":{"data":"%%%","width":64,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.data" },
        // Bytes that are no PNG or JPEG are refused where they arrive; left to ffmpeg's probing, the playlist would fetch its segment.
        { "an HLS playlist as an image", """{"inputs":[{"id":"logo","image":{"data":"I0VYVE0zVQojRVhUSU5GOjEsCmh0dHA6Ly8xMjcuMC4wLjE6OS9zLnRzCg==","width":64,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.data" },
        { "a GIF", """{"inputs":[{"id":"logo","image":{"data":"R0lGODlhAQABAAAAACw=","width":64,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.data" },
        { "a PNG signature cut short", """{"inputs":[{"id":"logo","image":{"data":"iVBORw0KGg==","width":64,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.data" },
        { "an empty image", """{"inputs":[{"id":"logo","image":{"data":"","width":64,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.data" },
        { "an odd image width", """{"inputs":[{"id":"logo","image":{"data":"iVBORw0KGgo=","width":63,"height":64}}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].image.width" },
        { "no layout", """{"inputs":[{"id":"a","channel":"CH"}]}""", "layout" },
        { "an unknown kind", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"mosaic","inputs":[{"id":"a"}]}}""", "layout.kind" },
        { "an unknown fit", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a","fit":"stretch"}]}}""", "layout.inputs[0].fit" },
        { "an unknown corner", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}],"insetCorner":"middle"}}""", "layout.insetCorner" },
        { "an overlay of a channel", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}],"overlays":[{"id":"a","rect":{"x":0,"y":0,"width":10,"height":10}}]}}""", "layout.overlays[0].id" },
        { "audio of no input", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]},"audio":{"z":{"muted":true}}}""", "audio.z" },
        { "a gain too loud", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]},"audio":{"a":{"gainDb":30}}}""", "audio.a.gainDb" },
        { "an unknown transition", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]},"transition":"wipe"}""", "transition" },
        { "an empty label", """{"inputs":[{"id":"a","channel":"CH","label":" "}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].label" },
        { "a label on two lines", """{"inputs":[{"id":"a","channel":"CH","label":"Ana\nBerlin"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].label" },
        { "a label too long", """{"inputs":[{"id":"a","channel":"CH","label":"0123456789012345678901234567890123456789012345678"}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0].label" },
        { "a label on an image", """{"inputs":[{"id":"logo","image":{"data":"iVBORw0KGgo=","width":64,"height":64},"label":"Logo"}],"layout":{"kind":"single","inputs":[{"id":"logo"}]}}""", "inputs[0].label" },
        { "a channel and a source", """{"inputs":[{"id":"a","channel":"CH","source":{"url":"file:film.mp4"}}],"layout":{"kind":"single","inputs":[{"id":"a"}]}}""", "inputs[0]" },
        { "a source without a url", """{"inputs":[{"id":"f","source":{"loop":true}}],"layout":{"kind":"single","inputs":[{"id":"f"}]}}""", "inputs[0].source.url" },
        { "a source of another scheme", """{"inputs":[{"id":"f","source":{"url":"ftp://example.com/film.mp4"}}],"layout":{"kind":"single","inputs":[{"id":"f"}]}}""", "inputs[0].source.url" },
        { "a source on loopback (the outbound policy)", """{"inputs":[{"id":"f","source":{"url":"rtmp://127.0.0.1:1935/live/x"}}],"layout":{"kind":"single","inputs":[{"id":"f"}]}}""", "inputs[0].source.url" },
        { "a gain that is a word", """{"inputs":[{"id":"a","channel":"CH"}],"layout":{"kind":"single","inputs":[{"id":"a"}]},"audio":{"a":{"gainDb":"loud"}}}""", "audio" },
    };

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13 })]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 16 })]
    public async Task Bytes_with_a_png_or_jpeg_signature_reach_the_runner_as_they_came(byte[] bytes)
    {
        var (program, _) = await ChannelAsync();
        var body = new
        {
            inputs = new object[] { new { id = "logo", image = new { data = Convert.ToBase64String(bytes), width = 64, height = 64 } } },
            layout = new { kind = "single", inputs = new object[] { new { id = "logo" } } },
            transition = "cut",
        };
        using var put = await _client.PutAsync($"/api/channels/{program}/program", Json(body));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(bytes, Assert.Single(_runner.Plans).Inputs[0].Image);
    }

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task A_bad_body_gets_a_400_naming_the_field_and_changes_nothing(string name, string json, string field)
    {
        var (program, _) = await ChannelAsync();
        var (input, _) = await ChannelAsync();
        using var put = await _client.PutAsync($"/api/channels/{program}/program",
            new StringContent(json.Replace("CH", input, StringComparison.Ordinal).Replace("SELF", program, StringComparison.Ordinal), Encoding.UTF8, "application/json"));
        Assert.True(put.StatusCode == HttpStatusCode.BadRequest, $"{name}: {(int)put.StatusCode}");
        var errors = (await BodyAsync(put)).GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out _), $"{name}: the 400 names {errors}, not {field}");
        Assert.Empty(_runner.Plans);
        using var get = await _client.GetAsync($"/api/channels/{program}/program");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_source_input_is_planned_with_its_url_and_loop_named_after_its_file_and_answered_with_its_pull()
    {
        var (program, programSlug) = await ChannelAsync();
        var (host, _) = await ChannelAsync();
        var body = new
        {
            inputs = new object[] { new { id = "film", source = new { url = " file:films/night.mp4 ", loop = true } }, new { id = "host", channel = host } },
            layout = new { kind = "pip", inputs = new[] { new { id = "film" }, new { id = "host" } } },
            audio = new Dictionary<string, object> { ["film"] = new { gainDb = -12 } },
        };
        using var put = await _client.PutAsync($"/api/channels/{program}/program", Json(body));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var plan = Assert.Single(_runner.Plans);
        Assert.Equal(programSlug, plan.Slug);
        var film = plan.Inputs[0];
        Assert.Equal(new ProgramPull("file:films/night.mp4", Loop: true, AllowUntrustedCertificate: false), film.Pull);
        Assert.Null(film.ChannelSlug);
        Assert.Equal("night.mp4", film.Label);

        var answer = (await BodyAsync(put)).GetProperty("inputs")[0];
        Assert.Equal("night.mp4", answer.GetProperty("label").GetString());
        var source = answer.GetProperty("source");
        Assert.Equal("file:films/night.mp4", source.GetProperty("url").GetString());
        Assert.True(source.GetProperty("loop").GetBoolean());
        Assert.Equal("live", source.GetProperty("state").GetString());

        // A label of its own replaces the file's name; a URL's default is its host.
        Assert.Equal("example.com", ProgramPlanner.SourceLabel("https://example.com/live/index.m3u8"));
        Assert.Equal("source", ProgramPlanner.SourceLabel("file:"));
    }

    [Fact]
    public async Task A_layout_the_engine_refuses_is_a_400_naming_its_field_and_nothing_is_stored()
    {
        var (program, _) = await ChannelAsync();
        var (input, _) = await ChannelAsync();
        _runner.Refuse = new ValidationFailedException(new Dictionary<string, string[]> { ["layout.inputs"] = ["a single layout takes exactly 1 input, not 2"] });
        using var put = await _client.PutAsync($"/api/channels/{program}/program", Json(new
        {
            inputs = new object[] { new { id = "a", channel = input } },
            layout = new { kind = "single", inputs = new object[] { new { id = "a" }, new { id = "a" } } },
        }));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.True((await BodyAsync(put)).GetProperty("errors").TryGetProperty("layout.inputs", out _));
        using var get = await _client.GetAsync($"/api/channels/{program}/program");
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task A_channel_leased_by_another_ingest_node_is_refused_with_409_and_its_program_not_started_here()
    {
        var runner = new RecordingProgramRunner();
        await using var host = await LeasedHostAsync(runner);
        using var program = await host.Client.PostAsync("/api/channels", Json(new { name = "leased program" }));
        using var input = await host.Client.PostAsync("/api/channels", Json(new { name = "leased input" }));
        string programId = (await BodyAsync(program)).GetProperty("id").GetString()!, inputId = (await BodyAsync(input)).GetProperty("id").GetString()!;
        var now = DateTimeOffset.UtcNow;
        await host.App.Services.GetRequiredService<IChannelLeaseRepository>()
            .AcquireAsync(programId, "other-node", now, now.AddMinutes(5), default);

        using var put = await host.Client.PutAsync($"/api/channels/{programId}/program", Json(new
        {
            inputs = new object[] { new { id = "a", channel = inputId } },
            layout = new { kind = "single", inputs = new object[] { new { id = "a" } } },
        }));
        Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
        Assert.Contains("other-node", (await BodyAsync(put)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Empty(runner.Plans);
    }

    [Fact]
    public async Task A_stored_program_moves_here_once_its_nodes_lease_lapses_and_not_while_it_lives()
    {
        var runner = new RecordingProgramRunner();
        await using var host = await LeasedHostAsync(runner);
        var (programId, slug, inputId) = await ProgramAndInputAsync(host);
        using (var put = await host.Client.PutAsync($"/api/channels/{programId}/program", Json(SingleInput(inputId))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        // This node "died" while another runs the program: the other node's lease lives, so the keeper leaves it there.
        var leases = host.App.Services.GetRequiredService<IChannelLeaseRepository>();
        var programs = host.App.Services.GetRequiredService<ProgramService>();
        runner.Forget(slug);
        var now = DateTimeOffset.UtcNow;
        await leases.ReleaseAsync(programId, host.App.Services.GetRequiredService<ChannelLeases>().NodeId, default);
        await leases.AcquireAsync(programId, "other-node", now, now.AddMinutes(5), default);
        runner.Plans.Clear();
        Assert.Equal(0, await programs.KeepAsync(default));
        Assert.Empty(runner.Plans);

        // The other node died too: its lease is left to lapse, and the next pass takes the program over here.
        await leases.AcquireAsync(programId, "other-node", now, now.AddSeconds(-1), default);
        Assert.Equal(1, await programs.KeepAsync(default));
        Assert.Equal(slug, Assert.Single(runner.Plans).Slug);
        Assert.Equal(0, await programs.KeepAsync(default));
    }

    [Fact]
    public async Task A_program_whose_broadcast_ends_from_outside_is_forgotten_unless_another_node_took_its_channel()
    {
        var runner = new RecordingProgramRunner();
        await using var host = await LeasedHostAsync(runner);
        var (programId, slug, inputId) = await ProgramAndInputAsync(host);

        // Taken by another node (this one missed its renewals): the broadcast here ends, the program moved and stays stored.
        using (var put = await host.Client.PutAsync($"/api/channels/{programId}/program", Json(SingleInput(inputId))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var later = DateTimeOffset.UtcNow.AddHours(1);
        await host.App.Services.GetRequiredService<IChannelLeaseRepository>().AcquireAsync(programId, "other-node", later, later.AddMinutes(5), default);
        await host.App.Services.GetRequiredService<ChannelLeases>().RenewOnceAsync(default);
        runner.Forget(slug); // what the host does, told to the service directly here (the event's path is the next case)
        await host.App.Services.GetRequiredService<ProgramService>().OnBroadcastEndedAsync(slug, default);
        using (var kept = await host.Client.GetAsync($"/api/channels/{programId}/program"))
            Assert.Equal(HttpStatusCode.OK, kept.StatusCode);

        // Ended by an admin, an event's end or its window (the lease still this node's): over, and no node resumes it.
        var (otherId, otherSlug, _) = await ProgramAndInputAsync(host);
        using (var put = await host.Client.PutAsync($"/api/channels/{otherId}/program", Json(SingleInput(inputId))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        runner.EndFromOutside(otherSlug);
        await WaitFor.ConditionAsync(async () =>
        {
            using var gone = await host.Client.GetAsync($"/api/channels/{otherId}/program");
            return gone.StatusCode == HttpStatusCode.NotFound;
        }, TimeSpan.FromSeconds(20), "the ended program forgotten");
        runner.Plans.Clear();
        Assert.Equal(0, await host.App.Services.GetRequiredService<ProgramService>().KeepAsync(default));
        Assert.Empty(runner.Plans);
    }

    [Fact]
    public async Task A_program_on_a_channel_that_publishes_only_in_events_waits_for_the_window_and_is_refused_outside_it()
    {
        using var create = await _client.PostAsync("/api/channels", Json(new { name = $"Scheduled {Guid.NewGuid():N}", requireSchedule = true }));
        var created = await BodyAsync(create);
        string programId = created.GetProperty("id").GetString()!;
        var (inputId, _) = await ChannelAsync();

        using (var put = await _client.PutAsync($"/api/channels/{programId}/program", Json(SingleInput(inputId))))
        {
            Assert.Equal(HttpStatusCode.Conflict, put.StatusCode);
            Assert.Contains("scheduled", (await BodyAsync(put)).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
        Assert.Empty(_runner.Plans);

        // An event whose window is open now: the program goes on air, and its event is live.
        var now = DateTimeOffset.UtcNow;
        using var ev = await _client.PostAsync("/api/events", Json(new { channelId = programId, title = "show", startsAt = now.AddMinutes(-1), endsAt = now.AddHours(1) }));
        Assert.Equal(HttpStatusCode.Created, ev.StatusCode);
        string eventId = (await BodyAsync(ev)).GetProperty("id").GetString()!;
        using (var put = await _client.PutAsync($"/api/channels/{programId}/program", Json(SingleInput(inputId))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var live = await _client.GetAsync($"/api/events/{eventId}");
        Assert.Equal("live", (await BodyAsync(live)).GetProperty("state").GetString());
    }

    /// <summary>A control host with channel leases (this node's name in them, as an ingest node has) and the keeper's timed passes out of the way.</summary>
    private static Task<ControlApiHost> LeasedHostAsync(RecordingProgramRunner runner)
    {
        var leaseSettings = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Database:Kind"] = "sqlite" }).Build();
        return ControlApiHost.StartAsync(Token, Quiet, services => services
            .AddSingleton<IProgramRunner>(runner)
            .AddPublishPolicy(leaseSettings));
    }

    private static object SingleInput(string inputId) => new
    {
        inputs = new object[] { new { id = "a", channel = inputId } },
        layout = new { kind = "single", inputs = new object[] { new { id = "a" } } },
    };

    private static async Task<(string ProgramId, string Slug, string InputId)> ProgramAndInputAsync(ControlApiHost host)
    {
        using var program = await host.Client.PostAsync("/api/channels", Json(new { name = $"program {Guid.NewGuid():N}" }));
        using var input = await host.Client.PostAsync("/api/channels", Json(new { name = $"input {Guid.NewGuid():N}" }));
        var created = await BodyAsync(program);
        return (created.GetProperty("id").GetString()!, created.GetProperty("slug").GetString()!, (await BodyAsync(input)).GetProperty("id").GetString()!);
    }

    [Fact]
    public async Task A_stored_program_is_resumed_when_the_next_host_has_started()
    {
        using var directory = new TempDirectory();
        var database = new Dictionary<string, string?>
        {
            ["Database:ConnectionString"] = $"Data Source={directory.File("broadcast.db")}",
            ["Secrets:KeyPath"] = directory.File("secret.key"),
        };
        string programSlug;
        await using (var first = await ControlApiHost.StartAsync(Token, database, services => services.AddSingleton<IProgramRunner>(new RecordingProgramRunner())))
        {
            using var program = await first.Client.PostAsync("/api/channels", Json(new { name = "resumed program" }));
            using var input = await first.Client.PostAsync("/api/channels", Json(new { name = "resumed input" }));
            var created = await BodyAsync(program);
            programSlug = created.GetProperty("slug").GetString()!;
            using var put = await first.Client.PutAsync($"/api/channels/{created.GetProperty("id").GetString()}/program", Json(new
            {
                inputs = new object[] { new { id = "a", channel = (await BodyAsync(input)).GetProperty("id").GetString() } },
                layout = new { kind = "single", inputs = new object[] { new { id = "a" } } },
                transition = "fade",
            }));
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        }

        var runner = new RecordingProgramRunner();
        await using var second = await ControlApiHost.StartAsync(Token, database, services => services.AddSingleton<IProgramRunner>(runner));
        await Broadcast.TestSupport.WaitFor.ConditionAsync(() => runner.Plans.Count > 0, TimeSpan.FromSeconds(20), "the stored program resumed");
        var plan = Assert.Single(runner.Plans);
        Assert.Equal(programSlug, plan.Slug);
        Assert.Equal("fade", plan.Transition);
        Assert.Equal("a", Assert.Single(plan.Inputs).Id);
    }

    [Fact]
    public async Task The_program_routes_need_the_admin_token()
    {
        var (program, _) = await ChannelAsync();
        using var anonymous = new HttpClient { BaseAddress = _host.BaseAddress };
        using var get = await anonymous.GetAsync($"/api/channels/{program}/program");
        Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
    }

    [Fact]
    public async Task The_input_preview_is_the_running_programs_newest_sheet_never_cached_with_its_tile_order()
    {
        var (program, _) = await ChannelAsync();
        var (input, _) = await ChannelAsync();
        using (var none = await _client.GetAsync($"/api/channels/{program}/program/preview.jpg"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        using (var put = await _client.PutAsync($"/api/channels/{program}/program", Json(SingleInput(input))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);

        using var preview = await _client.GetAsync($"/api/channels/{program}/program/preview.jpg");
        Assert.Equal(HttpStatusCode.OK, preview.StatusCode);
        Assert.Equal("image/jpeg", preview.Content.Headers.ContentType?.MediaType);
        Assert.True(preview.Headers.CacheControl?.NoStore);
        Assert.Equal("a", Assert.Single(preview.Headers.GetValues("Preview-Inputs")));
        Assert.Equal("320x180", Assert.Single(preview.Headers.GetValues("Preview-Tile")));
        Assert.Equal(RecordingProgramRunner.PreviewJpeg, await preview.Content.ReadAsByteArrayAsync());

        using (var anonymous = new HttpClient { BaseAddress = _host.BaseAddress })
        using (var get = await anonymous.GetAsync($"/api/channels/{program}/program/preview.jpg"))
            Assert.Equal(HttpStatusCode.Unauthorized, get.StatusCode);
        using (var unknown = await _client.GetAsync("/api/channels/no-such-channel/program/preview.jpg"))
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task The_level_meters_of_the_running_program_are_read_uncached()
    {
        var (program, _) = await ChannelAsync();
        var (input, _) = await ChannelAsync();
        using (var none = await _client.GetAsync($"/api/channels/{program}/program/levels"))
            Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        using (var put = await _client.PutAsync($"/api/channels/{program}/program", Json(SingleInput(input))))
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        using var levels = await _client.GetAsync($"/api/channels/{program}/program/levels");
        Assert.Equal(HttpStatusCode.OK, levels.StatusCode);
        Assert.True(levels.Headers.CacheControl?.NoStore);
        var body = await BodyAsync(levels);
        Assert.Equal(-18.5, body.GetProperty("inputs").GetProperty("a").GetDouble());
        Assert.Equal(-9.25, body.GetProperty("program").GetDouble());
    }

    private sealed class RecordingProgramRunner : IProgramRunner
    {
        public List<ProgramPlan> Plans { get; } = [];

        public List<string> Stopped { get; } = [];

        public ValidationFailedException? Refuse { get; set; }

        private static readonly DateTimeOffset At = new(2026, 5, 1, 13, 45, 0, TimeSpan.Zero);

        private readonly Dictionary<string, ProgramPlan> _running = [];

        public bool RunsPrograms => true;

        public IReadOnlyCollection<string> Running => [.. _running.Keys];

        public event Action<string>? Ended;

        /// <summary>A node that died or restarted: the program no longer runs here, and nobody is told.</summary>
        public void Forget(string slug) => _running.Remove(slug);

        /// <summary>As the engine's host does when the program's stream is ended from outside: stopped, then reported.</summary>
        public void EndFromOutside(string slug)
        {
            _running.Remove(slug);
            Ended?.Invoke(slug);
        }

        public Task<ProgramRunState> ApplyAsync(ProgramPlan plan, CancellationToken cancellationToken)
        {
            if (Refuse is not null) throw Refuse;
            Plans.Add(plan);
            _running[plan.Slug] = plan;
            return Task.FromResult(Status(plan.Slug)!);
        }

        // The first input has a picture, the others not yet: the response must carry each input's own presence.
        public ProgramRunState? Status(string slug) => _running.TryGetValue(slug, out var plan)
            ? new ProgramRunState(plan.Inputs.Select((input, i) => (input.Id, i == 0)).ToDictionary(p => p.Id, p => p.Item2), 640, 360, 10, 0, null, 0, 40, At)
            {
                Pulls = plan.Inputs.Where(i => i.Pull is not null).ToDictionary(i => i.Id, _ => new ProgramPullStatus("live", null)),
            }
            : null;

        /// <summary>What <see cref="Preview"/> serves: a JPEG's first and last markers (the API passes the bytes through).</summary>
        public static readonly byte[] PreviewJpeg = [0xFF, 0xD8, 0xFF, 0xD9];

        public ProgramInputsPreview? Preview(string slug) => _running.TryGetValue(slug, out var plan)
            ? new ProgramInputsPreview(PreviewJpeg, [.. plan.Inputs.Where(i => i.ChannelSlug is not null).Select(i => i.Id)], 320, 180, At)
            : null;

        public ProgramLevelsResponse? Levels(string slug) => _running.TryGetValue(slug, out var plan)
            ? new ProgramLevelsResponse(plan.Inputs.Where(i => i.ChannelSlug is not null).ToDictionary(i => i.Id, i => (double?)-18.5), -9.25, At)
            : null;

        public Task<bool> StopAsync(string slug)
        {
            Stopped.Add(slug);
            return Task.FromResult(_running.Remove(slug));
        }
    }
}
