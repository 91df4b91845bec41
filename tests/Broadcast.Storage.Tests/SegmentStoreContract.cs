using System.Security.Cryptography;
using Broadcast.Storage;
using Broadcast.Storage.S3;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests;

/// <summary>
/// What every <see cref="ISegmentStore"/> promises, run against each implementation: the filesystem store and the S3
/// store on a real S3 peer (s3rver on loopback). The ETag is the same function of the bytes in both, so origins
/// reading either agree on validators.
/// </summary>
public abstract class SegmentStoreContract
{
    protected abstract Task<ISegmentStore> CreateStoreAsync();

    [Fact]
    public async Task Put_then_get_returns_bytes_type_cache_control_and_the_shared_content_etag()
    {
        var store = await CreateStoreAsync();
        byte[] data = "#EXTM3U\n#EXT-X-VERSION:7\n"u8.ToArray();
        await store.PutAsync("ch/source/index.m3u8", data, ContentTypes.Hls, "public, max-age=1", default);

        var got = await store.GetAsync("ch/source/index.m3u8", default);

        Assert.NotNull(got);
        Assert.Equal(data, got.Data.ToArray());
        Assert.Equal(ContentTypes.Hls, got.ContentType);
        Assert.Equal("public, max-age=1", got.CacheControl);
        Assert.Equal(FileSystemSegmentStore.ETagOf(data), got.ETag);
        Assert.True(got.LastModified > DateTimeOffset.UtcNow.AddMinutes(-5), $"LastModified {got.LastModified:O}");
    }

    [Fact]
    public async Task Replacing_an_object_changes_bytes_and_etag()
    {
        var store = await CreateStoreAsync();
        await store.PutAsync("ch/source/index.m3u8", "#EXTM3U\n"u8.ToArray(), ContentTypes.Hls, "public, max-age=1", default);
        var first = await store.GetAsync("ch/source/index.m3u8", default);
        byte[] second = "#EXTM3U\n#EXTINF:2,\nx-1.m4s\n"u8.ToArray();
        await store.PutAsync("ch/source/index.m3u8", second, ContentTypes.Hls, "public, max-age=1", default);

        var got = await store.GetAsync("ch/source/index.m3u8", default);

        Assert.Equal(second, got!.Data.ToArray());
        Assert.NotEqual(first!.ETag, got.ETag);
    }

    [Fact]
    public async Task A_segment_of_a_megabyte_round_trips_byte_for_byte_with_immutable_cache_control()
    {
        var store = await CreateStoreAsync();
        byte[] data = RandomNumberGenerator.GetBytes(1024 * 1024 + 17);
        await store.PutAsync("ch/source/20261121T054512Z-7.m4s", data, ContentTypes.VideoMp4, "public, max-age=31536000, immutable", default);

        var got = await store.GetAsync("ch/source/20261121T054512Z-7.m4s", default);

        Assert.Equal(data.Length, got!.Data.Length);
        Assert.True(data.AsSpan().SequenceEqual(got.Data.Span), "bytes differ");
        Assert.Equal("public, max-age=31536000, immutable", got.CacheControl);
        Assert.Equal(ContentTypes.VideoMp4, got.ContentType);
    }

    [Fact]
    public async Task A_put_from_a_slice_of_a_larger_buffer_stores_only_the_slice()
    {
        var store = await CreateStoreAsync();
        byte[] buffer = [9, 9, 1, 2, 3, 9];
        await store.PutAsync("ch/audio/b-1.m4s", buffer.AsMemory(2, 3), ContentTypes.AudioMp4, null, default);

        var got = await store.GetAsync("ch/audio/b-1.m4s", default);

        Assert.Equal(new byte[] { 1, 2, 3 }, got!.Data.ToArray());
        Assert.Null(got.CacheControl);
    }

