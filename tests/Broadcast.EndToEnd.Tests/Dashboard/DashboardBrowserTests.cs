using System.Globalization;
using System.Text.RegularExpressions;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Dashboard;

/// <summary>
/// The dashboard in Debian's Chromium against the real server: an admin signs in, creates a channel, schedules an
/// event, reveals the key, an encoder (ffmpeg) publishes with it, and the channel page shows LIVE, the bitrate the
/// encoder sends and a moving preview. Forms reject invalid input next to the field and save nothing.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed partial class DashboardBrowserTests(ServerFixture fixture)
{
    /// <summary>Rate-capped (maxrate = bitrate) so the per-second ingest bitrate stays near the clip's average.</summary>
    private static readonly ClipSpec Clip = new() { Seconds = 20, Width = 640, Height = 360, Fps = 30, VideoBitrateKbps = 800 };

    private ServerProcess Server => fixture.Server;

    [Fact]
    public async Task Admin_signs_in_creates_a_channel_schedules_an_event_reveals_the_key_and_sees_the_encoder_live()
    {
        var clipTask = TestMedia.GetClipAsync(Clip);
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, Server);
        var page = session.Page;

        // Create a channel through the form.
        var name = $"Main stage {Guid.NewGuid().ToString("N")[..6]}";
        await page.FillAsync("#Input_Name", name);
        await page.ClickAsync("#create-channel button[type=submit]");
        await PageNavigation.WaitForUrlAsync(page, ChannelPage(), "the new channel's page");
        var channelId = ChannelPage().Match(page.Url).Groups[1].Value;
        Assert.StartsWith(name, (await page.TextContentAsync("h1"))!.Trim(), StringComparison.Ordinal);
        var rtmpUrl = await page.InputValueAsync("#rtmp-url");
        Assert.Equal($"rtmp://127.0.0.1:{Server.RtmpPort}/live", rtmpUrl);

        // The key is masked until revealed; the reveal shows the full key, which is what the encoder needs.
        var masked = await page.InputValueAsync("#stream-key");
        Assert.Contains("*", masked, StringComparison.Ordinal);
        await page.ClickAsync("#reveal-key");
        await page.WaitForFunctionAsync("() => !document.getElementById('stream-key').value.includes('*')");
        var key = await page.InputValueAsync("#stream-key");
        Assert.Matches("^live_[a-z2-7]{26}$", key);
        Assert.EndsWith(masked[^4..], key, StringComparison.Ordinal);
        // SRT is on in the shared server: its URL carries the key in the stream id, and the reveal fills in the real one.
        Assert.Equal($"srt://127.0.0.1:{fixture.SrtPort}?streamid=#!::r=live/{key},m=publish", await page.InputValueAsync("#srt-url"));

        // Schedule an event on it; it shows up in the upcoming list and the week view.
        await session.GotoAsync($"/dashboard/events?channel={channelId}");
        Assert.Equal(channelId, await page.InputValueAsync("#Input_ChannelId"));
        var title = $"Keynote {Guid.NewGuid().ToString("N")[..6]}";
        await page.FillAsync("#Input_Title", title);
        await page.ClickAsync("#create-event button[type=submit]");
        await PageNavigation.WaitForUrlAsync(page, new Regex(@"/dashboard/events\?week=\d{4}-\d{2}-\d{2}$"), "the week's events after the form");
        Assert.Contains(title, await page.TextContentAsync("#upcoming") ?? "", StringComparison.Ordinal);
        Assert.Contains(title, await page.TextContentAsync("#week") ?? "", StringComparison.Ordinal);
        await session.ScreenshotAsync("dashboard-events.png");

        // A rewind window of 10 minutes (from the next broadcast: this one), so the marks below stay in the live playlist.
        await session.GotoAsync($"/dashboard/channels/{channelId}");
        await page.FillAsync("#rewind-minutes", "10");
        await page.ClickAsync("#rewind-save");
        await page.WaitForFunctionAsync("() => document.getElementById('rewind-state').textContent.includes('10 min')");
        // Protection is chosen on the page too (docs/protection.md): cbcs, then back to none before this broadcast, which is clipped below.
        await page.SelectOptionAsync("#protection-select", "cbcs");
        await page.ClickAsync("#protection-save");
        await page.WaitForFunctionAsync("() => document.getElementById('protection-state').textContent.includes('Encrypted (cbcs')");
        Assert.Equal("cbcs", await page.InputValueAsync("#protection-select"));
        await page.SelectOptionAsync("#protection-select", "none");
        await page.ClickAsync("#protection-save");
        await page.WaitForFunctionAsync("() => document.getElementById('protection-state').textContent.includes('Not encrypted')");

        // Publish with the revealed key, as an encoder operator would.
        var clip = await clipTask;
        var sourceBitrate = await SourceBitrateAsync(clip);
        await using var publisher = FfmpegPublisher.Start(clip, $"{rtmpUrl}/{key}", loops: 3);
        await session.GotoAsync($"/dashboard/channels/{channelId}");

        await WaitAsync(session, "the LIVE badge", "() => document.getElementById('live-badge').textContent.trim() === 'LIVE'", TimeSpan.FromSeconds(60), publisher);
        // The shown ingest bitrate is the encoder's within ±20% (it is measured over the last seconds; wait for it to settle).
        var low = (long)(sourceBitrate * 0.8);
        var high = (long)(sourceBitrate * 1.2);
        await WaitAsync(session, $"a bitrate within ±20% of the source's {sourceBitrate} b/s",
            string.Create(CultureInfo.InvariantCulture, $"() => {{ const b = Number(document.getElementById('stat-bitrate').dataset.bps); return b >= {low} && b <= {high}; }}"),
            TimeSpan.FromSeconds(60), publisher);
        var shown = long.Parse(await page.GetAttributeAsync("#stat-bitrate", "data-bps") ?? "0", CultureInfo.InvariantCulture);
        Assert.InRange(shown, low, high);
        Assert.Matches(@"^\d+(\.\d+)? (kb|Mb)/s$", (await page.TextContentAsync("#stat-bitrate"))!.Trim());
        Assert.Equal("640×360", (await page.TextContentAsync("#fact-resolution"))!.Trim());

        // The preview (hls.js served by the app) plays and its clock advances.
        await WaitAsync(session, "the preview to start", "() => window.__preview.currentTime > 0", TimeSpan.FromSeconds(60), publisher);
        var t0 = await page.EvaluateAsync<double>("() => window.__preview.currentTime");
        await WaitAsync(session, "the preview's currentTime to advance 3 s",
            string.Create(CultureInfo.InvariantCulture, $"() => window.__preview.currentTime >= {t0 + 3}"), TimeSpan.FromSeconds(60), publisher);

        // The charts have points pushed over SignalR, and the advice is in words.
        await WaitAsync(session, "the bitrate chart to draw", "() => document.querySelectorAll('#chart-bitrate canvas').length > 0", TimeSpan.FromSeconds(10), publisher);
        Assert.NotEmpty((await page.TextContentAsync("#advice"))!.Trim());

        await session.ScreenshotAsync("dashboard-live-channel.png");
        Assert.True(File.Exists(Path.Combine(DashboardSession.ArtifactsDirectory, "dashboard-live-channel.png")));

        var slug = (await page.TextContentAsync(".crumbs .mono"))!.Trim();

        // A producer clips from the preview: mark in, two seconds of program later mark out, a title, and the clip is made.
        await page.ClickAsync("#clip-mark-in");
        var markedIn = await page.InputValueAsync("#clip-from");
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$", markedIn);
        await WaitAsync(session, "two seconds of program after the mark in",
            $"() => window.__preview.playingDate && Date.parse(window.__preview.playingDate) - Date.parse('{markedIn}') >= 2000",
            TimeSpan.FromSeconds(30), publisher);
        await page.ClickAsync("#clip-mark-out");
        Assert.True(await page.IsEnabledAsync("#clip-save"), session.Describe("Make clip stays disabled after mark in and out"));
        await page.FillAsync("#clip-title", "The goal");
        await page.ClickAsync("#clip-save");
        // The form posts back to this same page: wait for the answer's flash, not for an address the tab already has.
        await page.Locator(".flash", new() { HasText = "Clip \"The goal\"" }).WaitForAsync();
        var flash = (await page.TextContentAsync(".flash"))?.Trim() ?? "";
        Assert.True(flash.StartsWith("Clip \"The goal\" made", StringComparison.Ordinal), session.Describe(flash));
        await session.GotoAsync($"/dashboard/channels/{channelId}/clips");
        Assert.Equal("The goal", await page.InputValueAsync("#clips tbody tr input[name=title]"));
        Assert.Contains($"/watch/{slug}?clip=", await page.InputValueAsync("#clips tbody tr input.mono"), StringComparison.Ordinal);
        // The share link's Copy answers (the clipboard, or the hint to press Ctrl+C where headless has none). The answer
        // comes once the clipboard call settles and lasts 1.5 s; the label it keeps (data-label) says it came.
        await page.ClickAsync("#clips tbody tr [data-copy]");
        await WaitAsync(session, "the Copy button's answer",
            "() => { const b = document.querySelector('#clips tbody tr [data-copy]'); " +
            "return b && (['Copied', 'Press Ctrl+C'].includes(b.textContent.trim()) || b.dataset.label !== undefined); }",
            TimeSpan.FromSeconds(10), publisher);
        // The MP4, made in the background, becomes a download link without a reload.
        await WaitAsync(session, "the clip's MP4 download link", "() => !!document.querySelector('#clips [data-clip-download]')",
            TimeSpan.FromSeconds(90), publisher);
        Assert.Matches(@"^/api/channels/[^/]+/clips/[^/]+/download$", await page.GetAttributeAsync("#clips [data-clip-download]", "href"));
        await session.ScreenshotAsync("dashboard-clips.png");

        // The channel list shows it live too.
        await session.GotoAsync("/dashboard");
        await WaitAsync(session, "the list's LIVE badge",
            $"() => (document.querySelector('tr[data-channel-id=\"{channelId}\"] [data-field=status]')?.textContent || '').includes('LIVE')", TimeSpan.FromSeconds(20), publisher);
        await session.ScreenshotAsync("dashboard-channels.png");

        // And so does the public watch page.
        await session.GotoAsync($"/watch/{slug}");
        Assert.Equal("LIVE", (await page.TextContentAsync("#watch-badge"))!.Trim());
        await WaitAsync(session, "the watch page to play", "() => window.__watch && window.__watch.video.currentTime > 0", TimeSpan.FromSeconds(60), publisher);
        await session.ScreenshotAsync("watch-live.png");
    }

    [Fact]
    public async Task Invalid_form_input_shows_the_field_error_and_saves_nothing()
    {
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, Server);
        var page = session.Page;

        // Channel form: an empty name.
        var before = await ChannelCountAsync();
        await page.FillAsync("#Input_Name", "   ");
        await page.ClickAsync("#create-channel button[type=submit]");
        await page.WaitForSelectorAsync("span[data-valmsg-for='Input.Name'].field-validation-error");
        Assert.Equal("The name is required.", (await page.TextContentAsync("span[data-valmsg-for='Input.Name']"))!.Trim());
        Assert.Contains("input-validation-error", await page.GetAttributeAsync("#Input_Name", "class") ?? "", StringComparison.Ordinal);
        Assert.Equal(before, await ChannelCountAsync());

        // Event form: no title, and an end before the start.
        var channel = await Server.Api.CreateChannelAsync($"forms {Guid.NewGuid():N}");
        await session.GotoAsync($"/dashboard/events?channel={channel.Id}");
        var upcomingBefore = await page.Locator("#upcoming tbody tr").CountAsync();
        var start = DateTime.UtcNow.AddDays(2);
        await page.FillAsync("#Input_Title", "");
        await page.FillAsync("#Input_StartsAt", start.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        await page.FillAsync("#Input_EndsAt", start.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture));
        await page.ClickAsync("#create-event button[type=submit]");
        await page.WaitForSelectorAsync("span[data-valmsg-for='Input.Title'].field-validation-error");
        Assert.Equal("The title is required.", (await page.TextContentAsync("span[data-valmsg-for='Input.Title']"))!.Trim());
        Assert.Equal("The end time must be after the start.", (await page.TextContentAsync("span[data-valmsg-for='Input.EndsAt']"))!.Trim());
        await session.ScreenshotAsync("dashboard-event-form-errors.png");
        // What was typed stays in the form, and nothing was scheduled.
        Assert.Equal(channel.Id, await page.InputValueAsync("#Input_ChannelId"));
        await session.GotoAsync("/dashboard/events");
        Assert.Equal(upcomingBefore, await page.Locator("#upcoming tbody tr").CountAsync());

        // Password form: a mismatched repeat and a wrong current password are named at their fields. (The password
        // is never changed here: the other tests sign in with the one the banner printed.)
        await session.GotoAsync("/dashboard/account");
        await page.FillAsync("#Input_CurrentPassword", "not-the-password");
        await page.FillAsync("#Input_NewPassword", "a-long-new-password-1");
        await page.FillAsync("#Input_ConfirmPassword", "a-long-new-password-2");
        await page.ClickAsync("#change-password button[type=submit]");
        await page.WaitForSelectorAsync("span[data-valmsg-for='Input.ConfirmPassword'].field-validation-error");
        Assert.Equal("The two new passwords differ.", (await page.TextContentAsync("span[data-valmsg-for='Input.ConfirmPassword']"))!.Trim());
        await page.FillAsync("#Input_CurrentPassword", "not-the-password");
        await page.FillAsync("#Input_NewPassword", "a-long-new-password-1");
        await page.FillAsync("#Input_ConfirmPassword", "a-long-new-password-1");
        await page.ClickAsync("#change-password button[type=submit]");
        await page.WaitForSelectorAsync("span[data-valmsg-for='Input.CurrentPassword'].field-validation-error");
        Assert.Equal("The current password is wrong.", (await page.TextContentAsync("span[data-valmsg-for='Input.CurrentPassword']"))!.Trim());
    }

    private async Task<int> ChannelCountAsync()
    {
        var json = await Server.Http.GetStringAsync("api/channels");
        return System.Text.Json.JsonDocument.Parse(json).RootElement.GetArrayLength();
    }

    /// <summary>Bits per second of the clip as published: its bytes over its duration (FLV tag overhead is under 2%).</summary>
    private static async Task<long> SourceBitrateAsync(string clip)
    {
        var probe = await FfProbe.ProbeAsync(clip);
        return (long)(new FileInfo(clip).Length * 8 / probe.DurationSeconds);
    }

    private static async Task WaitAsync(DashboardSession session, string what, string predicate, TimeSpan timeout, RtmpPublisher publisher)
    {
        try
        {
            await session.Page.WaitForFunctionAsync(predicate, null, new PageWaitForFunctionOptions { Timeout = (float)timeout.TotalMilliseconds, PollingInterval = 250 });
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(session.Describe($"Timed out waiting for {what}.{Environment.NewLine}publisher:{Environment.NewLine}{publisher.Log.Tail(15)}"), e);
        }
    }

    [GeneratedRegex(@"/dashboard/channels/([0-9a-f]{32})$")]
    private static partial Regex ChannelPage();
}
