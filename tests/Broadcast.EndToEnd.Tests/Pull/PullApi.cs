using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Broadcast.EndToEnd.Tests.Server;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Pull;

/// <summary>The pull-source routes of the admin API, as the tests use them.</summary>
internal static class PullApi
{
    public static async Task<JsonNode> PutSourceAsync(ServerProcess server, string channelId, string url, bool loop = false)
    {
        using var response = await server.Http.PutAsJsonAsync($"api/channels/{channelId}/source", new { url, loop });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"PUT source {url} -> {(int)response.StatusCode}: {body}");
        return JsonNode.Parse(body)!;
    }

    public static async Task<JsonNode?> GetSourceAsync(ServerProcess server, string channelId)
    {
        using var response = await server.Http.GetAsync($"api/channels/{channelId}/source");
        return response.IsSuccessStatusCode ? JsonNode.Parse(await response.Content.ReadAsStringAsync()) : null;
    }

    public static async Task<JsonNode> GetEventAsync(ServerProcess server, string eventId)
    {
        using var response = await server.Http.GetAsync($"api/events/{eventId}");
        response.EnsureSuccessStatusCode();
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
    }

    /// <summary>status.state of a pull source response, or null while it does not run.</summary>
    public static string? State(JsonNode? source) => source?["status"]?["state"]?.GetValue<string>();

    /// <summary>Plays the channel live in hls.js through our origin: it starts and advances <paramref name="seconds"/> of media.</summary>
    public static async Task PlayLiveAsync(ServerFixture fixture, ChannelInfo channel, int width, double seconds, string artifact)
    {
        var url = fixture.Server.Absolute($"/live/{channel.Slug}/master.m3u8");
        // Live in the hub from the first frame; the master playlist exists from the first segment on.
        await WaitFor.ConditionAsync(
            async () =>
            {
                using var r = await fixture.Server.Viewer.GetAsync(url);
                return r.IsSuccessStatusCode;
            },
            TimeSpan.FromSeconds(40), $"GET {url} to answer 200", () => fixture.WithLog(""));
        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(url.ToString());
        try
        {
            await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), () => fixture.WithLog(""));
            var start = await player.GetCurrentTimeAsync();
            await player.WaitForCurrentTimeAsync(start + seconds, TimeSpan.FromSeconds(45), () => fixture.WithLog(""));
            var shown = await player.GetVideoWidthAsync();
            fixture.Check(shown == width, $"hls.js videoWidth {shown}, expected {width}{Environment.NewLine}{await player.DescribeAsync()}");
            var fatal = await player.GetFatalErrorsAsync();
            fixture.Check(fatal.Count == 0, $"hls.js fatal errors: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");
        }
        catch
        {
            await player.ScreenshotAsync(Path.Combine(AppContext.BaseDirectory, "artifacts", $"pull-{artifact}.png"));
            throw;
        }
    }
}
