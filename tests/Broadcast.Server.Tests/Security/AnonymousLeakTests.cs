using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.Control.Recordings;
using Broadcast.Media;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Security;

/// <summary>
/// What the public endpoints tell someone without a token: /metrics names no private channel, /readyz says which
/// check failed in words and never an exception's text, and a private channel's watch page shows nothing of its
/// events or recordings before playback is authorised.
/// </summary>
public sealed class AnonymousLeakTests
{
    [Fact]
    public async Task Metrics_aggregate_private_channels_without_their_slugs()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        await CreateChannelAsync(server, "Hidden Stage", privatePlayback: true);
        await CreateChannelAsync(server, "Hidden Annex", privatePlayback: true);
        await CreateChannelAsync(server, "Open Stage", privatePlayback: false);
        var registry = server.Services.GetRequiredService<LiveStreamRegistry>();
        foreach (string slug in new[] { "hidden-stage", "hidden-annex", "open-stage" })
        {
            Assert.True(registry.TryStartPublish(slug, out var stream));
            InProcessServer.FeedVideo(stream);
        }

        string metrics = await server.Http.GetStringAsync("/metrics");
        Assert.DoesNotContain("hidden", metrics, StringComparison.Ordinal);
        Assert.Contains("broadcast_stream_video_frames_total{stream=\"open-stage\"} 10\n", metrics, StringComparison.Ordinal);
        // The private ones as one series: their sum, under a label value no slug can take.
        Assert.Contains("broadcast_stream_video_frames_total{stream=\"_private\"} 20\n", metrics, StringComparison.Ordinal);
        Assert.Contains("broadcast_streams_live 3\n", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_metrics_token_metrics_need_it()
    {
        await using var server = await InProcessServer.StartAsync("--Metrics:Token=scrape-secret");
        using (var anonymous = await server.Http.GetAsync("/metrics"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.DoesNotContain("broadcast_", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        foreach (var wrong in new[] { new AuthenticationHeaderValue("Bearer", "scrape-secre"), new AuthenticationHeaderValue("Bearer", InProcessServer.Token),
                     new AuthenticationHeaderValue("Basic", "scrape-secret") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/metrics");
            request.Headers.Authorization = wrong;
            using var refused = await server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var scrape = new HttpRequestMessage(HttpMethod.Get, "/metrics");
        scrape.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "scrape-secret");
        using var scraped = await server.Http.SendAsync(scrape);
        Assert.Equal(HttpStatusCode.OK, scraped.StatusCode);
        Assert.Contains("broadcast_streams_live 0\n", await scraped.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readyz_answers_status_words_and_never_exception_text()
    {
        await using var server = await InProcessServer.StartAsync();
        using (var ready = await server.Http.GetAsync("/readyz"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
            Assert.Equal("ready", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("ok", body.RootElement.GetProperty("checks").GetProperty("database").GetString());
            Assert.Equal("ok", body.RootElement.GetProperty("checks").GetProperty("store").GetString());
        }

        // The store's probe key becomes a folder: reading it throws an exception whose message names the data path.
        Directory.CreateDirectory(Path.Combine(StoragePath(server), "readyz-probe"));
        using var unready = await server.Http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.StatusCode);
        string text = await unready.Content.ReadAsStringAsync();
        using var json = JsonDocument.Parse(text);
        Assert.Equal("unready", json.RootElement.GetProperty("status").GetString());
        Assert.Equal("unreachable", json.RootElement.GetProperty("checks").GetProperty("store").GetString());
        Assert.Equal("ok", json.RootElement.GetProperty("checks").GetProperty("database").GetString());
        Assert.DoesNotContain("readyz-probe", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Path.GetTempPath().TrimEnd('/'), text, StringComparison.Ordinal);
        Assert.DoesNotContain("denied", text, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_private_channel_watch_page_shows_no_event_or_recording_before_playback_is_authorised()
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        string id = await CreateChannelAsync(server, "Board Room", privatePlayback: true);
        const string Title = "Acquisition of Initech";
        const string Description = "Confidential: the offer is 40 a share";
        var startsAt = DateTimeOffset.UtcNow.AddHours(3);
        using (var create = server.Authorized(HttpMethod.Post, "/api/events"))
        {
            create.Content = JsonContent.Create(new
            {
                channelId = id,
                title = Title,
                description = Description,
                startsAt = Iso(startsAt),
                endsAt = Iso(startsAt.AddHours(1)),
                record = true,
            });
            using var created = await server.Http.SendAsync(create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var recording = await server.Services.GetRequiredService<RecordingService>().AddAsync(id, null, "20260101T000000Z",
            "/live/board-room/recordings/20260101T000000Z/master.m3u8", "/live/board-room/recordings/20260101T000000Z/manifest.mpd", 60_000, 1_000);
        string[] secrets = [Title, Description, recording.Id, "20260101T000000Z", "recordings/"];

        using var anonymous = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = server.BaseAddress };
        string page = await PageAsync(anonymous, "/watch/board-room");
        string state = await PageAsync(anonymous, "/watch/board-room?handler=State");
        string asked = await PageAsync(anonymous, $"/watch/board-room?recording={recording.Id}");
        string unknown = await PageAsync(anonymous, "/watch/board-room?recording=no-such-recording");
        string forged = await PageAsync(anonymous, "/watch/board-room?token=keya.9999999999.AAAA");
        foreach (string body in new[] { page, state, asked, unknown, forged })
        {
            foreach (string secret in secrets)
            {
                Assert.DoesNotContain(secret, body, StringComparison.Ordinal);
            }
        }

        Assert.Contains("private", page, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("private", JsonDocument.Parse(state).RootElement.GetProperty("mode").GetString());
        // A real recording id and a made-up one get the same page: the page does not confirm that a recording exists.
        Assert.Equal(page, asked);
        Assert.Equal(page, unknown);

        // With a good token the viewer sees what the channel shows.
        var minted = await MintAsync(server, id, 600);
        string authorised = await PageAsync(anonymous, $"/watch/board-room?token={minted.Token}");
        Assert.Contains(Title, authorised, StringComparison.Ordinal);
        string authorisedRecording = await PageAsync(anonymous, $"/watch/board-room?recording={recording.Id}&token={minted.Token}");
        Assert.Contains("recordings/20260101T000000Z/master.m3u8", authorisedRecording, StringComparison.Ordinal);
    }

    private static async Task<string> PageAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private static string StoragePath(InProcessServer server) =>
        server.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>()["Storage:Path"]!;

    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
