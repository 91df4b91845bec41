using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Ingest;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests;

public class CompositionTests
{
    [Fact]
    public async Task The_default_channel_exists_after_start_and_its_key_publishes()
    {
        await using var server = await InProcessServer.StartAsync();
        var channels = server.Services.GetRequiredService<ChannelService>();
        await WaitFor.ConditionAsync(async () => (await channels.ListAsync()).Any(c => c.Slug == "default"), TimeSpan.FromSeconds(30),
            "the start-up to create the default channel");
        var defaultChannel = await channels.EnsureDefaultChannelAsync();
        Assert.False(defaultChannel.Created); // the start-up banner made it

        var authorizer = server.Services.GetRequiredService<IPublishAuthorizer>();
        var allowed = await authorizer.AuthorizeAsync(new PublishRequest("live", defaultChannel.StreamKey!, null), default);
        Assert.True(allowed.Allowed);
        Assert.Equal("default", allowed.StreamName);
        Assert.Equal(defaultChannel.Channel.Id, allowed.ChannelId);
    }

    public static TheoryData<string, string, string> RefusedPublishes => new()
    {
        { "wrong application", "other", "unknown application 'other'" },
        { "malformed key", "live", "stream key is malformed" },
        { "unknown key", "live", "stream key" },
    };

    [Theory]
    [MemberData(nameof(RefusedPublishes))]
    public async Task Publishes_are_refused_with_a_reason_that_never_echoes_the_key(string name, string app, string reason)
    {
        await using var server = await InProcessServer.StartAsync();
        var channels = server.Services.GetRequiredService<ChannelService>();
        var issued = await channels.CreateAsync(new ChannelSpec("Refusals"));
        string key = name switch
        {
            "malformed key" => "not-a-key",
            "unknown key" => "live_" + new string('a', 26),
            _ => issued.StreamKey,
        };
        var authorizer = server.Services.GetRequiredService<IPublishAuthorizer>();
        var decision = await authorizer.AuthorizeAsync(new PublishRequest(app, key, null), default);
        Assert.False(decision.Allowed);
        Assert.Contains(reason, decision.Reason);
        Assert.DoesNotContain(key, decision.Reason);
    }

    [Fact]
    public async Task Live_status_and_metrics_follow_a_stream_in_the_hub()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        var channels = server.Services.GetRequiredService<ChannelService>();
        var issued = await channels.CreateAsync(new ChannelSpec("Status \"quoted\""));
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();
        Assert.True(registry.TryStartPublish(issued.Channel.Slug, out var stream));
        var video = new VideoTrack(Codec.H264, new byte[] { 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0 }, "avc1.64001f", 1280, 720,
            "High", "3.1", new FrameRate(30, 1));
        stream.SetTrack(video);
        for (int i = 0; i < 10; i++) stream.Write(MediaFrame.Rent(video, i * 3000L, 0, i == 0, new byte[] { 0, 0, 0, 1, 0x65 }));

        using var request = server.Authorized(HttpMethod.Get, $"/api/channels/{issued.Channel.Id}");
        using var response = await server.Http.SendAsync(request);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var live = json.RootElement.GetProperty("live");
        Assert.True(live.GetProperty("online").GetBoolean());
        Assert.Equal("h264", live.GetProperty("video").GetProperty("codec").GetString());
        Assert.Equal(1280, live.GetProperty("video").GetProperty("width").GetInt32());
        Assert.Equal(30, live.GetProperty("video").GetProperty("frameRate").GetDouble());
        Assert.Equal(10, live.GetProperty("videoFrames").GetInt64());
        Assert.Equal(new[] { "source" }, live.GetProperty("renditions").EnumerateArray().Select(r => r.GetString()));

        string metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains($"broadcast_stream_video_frames_total{{stream=\"{issued.Channel.Slug}\"}} 10\n", metrics);
        Assert.Contains("broadcast_streams_live 1\n", metrics);

        registry.EndPublish(stream);
        using var after = server.Authorized(HttpMethod.Get, $"/api/channels/{issued.Channel.Id}");
        using var afterResponse = await server.Http.SendAsync(after);
        using var afterJson = JsonDocument.Parse(await afterResponse.Content.ReadAsStringAsync());
        var ended = afterJson.RootElement.GetProperty("live");
        Assert.False(ended.GetProperty("online").GetBoolean());
        Assert.Equal(10, ended.GetProperty("videoFrames").GetInt64());
        Assert.Equal(JsonValueKind.String, ended.GetProperty("endedAt").ValueKind);
    }

    [Fact]
    public async Task The_origin_role_alone_serves_playback_and_no_admin_api()
    {
        await using var server = await InProcessServer.StartAsync("--Roles=origin", "--Playback:PublicOnly=true");
        Assert.Equal("ok\n", await server.Http.GetStringAsync("/healthz"));
        using var api = server.Authorized(HttpMethod.Get, "/api/channels");
        using var apiResponse = await server.Http.SendAsync(api);
        Assert.Equal(HttpStatusCode.NotFound, apiResponse.StatusCode);
        using var time = await server.Http.GetAsync("/time");
        Assert.Equal(HttpStatusCode.OK, time.StatusCode);
        Assert.DoesNotContain("broadcast_rtmp_connections", await server.Http.GetStringAsync("/metrics"));
    }
}

/// <summary>The node with every role, its transcoder on: the transcoder's start probes the encoders with a real ffmpeg.</summary>
[Trait("Kind", "Component")]
public class AllRolesCompositionTests
{
    [Fact]
    public async Task All_roles_answer_health_readiness_metrics_and_the_admin_api()
    {
        await using var server = await InProcessServer.StartAsync(InProcessServer.TranscoderOn);

        Assert.Equal("ok\n", await server.Http.GetStringAsync("/healthz"));
        Assert.Equal("{\"status\":\"ready\",\"checks\":{\"database\":\"ok\",\"store\":\"ok\"}}", await server.Http.GetStringAsync("/readyz"));

        using var metrics = await server.Http.GetAsync("/metrics");
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", metrics.Content.Headers.ContentType!.ToString());
        string text = await metrics.Content.ReadAsStringAsync();
        Assert.Contains("# TYPE broadcast_rtmp_connections gauge\nbroadcast_rtmp_connections 0\n", text);
        Assert.Contains("broadcast_streams_live 0\n", text);
        // The start-up probe ran a real one-frame encode per back-end; with no GPU here it chose x264.
        Assert.Contains("broadcast_transcoder_backend_info{backend=\"x264\"} 1\n", text);

        using var anonymous = await server.Http.PostAsJsonAsync("/api/channels", new { name = "x" });
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

        using var create = server.Authorized(HttpMethod.Post, "/api/channels");
        create.Content = JsonContent.Create(new { name = "Main Stage" });
        using var created = await server.Http.SendAsync(create);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        Assert.Equal("main-stage", body.RootElement.GetProperty("slug").GetString());
        Assert.EndsWith("/live/main-stage/master.m3u8", body.RootElement.GetProperty("hlsUrl").GetString());
        Assert.Equal($"rtmp://127.0.0.1:{server.RtmpPort}/live", body.RootElement.GetProperty("rtmpUrl").GetString());

        // The origin answers under /live with a short-lived 404 for what does not exist yet.
        using var missing = await server.Http.GetAsync("/live/main-stage/master.m3u8");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }
}
