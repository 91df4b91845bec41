using System.Net;
using System.Text;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>
/// A segment being written is sent as it grows, part after part (LL-DASH), only when its parts concatenate to it: an
/// AES-128 broadcast's parts and segments are each encrypted alone, so its in-progress segment is a 404 until it is
/// stored whole, and then served as stored.
/// </summary>
public sealed class WholeSegmentGrowingTests : IAsyncLifetime
{
    private const string Id = "20261130T120000Z";
    private OriginServer _server = null!;
    private HttpClient _viewer = null!;

    public async Task InitializeAsync()
    {
        _server = await OriginServer.StartAsync(new InMemorySegmentStore());
        _viewer = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _viewer.Dispose();
        await _server.DisposeAsync();
    }

    private ISegmentStore Store => _server.Services.GetRequiredService<ISegmentStore>();

    private async Task StoreLowLatencyAsync(string channel, string? key)
    {
        var sb = new StringBuilder("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n");
        sb.Append("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999\n#EXT-X-PART-INF:PART-TARGET=0.333\n");
        sb.Append($"#EXT-X-MEDIA-SEQUENCE:4\n#EXT-X-MAP:URI=\"{Id}-init.mp4\"\n");
        if (key is not null) sb.Append(key).Append('\n');
        sb.Append($"#EXTINF:2.000,\n{Id}-4.m4s\n");
        sb.Append($"#EXT-X-PART:DURATION=0.33300,URI=\"{Id}-5.0.m4s\"\n#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{Id}-5.1.m4s\"\n");
        await Store.PutAsync($"{channel}/source/index.m3u8", Encoding.UTF8.GetBytes(sb.ToString()), ContentTypes.Hls, "public, max-age=1", default);
        await Store.PutAsync($"{channel}/source/{Id}-5.0.m4s", Encoding.ASCII.GetBytes("part zero"), ContentTypes.VideoMp4, CachePolicies.Immutable, default);
    }

    [Fact]
    public async Task An_aes128_broadcasts_segment_is_not_sent_as_it_grows_and_a_clear_ones_is()
    {
        await StoreLowLatencyAsync("sealed", "#EXT-X-KEY:METHOD=AES-128,URI=\"/live/sealed/key/00112233445566778899aabbccddeeff\"");
        using (var inProgress = await _viewer.GetAsync($"/live/sealed/source/{Id}-5.m4s", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.NotFound, inProgress.StatusCode);
        }

        await Store.PutAsync($"sealed/source/{Id}-5.m4s", Encoding.ASCII.GetBytes("the whole segment"), ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        Assert.Equal("the whole segment", await _viewer.GetStringAsync($"/live/sealed/source/{Id}-5.m4s"));

        // The same playlist without the key: the segment goes out part by part while it is written.
        await StoreLowLatencyAsync("clear", key: null);
        using var growing = await _viewer.GetAsync($"/live/clear/source/{Id}-5.m4s", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, growing.StatusCode);
        Assert.Null(growing.Content.Headers.ContentLength);
        await Store.PutAsync($"clear/source/{Id}-5.m4s", Encoding.ASCII.GetBytes("part zero and the rest"), ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        Assert.Equal("part zero and the rest", await growing.Content.ReadAsStringAsync());
    }
}
