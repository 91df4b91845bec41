using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Restream;

/// <summary>
/// Restreaming to two real nginx-rtmp servers started here, one reached through a TLS front (nginx stream + ssl):
/// both outputs probe as the source while the channel plays in hls.js; one destination server going away for 10 s
/// leaves the channel and the other destination alone, and the restream to it resumes by itself.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RestreamTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 20, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 300 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Restreams_to_plain_and_tls_nginx_and_survives_one_destination_going_away()
    {
        using var certDir = new TempDirectory("restream-cert");
        var (cert, key) = TestCertificate.WritePem(certDir.Path);
        var plainOptions = new NginxRtmpServerOptions();
        var tlsOptions = new NginxRtmpServerOptions { TlsCertificatePath = cert, TlsKeyPath = key };
        await using var plain = await NginxRtmpServer.StartAsync(plainOptions);
        var tls = await NginxRtmpServer.StartAsync(tlsOptions);
        try
        {
            var channel = await Server.Api.CreateChannelAsync("restream-" + Guid.NewGuid().ToString("N")[..8]);
            var plainId = await AddDestinationAsync(channel.Id, $"rtmp://127.0.0.1:{plain.RtmpPort}/live", "dest-plain", untrusted: false);
            // The TLS front has a self-signed certificate: this destination accepts it (a per-destination switch).
            var tlsId = await AddDestinationAsync(channel.Id, $"rtmps://127.0.0.1:{tls.TlsPort}/live", "dest-tls", untrusted: true);

            var clip = await TestMedia.GetClipAsync(Clip);
            await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 9);
            string Diagnostics() => fixture.WithLog($"ffmpeg:{Environment.NewLine}{publisher.Log.Tail(15)}{Environment.NewLine}" +
                $"nginx plain:{Environment.NewLine}{plain.Log.Tail(15)}{Environment.NewLine}nginx tls:{Environment.NewLine}{tls.Log.Tail(15)}");

            await WaitForStateAsync(channel.Id, plainId, "live", Diagnostics);
            await WaitForStateAsync(channel.Id, tlsId, "live", Diagnostics);
            await WaitFor.ConditionAsync(async () => await plain.IsPublishingAsync("dest-plain") && await tls.IsPublishingAsync("dest-tls"),
                TimeSpan.FromSeconds(30), "both nginx servers to list their stream as published", Diagnostics);

            // Destinations go live with the first frames; the playlists need a closed segment first.
            var master = Server.Absolute($"/live/{channel.Slug}/master.m3u8");
            await WaitFor.ConditionAsync(async () =>
            {
                using var r = await Server.Viewer.GetAsync(master);
                return r.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(40), $"GET {master} to answer 200 while publishing", Diagnostics);
            await using var player = await (await fixture.BrowserAsync()).OpenAsync(PlayerKind.Hls);
            await player.StartAsync(master.ToString());
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), Diagnostics);

            await ProbeAsync(plain.RtmpUrl("dest-plain"), Diagnostics);
            await ProbeAsync(tls.RtmpUrl("dest-tls"), Diagnostics);

            // The TLS destination's server goes away for 10 s.
            var tlsPlace = tls.SamePlace(tlsOptions);
            await tls.DisposeAsync();
            var outage = Stopwatch.StartNew();
            var plainBytesBefore = (await GetDestinationAsync(channel.Id, plainId))?["state"]?["bytesSent"]?.GetValue<long>() ?? 0;
            var playlistBefore = await LastSegmentAsync(channel.Slug);
            var playerBefore = await player.GetCurrentTimeAsync();
            await WaitForStateAsync(channel.Id, tlsId, "retrying", Diagnostics);
            var retrying = await GetDestinationAsync(channel.Id, tlsId);
            fixture.Check(!string.IsNullOrEmpty(retrying?["state"]?["lastError"]?.GetValue<string>()), $"retrying without a last error: {retrying}");
            fixture.Check(retrying?["state"]?["nextAttemptAt"] is not null, $"retrying without a next attempt time: {retrying}");

            // Through the rest of the outage the other destination stays live (bounded: one check a second).
            for (int i = 0; i < 30 && outage.Elapsed < TimeSpan.FromSeconds(10); i++)
            {
                var other = await GetDestinationAsync(channel.Id, plainId);
                fixture.Check(other?["state"]?["state"]?.GetValue<string>() == "live", $"the plain destination left 'live' during the other's outage: {other}");
                await Task.Delay(TimeSpan.FromSeconds(1));
            }

            var plainBytesAfter = (await GetDestinationAsync(channel.Id, plainId))?["state"]?["bytesSent"]?.GetValue<long>() ?? 0;
            fixture.Check(plainBytesAfter > plainBytesBefore, $"plain destination bytes did not grow during the outage: {plainBytesBefore} → {plainBytesAfter}");
            fixture.Check(await plain.IsPublishingAsync("dest-plain"), Diagnostics() + "\nthe plain nginx lost its stream during the other's outage");
            await WaitFor.ConditionAsync(async () => await LastSegmentAsync(channel.Slug) != playlistBefore, TimeSpan.FromSeconds(20),
                "the channel's playlist to keep advancing during the outage", Diagnostics);
            await player.WaitForCurrentTimeAsync(playerBefore + 8, TimeSpan.FromSeconds(30), Diagnostics);
            await ProbeAsync(plain.RtmpUrl("dest-plain"), Diagnostics);

            // Back where it was: the restream resumes by itself.
            tls = await NginxRtmpServer.StartAsync(tlsPlace);
            await WaitForStateAsync(channel.Id, tlsId, "live", Diagnostics, TimeSpan.FromSeconds(60));
            await WaitFor.ConditionAsync(() => tls.IsPublishingAsync("dest-tls"), TimeSpan.FromSeconds(30), "the restarted nginx to receive the stream again", Diagnostics);
            await ProbeAsync(tls.RtmpUrl("dest-tls"), Diagnostics);

            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
            fixture.Check(!publisher.HasExited, Diagnostics() + "\nthe publisher stopped during the test");
            var log = Server.LogTail(2000);
            fixture.Check(!log.Contains("dest-tls", StringComparison.Ordinal) && !log.Contains("dest-plain", StringComparison.Ordinal),
                "a destination stream key appears in the server log");
        }
        finally
        {
            await tls.DisposeAsync();
        }
    }

    private async Task<string> AddDestinationAsync(string channelId, string url, string streamKey, bool untrusted)
    {
        using var response = await Server.Http.PostAsJsonAsync($"api/channels/{channelId}/destinations",
            new { url, streamKey, enabled = true, allowUntrustedCertificate = untrusted });
        var body = await response.Content.ReadAsStringAsync();
        fixture.Check(response.IsSuccessStatusCode, $"POST destination {url} -> {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!["id"]!.GetValue<string>();
    }

    private async Task<JsonNode?> GetDestinationAsync(string channelId, string destinationId)
    {
        var body = await Server.Http.GetStringAsync($"api/channels/{channelId}/destinations/{destinationId}");
        return JsonNode.Parse(body);
    }

    private async Task WaitForStateAsync(string channelId, string destinationId, string state, Func<string> diagnostics, TimeSpan? timeout = null)
    {
        JsonNode? last = null;
        await WaitFor.ConditionAsync(
            async () =>
            {
                last = await GetDestinationAsync(channelId, destinationId);
                return last?["state"]?["state"]?.GetValue<string>() == state;
            },
            timeout ?? TimeSpan.FromSeconds(45),
            $"destination {destinationId} to be '{state}'",
            () => $"last: {last}{Environment.NewLine}{diagnostics()}");
    }

    /// <summary>The last segment named in the first media playlist of the channel.</summary>
    private async Task<string?> LastSegmentAsync(string slug)
    {
        var master = await Server.Viewer.GetStringAsync($"/live/{slug}/master.m3u8");
        var variant = master.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
        if (variant is null) return null;
        var media = await Server.Viewer.GetStringAsync(new Uri(Server.Absolute($"/live/{slug}/master.m3u8"), variant));
        return media.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
    }

    private async Task ProbeAsync(string url, Func<string> diagnostics)
    {
        ProbeResult probe;
        try
        {
            probe = await FfProbe.ProbeAsync(url, timeout: TimeSpan.FromSeconds(60));
        }
        catch (InvalidOperationException e)
        {
            Assert.Fail($"{e.Message}{Environment.NewLine}{diagnostics()}");
            return;
        }

        fixture.Check(probe.Video is { CodecName: "h264" } v && v.Width == Clip.Width && v.Height == Clip.Height,
            $"ffprobe {url}: video {probe.Video}, expected h264 {Clip.Width}x{Clip.Height}{Environment.NewLine}{diagnostics()}");
        fixture.Check(probe.Audio is { CodecName: "aac" }, $"ffprobe {url}: audio {probe.Audio}, expected aac");
    }
}
