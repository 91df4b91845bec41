using Broadcast.EndToEnd.Tests.Dashboard;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;
using Microsoft.Playwright;

namespace Broadcast.EndToEnd.Tests.Restream;

/// <summary>
/// The channel page's restream section in Chromium: add (a bad scheme is refused next to the form) as multitrack, switch
/// multitrack off from its row, disable, remove.
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class RestreamDashboardTests(ServerFixture fixture)
{
    [Fact]
    public async Task Admin_adds_disables_and_removes_a_destination_on_the_channel_page()
    {
        var channel = await fixture.Server.Api.CreateChannelAsync("restream-ui-" + Guid.NewGuid().ToString("N")[..6]);
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, fixture.Server);
        var page = session.Page;
        await session.GotoAsync($"/dashboard/channels/{channel.Id}");
        try
        {
            await page.FillAsync("#destination-url", "http://example.com/live");
            await page.FillAsync("#destination-key", "ui-secret-key-1234");
            await page.ClickAsync("#destination-form button[type=submit]");
            await page.WaitForFunctionAsync("() => document.getElementById('destination-error').textContent.includes('rtmp://')");
            Assert.True(await page.IsVisibleAsync("#destination-empty"));

            // The cloud metadata address: refused by the outbound policy, next to the field.
            await page.FillAsync("#destination-url", "rtmp://169.254.169.254/live");
            await page.ClickAsync("#destination-form button[type=submit]");
            await page.WaitForFunctionAsync("() => document.getElementById('destination-error').textContent.includes('outbound policy')");
            Assert.True(await page.IsVisibleAsync("#destination-empty"));

            // Loopback is allowed on the shared test server (Outbound:AllowedNetworks); nothing connects while the channel is off air.
            await page.FillAsync("#destination-url", "rtmps://127.0.0.1:19443/live2");
            await page.CheckAsync("#destination-multitrack");
            await page.ClickAsync("#destination-form button[type=submit]");
            await page.WaitForSelectorAsync("#destination-table tbody tr");
            var row = await page.TextContentAsync("#destination-table tbody tr") ?? "";
            Assert.Contains("rtmps://127.0.0.1:19443/live2", row, StringComparison.Ordinal);
            Assert.Contains("1234", row, StringComparison.Ordinal);
            Assert.DoesNotContain("ui-secret-key", row, StringComparison.Ordinal);
            Assert.Contains("idle", row, StringComparison.Ordinal);
            Assert.Equal("", await page.InputValueAsync("#destination-key"));
            // Added as multitrack (the form's checkbox), then switched off from its row.
            Assert.True(await MultitrackAsync(channel.Id));
            Assert.True(await page.IsCheckedAsync("#destination-table tbody tr input[type=checkbox]"));
            await page.UncheckAsync("#destination-table tbody tr input[type=checkbox]");
            await WaitFor.ConditionAsync(async () => !await MultitrackAsync(channel.Id), TimeSpan.FromSeconds(20), "the row's multitrack switch to reach the API",
                () => session.Describe("multitrack"));

            await page.ClickAsync("#destination-table tbody tr button:has-text('Disable')");
            await page.WaitForFunctionAsync("() => document.querySelector('#destination-table tbody tr .state').textContent === 'stopped'");

            page.Dialog += (_, dialog) => dialog.AcceptAsync();
            await page.ClickAsync("#destination-table tbody tr button:has-text('Remove')");
            await page.WaitForFunctionAsync("() => document.querySelectorAll('#destination-table tbody tr').length === 0");
            Assert.True(await page.IsVisibleAsync("#destination-empty"));
        }
        catch (Exception e) when (e is PlaywrightException or TimeoutException or Xunit.Sdk.XunitException)
        {
            await session.ScreenshotAsync("restream-dashboard.png");
            Assert.Fail(session.Describe(e.Message));
        }
    }

    private async Task<bool> MultitrackAsync(string channelId)
    {
        var list = System.Text.Json.Nodes.JsonNode.Parse(await fixture.Server.Http.GetStringAsync($"api/channels/{channelId}/destinations"))!.AsArray();
        return list.Single()!["multitrack"]!.GetValue<bool>();
    }
}
