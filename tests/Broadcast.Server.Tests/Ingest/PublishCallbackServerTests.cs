using System.Text.Json;
using Broadcast.Media;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Ingest;

/// <summary>
/// The platform's publish callback through the whole server, with ffmpeg publishing RTMP: the platform's refusal and its
/// reason reach the encoder, a callback that hangs on one channel holds no other channel's publish, and an allowed
/// publish goes live. The platform is an HTTP endpoint on loopback that the operator allowed (<c>Outbound:AllowedNetworks</c>).
/// </summary>
[Trait("Kind", "Component")]
public sealed class PublishCallbackServerTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_platform_refuses_one_channel_with_its_reason_hangs_on_another_and_a_third_goes_live_meanwhile()
    {
        await using var platform = await LoopbackHttpEndpoint.StartAsync();
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false",
            $"--PublishCallback:Url={platform.Url("publish?token=platform-secret")}", "--PublishCallback:TimeoutMilliseconds=20000",
            "--Outbound:AllowedNetworks=127.0.0.0/8");
        var refused = await server.CreateChannelAsync("Course ended");
        var held = await server.CreateChannelAsync("Held");
        var live = await server.CreateChannelAsync("Live now");
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        platform.Answer(async (request, response, token) =>
        {
            string channel = JsonDocument.Parse(request.Body).RootElement.GetProperty("channel").GetString()!;
            if (channel == held.Slug) await release.Task.WaitAsync(token);
            response.StatusCode = channel == refused.Slug ? 403 : 204;
            if (channel == refused.Slug) await response.WriteAsync("{\"reason\":\"this course has ended\"}", token);
        });
        string Rtmp(string key) => $"rtmp://127.0.0.1:{server.RtmpPort}/live/{key}";
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();

        await using (var refusedPublisher = LavfiPublisher.Start(Rtmp(refused.StreamKey)))
        {
            int exit = await refusedPublisher.WaitForExitAsync(Bound);
            Assert.NotEqual(0, exit);
            Assert.Contains("this course has ended", refusedPublisher.Log.Tail(30), StringComparison.Ordinal);
        }

        try
        {
            await using var heldPublisher = LavfiPublisher.Start(Rtmp(held.StreamKey));
            await WaitFor.ConditionAsync(() => platform.Received.Any(r => r.BodyText.Contains($"\"{held.Slug}\"", StringComparison.Ordinal)),
                Bound, "the platform to be asked about the held channel");
            await using var livePublisher = LavfiPublisher.Start(Rtmp(live.StreamKey));
            await WaitFor.ConditionAsync(() => registry.Find(live.Slug) is { IsCompleted: false }, Bound,
                "the third channel to go live while the platform holds the second's answer", () => livePublisher.Log.Tail(20));
            Assert.Null(registry.Find(held.Slug));

            release.SetResult();
            await WaitFor.ConditionAsync(() => registry.Find(held.Slug) is { IsCompleted: false }, Bound,
                "the held channel to go live once the platform answers", () => heldPublisher.Log.Tail(20));
        }
        finally
        {
            release.TrySetResult();
        }

        var asked = platform.Received.Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.All(asked, body => Assert.Equal("rtmp", body.GetProperty("protocol").GetString()));
        Assert.All(asked, body => Assert.Equal("127.0.0.1", body.GetProperty("clientAddress").GetString()));
        Assert.All(asked, body => Assert.StartsWith("FMLE/3.0", body.GetProperty("encoder").GetString(), StringComparison.Ordinal));
        Assert.All(platform.Received, r => Assert.Equal("/publish?token=platform-secret", r.PathAndQuery));
    }
}
