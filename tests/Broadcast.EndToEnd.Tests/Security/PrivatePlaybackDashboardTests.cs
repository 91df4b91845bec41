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

    [Fact]
    public async Task The_low_latency_toggle_switches_the_channel_setting_both_ways()
    {
        var server = fixture.Server;
        var channel = await server.Api.CreateChannelAsync($"dashboard low latency {Guid.NewGuid():N}");
        var browser = await fixture.BrowserAsync();
        await using var session = await DashboardSession.SignInAsync(browser, server);
        await session.GotoAsync($"/dashboard/channels/{channel.Id}");
        Assert.Equal("Standard latency", (await session.Page.TextContentAsync("#low-latency-state"))!.Trim());

        await session.Page.ClickAsync("#low-latency-toggle");
        await session.Page.WaitForSelectorAsync("#low-latency-state:text('Low latency')");
        Assert.True(await LowLatencyAsync(channel.Id), fixture.WithLog("the API does not show the channel low-latency"));

        await session.Page.ClickAsync("#low-latency-toggle");
        await session.Page.WaitForSelectorAsync("#low-latency-state:text('Standard latency')");
        Assert.False(await LowLatencyAsync(channel.Id), fixture.WithLog("the API still shows the channel low-latency"));
    }

    private async Task<bool> LowLatencyAsync(string id)
        => JsonDocument.Parse(await fixture.Server.Http.GetStringAsync($"api/channels/{id}")).RootElement.GetProperty("lowLatency").GetBoolean();

    private async Task<bool> PrivateAsync(string id)
        => JsonDocument.Parse(await fixture.Server.Http.GetStringAsync($"api/channels/{id}")).RootElement.GetProperty("privatePlayback").GetBoolean();
}
