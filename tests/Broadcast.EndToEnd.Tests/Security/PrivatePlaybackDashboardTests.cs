using System.Net;
using System.Text.Json;
using Broadcast.EndToEnd.Tests.Dashboard;
using Broadcast.EndToEnd.Tests.Server;

namespace Broadcast.EndToEnd.Tests.Security;

/// <summary>The channel page's private-playback and low-latency toggles and signing-key rotation, clicked in Chromium by a signed-in admin.</summary>
[Collection(ServerCollection.Name)]
public sealed class PrivatePlaybackDashboardTests(ServerFixture fixture)
{
    [Fact]
    public async Task The_toggle_makes_a_channel_private_and_public_again_and_the_preview_carries_a_token()
    {
        var server = fixture.Server;
        var channel = await server.Api.CreateChannelAsync($"dashboard private {Guid.NewGuid():N}");
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, server);
        await session.GotoAsync($"/dashboard/channels/{channel.Id}");
        Assert.Equal("Public", (await session.Page.TextContentAsync("#private-playback-state"))!.Trim());
        Assert.DoesNotContain("token=", await session.Page.GetAttributeAsync("#channel-page", "data-hls") ?? "", StringComparison.Ordinal);

        await session.Page.ClickAsync("#private-playback-toggle");
        await session.Page.WaitForSelectorAsync("#private-playback-state:text('Private')");
        Assert.True(await PrivateAsync(channel.Id), fixture.WithLog("the API does not show the channel private"));
        Assert.Contains($"/live/{channel.Slug}/master.m3u8?token=", await session.Page.GetAttributeAsync("#channel-page", "data-hls") ?? "", StringComparison.Ordinal);
        using (var stranger = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = server.BaseUri })
        using (var refused = await stranger.GetAsync($"live/{channel.Slug}/master.m3u8"))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        string before = JsonDocument.Parse(await server.Http.GetStringAsync("api/playback/signing-keys")).RootElement.GetProperty("currentKeyId").GetString()!;
        session.Page.Dialog += (_, dialog) => _ = dialog.AcceptAsync();
        await session.Page.ClickAsync("#rotate-signing-keys-form button");
        await session.Page.WaitForSelectorAsync(".flash:text('signing keys rotated')");
        using var keys = JsonDocument.Parse(await server.Http.GetStringAsync("api/playback/signing-keys"));
        Assert.Equal(before, keys.RootElement.GetProperty("previousKeyId").GetString());
        Assert.NotEqual(before, keys.RootElement.GetProperty("currentKeyId").GetString());

        await session.Page.ClickAsync("#private-playback-toggle");
        await session.Page.WaitForSelectorAsync("#private-playback-state:text('Public')");
        Assert.False(await PrivateAsync(channel.Id));
    }

    [Theory]
    [InlineData("low-latency", "Standard latency", "Low latency", "lowLatency")]
    [InlineData("real-time", "HLS watch page", "Real-time watch page", "realTime")]
    public async Task A_channel_page_toggle_switches_the_channel_setting_both_ways(string toggle, string off, string on, string property)
    {
        var server = fixture.Server;
        var channel = await server.Api.CreateChannelAsync($"dashboard {toggle} {Guid.NewGuid():N}");
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, server);
        await session.GotoAsync($"/dashboard/channels/{channel.Id}");
        Assert.Equal(off, (await session.Page.TextContentAsync($"#{toggle}-state"))!.Trim());

        await session.Page.ClickAsync($"#{toggle}-toggle");
        await session.Page.WaitForSelectorAsync($"#{toggle}-state:text('{on}')");
        Assert.True(await SettingAsync(channel.Id, property), fixture.WithLog($"the API does not show {property} on"));

        await session.Page.ClickAsync($"#{toggle}-toggle");
        await session.Page.WaitForSelectorAsync($"#{toggle}-state:text('{off}')");
        Assert.False(await SettingAsync(channel.Id, property), fixture.WithLog($"the API still shows {property} on"));
    }

    private async Task<bool> SettingAsync(string id, string property)
        => JsonDocument.Parse(await fixture.Server.Http.GetStringAsync($"api/channels/{id}")).RootElement.GetProperty(property).GetBoolean();

    private async Task<bool> PrivateAsync(string id)
        => JsonDocument.Parse(await fixture.Server.Http.GetStringAsync($"api/channels/{id}")).RootElement.GetProperty("privatePlayback").GetBoolean();
}
