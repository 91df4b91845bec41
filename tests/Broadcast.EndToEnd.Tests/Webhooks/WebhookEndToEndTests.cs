using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.TestSupport;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;

namespace Broadcast.EndToEnd.Tests.Webhooks;

/// <summary>
/// A platform's webhook receiver (a small HTTP server on loopback, allowed by the operator) hears one recorded broadcast
/// from a real encoder: ffmpeg publishes, is killed (a dropped connection) and publishes again within the reconnect grace,
/// is killed for good, and the grace runs out; then a clip is cut from the recording. The receiver gets
/// <c>broadcast.started</c>, <c>reconnecting</c>, <c>resumed</c>, <c>ended</c>, <c>recording.ready</c> and <c>clip.ready</c> in
/// that order, each one's signature verified with the StandardWebhooks package and the secret the API showed once.
/// </summary>
public sealed class WebhookEndToEndTests
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    [Fact]
    public async Task A_broadcast_with_a_drop_and_a_reconnect_reaches_the_receiver_signed_and_in_order()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        await using var receiver = await LoopbackHttpEndpoint.StartAsync();
        receiver.Answer(204);
        await using var server = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Transcode:Enabled=false", "--Packager:RecordByDefault=true", "--Ingest:ReconnectGraceSeconds=8",
                // The platform's receiver is on loopback here: allowed as an operator would, not by weakening the default.
                "--Outbound:AllowedNetworks=127.0.0.1/32",
            ],
        });
        string Log(string m) => $"{m}{Environment.NewLine}--- server log tail ---{Environment.NewLine}{server.LogTail(60)}";

        using var registered = await server.Http.PostAsJsonAsync("api/webhooks",
            new { url = receiver.Url("hooks").ToString(), description = "platform", enabled = true });
        string registration = await registered.Content.ReadAsStringAsync();
        Assert.True(registered.StatusCode == HttpStatusCode.Created, Log($"POST /api/webhooks answered {(int)registered.StatusCode}: {registration}"));
        string secret = JsonDocument.Parse(registration).RootElement.GetProperty("secret").GetString()!;

        var channel = await server.Api.CreateChannelAsync($"hooks {Guid.NewGuid():N}");
        List<(string Type, JsonElement Data)> Heard() => [.. receiver.Received
            .Select(r => JsonDocument.Parse(r.BodyText).RootElement)
            .Where(e => e.GetProperty("data").TryGetProperty("channelId", out var id) && id.GetString() == channel.Id)
            .Select(e => (e.GetProperty("type").GetString()!, e.GetProperty("data").Clone()))];
        string HeardTypes() => string.Join(", ", Heard().Select(h => h.Type));
        Task HearAsync(string type, Func<string> diagnostics) => WaitFor.ConditionAsync(() => Heard().Any(h => h.Type == type), TimeSpan.FromSeconds(90),
            $"the receiver to hear {type}", () => Log($"heard so far: {HeardTypes()}{Environment.NewLine}{diagnostics()}"));

        async Task<int> SegmentsAsync()
        {
            using var r = await server.Viewer.GetAsync($"live/{channel.Slug}/source/index.m3u8");
            return r.IsSuccessStatusCode ? (await r.Content.ReadAsStringAsync()).Split("#EXTINF:").Length - 1 : 0;
        }

        Task SegmentsReachAsync(int count, RtmpPublisher publisher) => WaitFor.ConditionAsync(async () => await SegmentsAsync() >= count,
            TimeSpan.FromSeconds(60), $"{count} segments in the live playlist", () => Log(publisher.Log.Tail(15)));

        await using (var first = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 5))
        {
            await HearAsync("broadcast.started", () => first.Log.Tail(15));
            await SegmentsReachAsync(2, first);
            first.Stop();
            await HearAsync("broadcast.reconnecting", () => "");
        }

        await using (var second = FfmpegPublisher.Start(clip, server.RtmpUrl(channel.StreamKey), loops: 5))
        {
            await HearAsync("broadcast.resumed", () => second.Log.Tail(15));
            // Some seconds of the resumed broadcast reach the recording before the encoder goes for good.
            int before = await SegmentsAsync();
            await SegmentsReachAsync(before + 3, second);
            second.Stop();
        }

        // The grace (8 s) runs out: the broadcast ends and its recording is stored.
        await HearAsync("broadcast.ended", () => "");
        await HearAsync("recording.ready", () => "");
        string recordingId = Heard().First(h => h.Type == "recording.ready").Data.GetProperty("recordingId").GetString()!;
        using (var cut = await server.Http.PostAsJsonAsync($"api/channels/{channel.Id}/clips", new { from = -4, to = -1, title = "hooked", recordingId }))
        {
            Assert.True(cut.StatusCode == HttpStatusCode.Created, Log($"POST clips answered {(int)cut.StatusCode}: {await cut.Content.ReadAsStringAsync()}"));
        }

        await HearAsync("clip.ready", () => "");
        // The encoder came in over RTMP, and the broadcast says so.
        Assert.Equal("rtmp", Heard().First(h => h.Type == "broadcast.started").Data.GetProperty("protocol").GetString());
        var lifecycle = Heard().Select(h => h.Type).Where(t => t.StartsWith("broadcast.", StringComparison.Ordinal) || t.EndsWith(".ready", StringComparison.Ordinal))
            .Distinct().ToArray();
        Assert.True(lifecycle.SequenceEqual(["broadcast.started", "broadcast.reconnecting", "broadcast.resumed", "broadcast.ended", "recording.ready", "clip.ready"]),
            Log($"heard in this order: {HeardTypes()}"));

        // Every request the receiver got (the channel's creation too) verifies with the secret shown once; a changed body does not.
        var webhook = new StandardWebhook(secret);
        foreach (var request in receiver.Received)
        {
            var headers = new HeaderDictionary();
            foreach (var (name, value) in request.Headers) headers[name] = value;
            webhook.Verify(request.BodyText, headers);
            Assert.Equal(request.Headers["webhook-id"], JsonDocument.Parse(request.BodyText).RootElement.GetProperty("id").GetString());
        }

        var last = receiver.Received[^1];
        var lastHeaders = new HeaderDictionary();
        foreach (var (name, value) in last.Headers) lastHeaders[name] = value;
        Assert.ThrowsAny<Exception>(() => webhook.Verify(last.BodyText.Replace(channel.Id, "another-channel", StringComparison.Ordinal), lastHeaders));
    }
}