    [Fact]
    public async Task Missing_keys_read_as_null()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.GetAsync("nope/source/a-1.m4s", default));
    }

    [Fact]
    public async Task Delete_removes_a_batch_and_ignores_missing_keys()
    {
        var store = await CreateStoreAsync();
        var keys = Enumerable.Range(1, 12).Select(i => $"ch/source/b-{i}.m4s").ToList();
        foreach (var key in keys) await store.PutAsync(key, new byte[] { 1, 2 }, ContentTypes.VideoMp4, null, default);

        await store.DeleteAsync([.. keys.Take(10), "ch/source/never-1.m4s"], default);

        foreach (var key in keys.Take(10)) Assert.Null(await store.GetAsync(key, default));
        Assert.NotNull(await store.GetAsync("ch/source/b-11.m4s", default));
        Assert.NotNull(await store.GetAsync("ch/source/b-12.m4s", default));
    }

    [Fact]
    public async Task Deleting_keys_whose_folders_were_never_written_is_no_error()
    {
        var store = await CreateStoreAsync();
        await store.DeleteAsync(["never/audio/index.m3u8", "never/audio/index-delta.m3u8", "never/master.m3u8"], default);
        Assert.Null(await store.GetAsync("never/audio/index.m3u8", default));
    }

    [Fact]
    public async Task List_returns_the_keys_under_a_prefix_in_ordinal_order()
    {
        var store = await CreateStoreAsync();
        string[] keys = ["a/source/x-2.m4s", "a/source/x-10.m4s", "a/audio/x-1.m4s", "a/master.m3u8", "b/master.m3u8"];
        foreach (var key in keys) await store.PutAsync(key, new byte[] { 1 }, ContentTypes.FromKey(key), null, default);

        var under = await ToListAsync(store.ListAsync("a/", default));
        var source = await ToListAsync(store.ListAsync("a/source/", default));

        Assert.Equal(keys.Where(k => k.StartsWith("a/", StringComparison.Ordinal)).Order(StringComparer.Ordinal), under);
        Assert.Equal(["a/source/x-10.m4s", "a/source/x-2.m4s"], source);
        Assert.Empty(await ToListAsync(store.ListAsync("zz/", default)));
    }

    [Theory]
    [InlineData("../etc/passwd")]
    [InlineData("/abs/key.m4s")]
    [InlineData("ch//x.m4s")]
    [InlineData("ch/.meta/x.json")]
    [InlineData("ch/sp ace.m4s")]
    [InlineData("ch\\x.m4s")]
    public async Task Keys_outside_the_validated_alphabet_are_refused_before_any_request(string key)
    {
        var store = await CreateStoreAsync();
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.PutAsync(key, new byte[] { 1 }, ContentTypes.VideoMp4, null, default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.GetAsync(key, default));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.DeleteAsync([key], default));
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}

public sealed class FileSystemSegmentStoreContractTests : SegmentStoreContract, IDisposable
{
    private readonly TempDirectory _dir = new("broadcast-fs-contract");

    public void Dispose() => _dir.Dispose();

    protected override Task<ISegmentStore> CreateStoreAsync() => Task.FromResult<ISegmentStore>(new FileSystemSegmentStore(_dir.Path));
}

/// <summary>The contract on s3rver (BROADCAST_TEST_S3, or one started for this test process), one fresh bucket per test.</summary>
[Trait("Kind", "Component")]
public sealed class S3SegmentStoreContractTests : SegmentStoreContract, IDisposable
{
    private S3SegmentStore? _store;

    public void Dispose() => _store?.Dispose();

    internal static S3StoreOptions Options(string url, string bucket, string prefix = "") => new()
    {
        ServiceUrl = url,
        Bucket = bucket,
        AccessKey = S3TestServer.AccessKey,
        SecretKey = S3TestServer.SecretKey,
        ForcePathStyle = true,
        CreateBucket = true,
        Prefix = prefix,
        UseChunkEncoding = false, // s3rver stores aws-chunked framing as object bytes
        RequestTimeout = TimeSpan.FromSeconds(5),
    };

    protected override async Task<ISegmentStore> CreateStoreAsync()
    {
        string url = await S3TestServer.SharedUrlAsync();
        // A prefix as well, so every test also proves keys map under it and listings strip it.
        _store = new S3SegmentStore(Options(url, S3TestServer.NewBucketName("contract"), "broadcast/"));
        await _store.EnsureBucketAsync(default);
        return _store;
    }
}
