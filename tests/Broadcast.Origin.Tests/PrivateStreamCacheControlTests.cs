using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Broadcast.Packager.Live;
using Broadcast.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>
/// Every answer the origin gives for a private stream keeps shared caches off it (<c>Cache-Control: private</c>, or
/// <c>no-store</c> for errors), whichever path serves it: stored segments, init segments, manifests, recordings,
/// LL-HLS parts, LL-DASH segments sent while they grow, ranges, 304s and 404s. A public stream keeps its public policy.
/// </summary>
public sealed class PrivateStreamCacheControlTests : IAsyncLifetime
{
    private const string Id = "20261121T054512Z";
    private OriginServer _server = null!;
    private HttpClient _viewer = null!;

    public async Task InitializeAsync()
    {
        _server = await OriginServer.StartAsync(new InMemorySegmentStore(), services: s => s.AddSingleton<IPlaybackAccess>(new OnePrivateStream("secret")));
        _viewer = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _viewer.Dispose();
        await _server.DisposeAsync();
    }

    private ISegmentStore Cache => _server.Services.GetRequiredService<ISegmentStore>();

    private static string LowLatencyPlaylist(long nextMsn, int nextPart)
    {
        var sb = new StringBuilder("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n");
        sb.Append("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999,CAN-SKIP-UNTIL=12.0\n#EXT-X-PART-INF:PART-TARGET=0.333\n");
        sb.Append($"#EXT-X-MEDIA-SEQUENCE:1\n#EXT-X-MAP:URI=\"{Id}-init.mp4\"\n");
        for (long n = 1; n < nextMsn; n++) sb.Append($"#EXTINF:2.000,\n{Id}-{n}.m4s\n");
        for (int k = 0; k < nextPart; k++) sb.Append($"#EXT-X-PART:DURATION=0.30000,URI=\"{Id}-{nextMsn}.{k}.m4s\"\n");
        sb.Append($"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{Id}-{nextMsn}.{nextPart}.m4s\"\n");
        return sb.ToString();
    }

