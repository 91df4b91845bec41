using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Pull;

/// <summary>
/// Channels and events that pull their input from a URL, end to end on the shared server: an RTMP stream on a real nginx-rtmp,
/// an HLS playlist made by ffmpeg and served over HTTP, and a file in the media library at an event's start. Each plays in
/// hls.js through our origin. A URL that answers but is not media ends failed, once.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class PullSourceTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 10, Width = 320, Height = 240, Fps = 30, VideoBitrateKbps = 400, Container = ClipContainer.Mp4 };
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private ServerProcess Server => fixture.Server;

    /// <summary>The server's media library: Pull:MediaRoot defaults to ./data/media-library under its working directory.</summary>
    private string MediaLibrary => Directory.CreateDirectory(Path.Combine(Server.DataDirectory, "data", "media-library")).FullName;

    private Task WaitForStateAsync(string channelId, string state, string what) =>
        WaitFor.ConditionAsync(async () => PullApi.State(await PullApi.GetSourceAsync(Server, channelId)) == state, Bound, what,
            () => fixture.WithLog(""));

    [Fact]
    public async Task A_channel_pulls_an_rtmp_stream_from_nginx_rtmp_and_plays_in_hlsjs()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        await using var nginx = await NginxRtmpServer.StartAsync();
        // Loops: the remote stream outlives the probe, the pull's start and a player's join.
        await using var remote = FfmpegPublisher.Start(clip, nginx.RtmpUrl("guest"), loops: 5);
        await WaitFor.ConditionAsync(() => nginx.IsPublishingAsync("guest"), Bound, "the guest stream on nginx-rtmp", () => remote.Log.Tail(20));

        var channel = await Server.Api.CreateChannelAsync($"pull rtmp {Guid.NewGuid():N}");
        var put = await PullApi.PutSourceAsync(Server, channel.Id, nginx.RtmpUrl("guest"));
        fixture.Check(put["url"]!.GetValue<string>() == nginx.RtmpUrl("guest"), $"PUT answered {put}");
        await WaitForStateAsync(channel.Id, "live", "the rtmp pull to go live");
        var source = await PullApi.GetSourceAsync(Server, channel.Id);
        fixture.Check(source!["status"]!["source"]!.GetValue<string>() == $"rtmp://127.0.0.1:{nginx.RtmpPort}/live/…",
            $"the state shows the stream key: {source}");

        await PullApi.PlayLiveAsync(fixture, channel, Clip.Width, 6, "rtmp");
        var status = await Server.Api.GetChannelAsync(channel.Id);
        fixture.Check(status.Live == true, $"channel not online while pulling: {status}");

        // Back to push: the pull stops and the channel goes off air.
        using (var delete = await Server.Http.DeleteAsync($"api/channels/{channel.Id}/source"))
            fixture.Check(delete.StatusCode == HttpStatusCode.NoContent, $"DELETE source -> {(int)delete.StatusCode}");
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live != true, Bound, "the channel off air after DELETE",
            () => fixture.WithLog(""));
        fixture.Check(await PullApi.GetSourceAsync(Server, channel.Id) is null, "GET source still answers after DELETE");
    }

    [Fact]
    public async Task A_channel_pulls_an_hls_playlist_and_plays_in_hlsjs_while_a_text_url_ends_failed_once()
    {
        var clip = await TestMedia.GetClipAsync(Clip);
        using var folder = new TempDirectory("pull-hls");
        var hlsDir = Directory.CreateDirectory(Path.Combine(folder.Path, "hls")).FullName;
        var made = await ExternalProcess.RunAsync("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-i", clip, "-c", "copy",
            "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod", "-hls_segment_filename", Path.Combine(hlsDir, "seg%03d.ts"),
            Path.Combine(hlsDir, "index.m3u8")], TimeSpan.FromSeconds(60));
        Assert.True(made.ExitCode == 0, $"ffmpeg could not write the HLS fixture: {made}");
        File.WriteAllText(Path.Combine(folder.Path, "notes.txt"), "Agenda: 1. welcome 2. keynote 3. questions\n");
        await using var http = await StaticFileServer.StartAsync(new Dictionary<string, string> { [""] = folder.Path });

        // The text URL first: it has the whole HLS part of this test to prove it does not come back.
        var textChannel = await Server.Api.CreateChannelAsync($"pull text {Guid.NewGuid():N}");
        await PullApi.PutSourceAsync(Server, textChannel.Id, http.Url("notes.txt").ToString());
        await WaitForStateAsync(textChannel.Id, "failed", "the text source to fail");
        var failed = (await PullApi.GetSourceAsync(Server, textChannel.Id))!["status"]!;

        var channel = await Server.Api.CreateChannelAsync($"pull hls {Guid.NewGuid():N}");
        await PullApi.PutSourceAsync(Server, channel.Id, http.Url("hls/index.m3u8").ToString());
        await WaitForStateAsync(channel.Id, "live", "the HLS pull to go live");
        await PullApi.PlayLiveAsync(fixture, channel, Clip.Width, 4, "hls");

        var after = (await PullApi.GetSourceAsync(Server, textChannel.Id))!["status"]!;
        fixture.Check(after["state"]!.GetValue<string>() == "failed"
            && after["reason"]!.GetValue<string>() == "not a media stream: ffmpeg says \"Invalid data found when processing input\""
            && after["attempts"]!.GetValue<int>() == 1
            && after["since"]!.GetValue<DateTimeOffset>() == failed["since"]!.GetValue<DateTimeOffset>(),
            $"the text source did not stay failed after one attempt: first {failed}, now {after}");
        fixture.Check((await Server.Api.GetChannelAsync(textChannel.Id)).Live != true, "the text channel went online");
        var failures = Server.Log.Tail(5000).Split('\n').Count(l => l.Contains($"into {textChannel.Slug} failed and will not be retried", StringComparison.Ordinal));
        fixture.Check(failures == 1, $"the text source failed {failures} times, expected once");
    }

    [Fact]
    public async Task An_event_premieres_a_file_at_its_start_and_stops_at_its_end()
    {
        File.Copy(await TestMedia.GetClipAsync(Clip), Path.Combine(MediaLibrary, "premiere.mp4"), overwrite: true);
        var channel = await Server.Api.CreateChannelAsync($"pull premiere {Guid.NewGuid():N}");
        var now = DateTimeOffset.UtcNow;
        var startsAt = now.AddSeconds(8);
        var endsAt = now.AddSeconds(28);
        using var created = await Server.Http.PostAsJsonAsync("api/events", new
        {
            channelId = channel.Id,
            title = "Premiere",
            startsAt = startsAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            endsAt = endsAt.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            pullSource = new { url = "file:premiere.mp4", loop = true },
        });
        var body = await created.Content.ReadAsStringAsync();
        fixture.Check(created.StatusCode == HttpStatusCode.Created, $"POST /api/events -> {(int)created.StatusCode}: {body}");
        var ev = JsonNode.Parse(body)!;
        var id = ev["id"]!.GetValue<string>();
        fixture.Check(ev["pullSource"]?["url"]?.GetValue<string>() == "file:premiere.mp4", $"the event does not name its source: {ev}");
        fixture.Check((await Server.Api.GetChannelAsync(channel.Id)).Live != true, "the channel is on air before the event's start");

        // Live from the start (not before), through the scheduled trigger.
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live == true, Bound, "the premiere to go on air",
            () => fixture.WithLog(""));
        var wentLive = DateTimeOffset.UtcNow;
        fixture.Check(wentLive >= startsAt, $"on air at {wentLive:O}, before the start {startsAt:O}");
        await WaitFor.ConditionAsync(async () => (await PullApi.GetEventAsync(Server, id))["state"]!.GetValue<string>() == "live", Bound,
            "the event to be live", () => fixture.WithLog(""));
        var live = await PullApi.GetEventAsync(Server, id);
        fixture.Check(live["pullSource"]?["status"]?["state"]?.GetValue<string>() == "live", $"the event's pull is not live: {live}");

        await PullApi.PlayLiveAsync(fixture, channel, Clip.Width, 6, "premiere");

        // At the end the event ends, the pull stops for good and the playlists close.
        await WaitFor.ConditionAsync(async () => (await PullApi.GetEventAsync(Server, id))["state"]!.GetValue<string>() == "ended", Bound,
            "the event to end", () => fixture.WithLog(""));
        await WaitFor.ConditionAsync(async () => (await Server.Api.GetChannelAsync(channel.Id)).Live != true, Bound, "the premiere off air at the end",
            () => fixture.WithLog(""));
        fixture.Check(DateTimeOffset.UtcNow >= endsAt, "off air before the event's end");
        var master = Server.Absolute($"/live/{channel.Slug}/master.m3u8");
        var text = await Server.Viewer.GetStringAsync(master);
        var media = text.Split('\n').Select(l => l.Trim()).First(l => l.Length > 0 && !l.StartsWith('#'));
        await WaitFor.ConditionAsync(async () => (await Server.Viewer.GetStringAsync(new Uri(master, media))).Contains("#EXT-X-ENDLIST", StringComparison.Ordinal),
            Bound, "the live playlist to end", () => fixture.WithLog(""));
    }

    [Fact]
    public async Task Bad_source_urls_are_refused_naming_the_field()
    {
        var channel = await Server.Api.CreateChannelAsync($"pull bad {Guid.NewGuid():N}");
        // The last two: refused by the outbound policy although this server allows loopback (a listener is never allowed; the cloud
        // metadata range is not allow-listed). Nothing is connected to.
        foreach (var url in new[] { "ftp://example.com/a.mp4", "file:../../etc/passwd", "srt://host", "", "srt://127.0.0.1:9000?mode=listener",
            "http://169.254.169.254/latest/meta-data/" })
        {
            using var response = await Server.Http.PutAsJsonAsync($"api/channels/{channel.Id}/source", new { url });
            var body = await response.Content.ReadAsStringAsync();
            fixture.Check(response.StatusCode == HttpStatusCode.BadRequest && response.Content.Headers.ContentType?.MediaType == "application/problem+json"
                && JsonNode.Parse(body)!["errors"]?["url"] is not null, $"PUT source '{url}' -> {(int)response.StatusCode}: {body}");
        }

        using var ev = await Server.Http.PostAsJsonAsync("api/events", new
        {
            channelId = channel.Id,
            title = "Bad premiere",
            startsAt = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            endsAt = DateTimeOffset.UtcNow.AddHours(2).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            pullSource = new { url = "gopher://old.example.com/clip" },
        });
        var evBody = await ev.Content.ReadAsStringAsync();
        fixture.Check(ev.StatusCode == HttpStatusCode.BadRequest && JsonNode.Parse(evBody)!["errors"]?["pullSource.url"] is not null,
            $"POST event with a gopher source -> {(int)ev.StatusCode}: {evBody}");
        using var list = await Server.Http.GetAsync($"api/events?channelId={channel.Id}");
        fixture.Check((await list.Content.ReadAsStringAsync()).Trim() == "[]", "a refused event was stored");
    }
}

