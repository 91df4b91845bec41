using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Dashboard;

/// <summary>
/// The public watch page through a scheduled event's life: a countdown before it, the live player during it,
/// "ended" with the recording after it, and the recording playing; the dashboard lists the recording with a play link.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class WatchPageBrowserTests(ServerFixture fixture)
{
    private static readonly ClipSpec Clip = new() { Seconds = 16, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 600 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Watch_page_counts_down_then_shows_ended_with_a_recording_that_plays()
    {
        // Everything slow (clip, browser) first: the event's times below are tight.
        var clip = await TestMedia.GetClipAsync(Clip);
        var browser = await fixture.BrowserAsync();
        var channel = await Server.Api.CreateChannelAsync($"watch {Guid.NewGuid():N}");
        // The publish window opens 15 min before the start, so the encoder may connect at once; the event ends the broadcast.
        var startsAt = DateTimeOffset.UtcNow.AddSeconds(20);
        var endsAt = startsAt.AddSeconds(8);
        var title = $"Match day {Guid.NewGuid().ToString("N")[..6]}";
        using (var r = await Server.Http.PostAsJsonAsync("api/events", new { channelId = channel.Id, title, startsAt = Iso(startsAt), endsAt = Iso(endsAt), record = true }))
        {
            Assert.True(r.IsSuccessStatusCode, fixture.WithLog($"POST /api/events answered {(int)r.StatusCode}: {await r.Content.ReadAsStringAsync()}"));
        }

        var page = await browser.NewPageAsync();
        try
        {
            await page.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}").ToString());
            Assert.Equal("Upcoming", (await page.TextContentAsync("#watch-badge"))!.Trim());
            Assert.Contains(title, await page.TextContentAsync("h1") ?? "", StringComparison.Ordinal);
            await page.WaitForFunctionAsync("() => /^\\d\\d:\\d\\d:\\d\\d$/.test(document.getElementById('countdown').textContent)");
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardSession.ArtifactsDirectory, "watch-countdown.png") });

            await using var publisher = FfmpegPublisher.Start(clip, Server.RtmpUrl(channel.StreamKey), loops: 3);

            // The encoder connects before the start (the window opens 15 min early): the page turns into the player.
            // The page reloads itself when the channel's state changes, so poll across navigations.
            await WaitInPageAsync(page, "the watch page to turn live and play",
                "() => document.getElementById('watch-badge').textContent.trim() === 'LIVE' && !!window.__watch && window.__watch.video.currentTime > 0",
                publisher);
            // The page's hls.js reports its playback with every request (CMCD): the channel's live status carries the report.
            JsonElement quality = default;
            await WaitFor.ConditionAsync(async () =>
            {
                using var doc = JsonDocument.Parse(await Server.Http.GetStringAsync($"api/channels/{channel.Id}"));
                if (!doc.RootElement.GetProperty("live").TryGetProperty("quality", out var q) || q.ValueKind != JsonValueKind.Object) return false;
                quality = q.Clone();
                return q.GetProperty("sessions").GetInt32() >= 1 && q.GetProperty("meanBitrateKbps").GetInt32() > 0;
            }, TimeSpan.FromSeconds(30), "the channel's live status to carry the watch page's CMCD report",
                () => fixture.WithLog($"quality: {(quality.ValueKind == JsonValueKind.Undefined ? "none" : quality.GetRawText())}"));
            Assert.True(quality.GetProperty("medianStartupMs").GetInt32() >= 0, quality.GetRawText());

            // A link preview of the live page shows the channel's live thumbnail (absolute URL, public channel).
            var preview = await page.GetAttributeAsync("meta[property='og:image']", "content");
            Assert.EndsWith($"/live/{channel.Slug}/thumbnail.jpg", preview ?? "", StringComparison.Ordinal);
            Assert.True(Uri.TryCreate(preview, UriKind.Absolute, out _), $"og:image is not absolute: {preview}");

            // After the end: "ended", with a link to the recording once it is finalised.
            await WaitFor.ConditionAsync(
                async () => (await Server.Viewer.GetStringAsync($"watch/{channel.Slug}")).Contains("id=\"watch-recording\"", StringComparison.Ordinal),
                TimeSpan.FromSeconds(90), "the watch page to offer the recording",
                () => fixture.WithLog($"publisher:{Environment.NewLine}{publisher.Log.Tail(15)}"));
            await page.GotoAsync(new Uri(Server.BaseUri, $"watch/{channel.Slug}").ToString());
            Assert.Equal("Ended", (await page.TextContentAsync("#watch-badge"))!.Trim());
            Assert.Contains("This broadcast has ended", await page.TextContentAsync(".watch-card") ?? "", StringComparison.Ordinal);
            await page.ScreenshotAsync(new() { Path = Path.Combine(DashboardSession.ArtifactsDirectory, "watch-ended.png") });

            await page.ClickAsync("#watch-recording");
            await page.WaitForFunctionAsync("() => window.__watch && window.__watch.video.currentTime > 1", null, new() { Timeout = 60_000 });
            Assert.Equal("Recording", (await page.TextContentAsync("#watch-badge"))!.Trim());

            // The recording keeps the broadcast's last thumbnail as its poster.
            var poster = await page.GetAttributeAsync("#player", "poster");
            Assert.Matches($"^/live/{channel.Slug}/recordings/[^/]+/poster\\.jpg$", poster ?? "");
            using var posterResponse = await Server.Viewer.GetAsync(poster!.TrimStart('/'));
            Assert.Equal(System.Net.HttpStatusCode.OK, posterResponse.StatusCode);
            Assert.Equal("image/jpeg", posterResponse.Content.Headers.ContentType?.MediaType);
        }
        finally
        {
            await page.CloseAsync();
        }

        // The dashboard lists it with a play link to the same page.
        await using var session = await DashboardSession.SignInAsync(browser, Server);
        await session.GotoAsync("/dashboard/recordings");
        var row = session.Page.Locator("#recordings tr", new() { HasText = title });
        Assert.Equal(1, await row.CountAsync());
        var href = await row.Locator("a", new() { HasText = "Play" }).GetAttributeAsync("href");
        Assert.StartsWith($"/watch/{channel.Slug}?recording=", href, StringComparison.Ordinal);
        await session.ScreenshotAsync("dashboard-recordings.png");
    }

    private async Task WaitInPageAsync(Microsoft.Playwright.IPage page, string what, string predicate, RtmpPublisher publisher)
        => await WaitFor.ConditionAsync(
            async () =>
            {
                try
                {
                    return await page.EvaluateAsync<bool>(predicate);
                }
                catch (Microsoft.Playwright.PlaywrightException)
                {
                    return false; // navigating: the next look sees the new page
                }
            },
            TimeSpan.FromSeconds(60), what,
            () => fixture.WithLog($"url: {page.Url}{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}"),
            TimeSpan.FromMilliseconds(300));

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
