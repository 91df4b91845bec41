using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Storage;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using static Broadcast.Server.Tests.Security.PrivatePlaybackOriginTests;

namespace Broadcast.Server.Tests.Clips;

/// <summary>
/// A clip through the real application: cut over the API from the stored live window, served by the origin at the URL the
/// API answers, and, the clip's objects being under the channel's path, a private channel's clip is refused without a
/// playback token and served with one, as its live playlists are.
/// </summary>
public sealed class ClipPlaybackTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_clip_is_served_at_its_url_and_a_private_channel_s_clip_needs_a_token(bool privatePlayback)
    {
        await using var server = await InProcessServer.StartAsync("--Transcode:Enabled=false");
        var channel = await server.CreateChannelAsync(privatePlayback ? "Private Clips" : "Public Clips", privatePlayback);
        var store = server.Services.GetRequiredService<ISegmentStore>();
        await store.PutAsync(StoreKeys.Master(channel.Slug), Encoding.UTF8.GetBytes(StoredClipWindow.Master), ContentTypes.Hls, null, default);
        foreach (var r in new[] { "source", "audio" })
            await store.PutAsync(StoreKeys.MediaPlaylist(channel.Slug, r), Encoding.UTF8.GetBytes(StoredClipWindow.Window(1, 12)), ContentTypes.Hls,
                null, default);

        using var request = server.Authorized(HttpMethod.Post, $"/api/channels/{channel.Id}/clips");
        request.Content = new StringContent("""{"from":-8,"to":0,"title":"Last eight seconds"}""", Encoding.UTF8, "application/json");
        using var created = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = JsonDocument.Parse(await created.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(8000, body.GetProperty("durationMs").GetInt64());
        var url = new Uri(body.GetProperty("hlsUrl").GetString()!);
        Assert.Equal($"/live/{channel.Slug}/clips/{body.GetProperty("id").GetString()}/master.m3u8", url.AbsolutePath);

        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        using var master = await anonymous.GetAsync(url.AbsolutePath);
        Assert.Equal(privatePlayback ? HttpStatusCode.Forbidden : HttpStatusCode.OK, master.StatusCode);
        string media = url.AbsolutePath.Replace("master.m3u8", "source.m3u8", StringComparison.Ordinal);
        if (privatePlayback)
        {
            Assert.Equal(HttpStatusCode.Forbidden, (await anonymous.GetAsync(media)).StatusCode);
            var token = (await MintAsync(server, channel.Id, 600)).Token;
            using var signed = await anonymous.GetAsync($"{url.AbsolutePath}?token={token}");
            Assert.Equal(HttpStatusCode.OK, signed.StatusCode);
            media += $"?token={token}";
        }
        string playlist = await anonymous.GetStringAsync(media);
        Assert.Contains("#EXT-X-PLAYLIST-TYPE:VOD", playlist, StringComparison.Ordinal);
        Assert.Contains("../../source/20261121T054512Z-9.m4s", playlist, StringComparison.Ordinal);
        Assert.Contains("../../source/20261121T054512Z-12.m4s\n#EXT-X-ENDLIST", playlist, StringComparison.Ordinal);
    }
}