/// <summary>The dashboard's pull-source editor on the shared server: a bad URL is refused next to its field, a file pulls and shows its state.</summary>
[Collection(ServerCollection.Name)]
public sealed class PullSourceDashboardTests(ServerFixture fixture)
{
    [Fact]
    public async Task The_channel_page_sets_shows_and_removes_a_pull_source()
    {
        var server = fixture.Server;
        var library = Directory.CreateDirectory(Path.Combine(server.DataDirectory, "data", "media-library")).FullName;
        File.Copy(await TestMedia.GetClipAsync(new ClipSpec { Seconds = 10, Width = 320, Height = 240, Container = ClipContainer.Mp4 }),
            Path.Combine(library, "dashboard.mp4"), overwrite: true);
        var channel = await server.Api.CreateChannelAsync($"pull dashboard {Guid.NewGuid():N}");
        await using var session = await Dashboard.DashboardSession.SignInAsync(await fixture.BrowserAsync(), server);
        var page = session.Page;
        try
        {
            await session.GotoAsync($"/dashboard/channels/{channel.Id}");
            fixture.Check((await page.InnerTextAsync("#pull-source-card")).Contains("A publisher (RTMP push)", StringComparison.Ordinal), "the card does not say push");
            await page.ClickAsync("#pull-source-link");

            await page.FillAsync("#SourceUrl", "ftp://example.com/a.mp4");
            await page.ClickAsync("#pull-source-form button[type=submit]");
            var error = await page.InnerTextAsync("#url-error");
            fixture.Check(error.Contains("'ftp' is not supported", StringComparison.Ordinal), $"no field error for ftp: '{error}'");

            await page.FillAsync("#SourceUrl", "file:dashboard.mp4");
            await page.CheckAsync("input[name=Loop]");
            await page.ClickAsync("#pull-source-form button[type=submit]");
            await WaitFor.ConditionAsync(async () =>
            {
                await page.ReloadAsync();
                return await page.Locator("#pull-state").CountAsync() > 0 && (await page.TextContentAsync("#pull-state"))?.Trim() == "live";
            }, TimeSpan.FromSeconds(60), "the dashboard to show the pull live", () => fixture.WithLog(session.Console));

            await session.GotoAsync($"/dashboard/channels/{channel.Id}");
            var card = await page.TextContentAsync("#pull-source-card") ?? "";
            fixture.Check(card.Contains("file:dashboard.mp4 (loop)", StringComparison.Ordinal) && card.Contains("live", StringComparison.Ordinal), $"card: {card}");

            await page.ClickAsync("#pull-source-link");
            await page.ClickAsync("form[action*=Remove] button");
            await WaitFor.ConditionAsync(async () => (await server.Api.GetChannelAsync(channel.Id)).Live != true, TimeSpan.FromSeconds(60),
                "the channel off air after removing its source", () => fixture.WithLog(""));

            // The event form takes a source too: refused next to its field, then stored with the event.
            var start = DateTime.UtcNow.AddDays(3);
            await session.GotoAsync($"/dashboard/events?channel={channel.Id}");
            await page.SelectOptionAsync("#Input_ChannelId", channel.Id);
            await page.FillAsync("#Input_Title", "Dashboard premiere");
            await page.FillAsync("#Input_StartsAt", start.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
            await page.FillAsync("#Input_EndsAt", start.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
            await page.FillAsync("#Input_PullSourceUrl", "file:../outside.mp4");
            await page.ClickAsync("#create-event button[type=submit]");
            var fieldError = await page.TextContentAsync("[data-valmsg-for='Input.PullSourceUrl']") ?? "";
            fixture.Check(fieldError.Contains("'..'", StringComparison.Ordinal), $"no field error for a path leaving the library: '{fieldError}'");
            await page.FillAsync("#Input_PullSourceUrl", "file:dashboard.mp4");
            await page.ClickAsync("#create-event button[type=submit]");
            await PageNavigation.WaitForUrlAsync(page, url => url.Contains("week=", StringComparison.Ordinal), "the week's events after the form");
            using var events = await server.Http.GetAsync($"api/events?channelId={channel.Id}");
            var list = JsonNode.Parse(await events.Content.ReadAsStringAsync())!.AsArray();
            fixture.Check(list.Count == 1, $"events after the form: {list}");
            var ev = await PullApi.GetEventAsync(server, list[0]!["id"]!.GetValue<string>());
            fixture.Check(ev["pullSource"]?["url"]?.GetValue<string>() == "file:dashboard.mp4", $"the event from the form has no source: {ev}");
        }
        catch
        {
            await session.ScreenshotAsync("pull-dashboard.png");
            throw;
        }
    }
}
