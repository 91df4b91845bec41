using System.Net;
using Broadcast.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>The origin in front of the real filesystem store (packager's FileSystemSegmentStore) in a temp dir.</summary>
public sealed class FileSystemStoreOriginTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "origin-fs-" + Guid.NewGuid().ToString("N"));
    private FileSystemSegmentStore _disk = null!;
    private OriginServer _server = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        // A secret beside the media root: what a traversal would try to read.
        await File.WriteAllTextAsync(Path.Combine(_dir, "secret.txt"), "TOP-SECRET");
        _disk = new FileSystemSegmentStore(Path.Combine(_dir, "media"));
        _server = await OriginServer.StartAsync(_disk);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Memory_and_disk_agree_on_the_etag_so_revalidation_survives_eviction_and_restarts()
    {
        byte[] data = new byte[2048];
        new Random(7).NextBytes(data);
        ISegmentStore store = _server.Services.GetRequiredService<ISegmentStore>();
        await store.PutAsync("ch/v0/seg_1.m4s", data, "video/iso.segment", "public, max-age=31536000, immutable", default);

        using HttpResponseMessage fromMemory = await _server.Client.GetAsync("/live/ch/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.OK, fromMemory.StatusCode);
        Assert.Equal(data, await fromMemory.Content.ReadAsByteArrayAsync());

        StoredObject? onDisk = await _disk.GetAsync("ch/v0/seg_1.m4s", default);
        Assert.Equal(onDisk!.ETag, fromMemory.Headers.ETag!.ToString());
        Assert.Equal(FileSystemSegmentStore.ETagOf(data), fromMemory.Headers.ETag!.ToString());
    }

    [Fact]
    public async Task Objects_only_on_disk_are_served_with_their_stored_metadata_and_ranges()
    {
        // Written straight to disk, as another node or a previous process would have.
        byte[] playlist = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\nseg_1.m4s\n"u8.ToArray();
        await _disk.PutAsync("ch/v0/index.m3u8", playlist, "application/vnd.apple.mpegurl", "public, max-age=1, stale-while-revalidate=2", default);
        byte[] segment = new byte[1000];
        new Random(8).NextBytes(segment);
        await _disk.PutAsync("ch/v0/seg_9.m4s", segment, "video/iso.segment", null, default);

        using HttpResponseMessage manifest = await _server.Client.GetAsync("/live/ch/v0/index.m3u8");
        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
        Assert.Equal("application/vnd.apple.mpegurl", manifest.Content.Headers.ContentType!.MediaType);
        Assert.Equal("public, max-age=1, stale-while-revalidate=2", string.Join(", ", manifest.Headers.NonValidated["Cache-Control"]));
        Assert.Equal(playlist, await manifest.Content.ReadAsByteArrayAsync());

        using HttpRequestMessage rangeRequest = new(HttpMethod.Get, "/live/ch/v0/seg_9.m4s");
        rangeRequest.Headers.TryAddWithoutValidation("Range", "bytes=-100");
        using HttpResponseMessage range = await _server.Client.SendAsync(rangeRequest);
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal("bytes 900-999/1000", range.Content.Headers.ContentRange!.ToString());
        Assert.Equal(segment.AsSpan(900).ToArray(), await range.Content.ReadAsByteArrayAsync());
        Assert.Equal("public, max-age=31536000, immutable", range.Headers.CacheControl!.ToString());
    }

    [Theory]
    [InlineData("/live/../secret.txt")]
    [InlineData("/live/%2e%2e/secret.txt")]
    [InlineData("/live/ch/..%2f..%2fsecret.txt")]
    [InlineData("/live/%252e%252e/secret.txt")]
    [InlineData("/live/.meta/ch/v0/index.m3u8.json")]
    public async Task Traversal_does_not_leave_the_media_root(string target)
    {
        await _disk.PutAsync("ch/v0/index.m3u8", "#EXTM3U\n"u8.ToArray(), "application/vnd.apple.mpegurl", null, default);
        int status = await _server.SendRawAsync(target);
        Assert.True(status is 400 or 404, $"{target} -> {status}");
    }
}