    private async Task StoreAsync(string stream)
    {
        byte[] bytes = Encoding.ASCII.GetBytes("0123456789");
        await Cache.PutAsync($"{stream}/master.m3u8", Encoding.UTF8.GetBytes("#EXTM3U\n"), ContentTypes.Hls, "public, max-age=1", default);
        await Cache.PutAsync($"{stream}/manifest.mpd", Encoding.UTF8.GetBytes("<MPD type=\"dynamic\"/>"), "application/dash+xml", "public, max-age=1", default);
        await Cache.PutAsync($"{stream}/source/index.m3u8", Encoding.UTF8.GetBytes(LowLatencyPlaylist(5, 1)), ContentTypes.Hls, "public, max-age=1", default);
        await Cache.PutAsync($"{stream}/source/{Id}-init.mp4", bytes, ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        await Cache.PutAsync($"{stream}/source/{Id}-4.m4s", bytes, ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        await Cache.PutAsync($"{stream}/source/{Id}-5.0.m4s", bytes, ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        await Cache.PutAsync($"{stream}/recordings/{Id}/master.m3u8", Encoding.UTF8.GetBytes("#EXTM3U\n"), ContentTypes.Hls, CachePolicies.Immutable, default);
        // Stored without a Cache-Control: the origin's own default applies.
        await Cache.PutAsync($"{stream}/source/{Id}-3.m4s", bytes, ContentTypes.VideoMp4, null, default);
    }

    [Fact]
    public async Task Every_response_for_a_private_stream_is_private_whatever_path_serves_it()
    {
        await StoreAsync("secret");
        var answers = new List<(string What, HttpResponseMessage Response)>();
        try
        {
            foreach (string path in new[] { "master.m3u8", "manifest.mpd", "source/index.m3u8", $"source/{Id}-init.mp4", $"source/{Id}-4.m4s", $"source/{Id}-3.m4s",
                         $"source/{Id}-5.0.m4s", $"recordings/{Id}/master.m3u8", $"source/{Id}-99.m4s", "source/index.m3u8?_HLS_msn=1", "source/index.m3u8?_HLS_skip=YES",
                         "source/index.m3u8?_HLS_msn=x" })
            {
                answers.Add((path, await _viewer.GetAsync($"/live/secret/{path}{(path.Contains('?') ? "&" : "?")}token=good")));
            }

            using (var range = new HttpRequestMessage(HttpMethod.Get, $"/live/secret/source/{Id}-4.m4s?token=good"))
            {
                range.Headers.Range = new RangeHeaderValue(2, 5);
                answers.Add(("range", await _viewer.SendAsync(range)));
            }

            var first = answers.Single(a => a.What == $"source/{Id}-4.m4s").Response;
            using (var revalidate = new HttpRequestMessage(HttpMethod.Get, $"/live/secret/source/{Id}-4.m4s?token=good"))
            {
                revalidate.Headers.IfNoneMatch.Add(first.Headers.ETag!);
                answers.Add(("304", await _viewer.SendAsync(revalidate)));
            }

            // LL-DASH: the segment being written goes out part by part before it exists as a whole.
            var growing = _viewer.GetAsync($"/live/secret/source/{Id}-5.m4s?token=good", HttpCompletionOption.ResponseHeadersRead);
            var growingResponse = await growing;
            answers.Add(("growing LL-DASH segment", growingResponse));

            Assert.Equal(HttpStatusCode.OK, answers.Single(a => a.What == "master.m3u8").Response.StatusCode);
            Assert.Equal(HttpStatusCode.PartialContent, answers.Single(a => a.What == "range").Response.StatusCode);
            Assert.Equal(HttpStatusCode.NotModified, answers.Single(a => a.What == "304").Response.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, answers.Single(a => a.What == $"source/{Id}-99.m4s").Response.StatusCode);
            Assert.Equal(HttpStatusCode.OK, growingResponse.StatusCode);
            Assert.Null(growingResponse.Content.Headers.ContentLength);
            foreach (var (what, response) in answers)
            {
                var cacheControl = response.Headers.CacheControl;
                Assert.True(cacheControl is not null, $"{what}: no Cache-Control");
                Assert.False(cacheControl!.Public, $"{what}: {cacheControl}");
                Assert.True(cacheControl.Private || cacheControl.NoStore, $"{what}: {cacheControl}");
            }

            // Let the growing response finish so the server does not hold it.
            await Cache.PutAsync($"secret/source/{Id}-5.m4s", Encoding.ASCII.GetBytes("0123456789"), ContentTypes.VideoMp4, CachePolicies.Immutable, default);
            await growingResponse.Content.ReadAsByteArrayAsync();
        }
        finally
        {
            foreach (var (_, response) in answers) response.Dispose();
        }
    }

    [Fact]
    public async Task A_public_stream_keeps_its_public_policy_and_a_refused_private_request_is_not_stored()
    {
        await StoreAsync("open");
        await StoreAsync("secret");
        using var segment = await _viewer.GetAsync($"/live/open/source/{Id}-4.m4s");
        Assert.Equal("public, max-age=31536000, immutable", segment.Headers.CacheControl!.ToString());
        using var growing = await _viewer.GetAsync($"/live/open/source/{Id}-5.m4s", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("public, max-age=31536000, immutable", growing.Headers.CacheControl!.ToString());
        await Cache.PutAsync($"open/source/{Id}-5.m4s", Encoding.ASCII.GetBytes("0123456789"), ContentTypes.VideoMp4, CachePolicies.Immutable, default);
        await growing.Content.ReadAsByteArrayAsync();

        using var anonymous = new HttpClient { BaseAddress = _server.BaseAddress };
        using var refused = await anonymous.GetAsync($"/live/secret/source/{Id}-5.m4s");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.True(refused.Headers.CacheControl!.NoStore);
    }

    /// <summary>One private stream whose only good token is "good".</summary>
    internal sealed class OnePrivateStream(string stream) : IPlaybackAccess
    {
        public bool IsPrivate(ReadOnlySpan<char> name) => name.SequenceEqual(stream);

        public bool IsAuthorized(ReadOnlySpan<char> name, ReadOnlySpan<char> token, out DateTimeOffset expiresAt)
        {
            expiresAt = DateTimeOffset.UtcNow.AddHours(1);
            return name.SequenceEqual(stream) && token.SequenceEqual("good");
        }
    }
}
