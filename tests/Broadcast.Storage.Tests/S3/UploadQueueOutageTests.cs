using Broadcast.Storage;
using Broadcast.Storage.S3;
using Broadcast.TestSupport;

namespace Broadcast.Storage.Tests.S3;

/// <summary>
/// The upload queue in front of a real S3 peer that goes away: each test starts its own s3rver and stops it.
/// </summary>
[Trait("Kind", "Component")]
public sealed class UploadQueueOutageTests : IAsyncLifetime
{
    private S3TestServer _s3 = null!;
    private readonly TempDirectory _spill = new("broadcast-spill");

    public async Task InitializeAsync() => _s3 = await S3TestServer.StartAsync();

    public async Task DisposeAsync()
    {
        await _s3.DisposeAsync();
        _spill.Dispose();
    }

    private S3SegmentStore NewS3(string bucket) => new(S3SegmentStoreContractTests.Options(_s3.Url, bucket));

    [Fact]
    public async Task Objects_written_while_S3_is_down_are_served_from_the_queue_and_uploaded_in_order_when_it_returns()
    {
        string bucket = S3TestServer.NewBucketName("outage");
        using var s3 = NewS3(bucket);
        await s3.EnsureBucketAsync(default);
        await using var queue = new UploadQueue(s3, new UploadQueueOptions { MemoryBytes = 4096, SpillDirectory = _spill.Path, MaxRetryDelay = TimeSpan.FromMilliseconds(300) },
            parallelUploads: 3, isRecorded: _ => false);

        await _s3.StopAsync();
        var segments = Enumerable.Range(1, 6).Select(i => ($"ch/source/b-{i}.m4s", new byte[3000 + i])).ToList();
        foreach (var (key, data) in segments)
        {
            data[0] = (byte)data.Length;
            await queue.PutAsync(key, data, ContentTypes.VideoMp4, "public, max-age=31536000, immutable", default);
            await queue.PutAsync("ch/source/index.m3u8", System.Text.Encoding.UTF8.GetBytes("#EXTM3U\n" + key + "\n"), ContentTypes.Hls, "public, max-age=1", default);
        }

        // While S3 is down: nothing lost, the backlog is visible, reads come from the queue (memory and spill).
        await WaitFor.ConditionAsync(() => !queue.GetStatus().StoreReachable, TimeSpan.FromSeconds(20), "the queue to notice S3 is down");
        var down = queue.GetStatus();
        Assert.True(down.PendingObjects >= 6, $"pending {down.PendingObjects}");
        Assert.True(down.SpilledBytes > 0, "beyond MemoryBytes the queue spills to disk");
        Assert.Equal(0, down.Dropped);
        Assert.NotNull(down.LastError);
        foreach (var (key, data) in segments) Assert.Equal(data, (await queue.GetAsync(key, default))!.Data.ToArray());
        Assert.EndsWith("b-6.m4s\n", System.Text.Encoding.UTF8.GetString((await queue.GetAsync("ch/source/index.m3u8", default))!.Data.Span));

        await _s3.RestartAsync();
        await queue.WhenIdleAsync(default).WaitAsync(TimeSpan.FromSeconds(60));

        var up = queue.GetStatus();
        Assert.True(up.StoreReachable);
        Assert.Equal(0, up.PendingObjects);
        Assert.Equal(0, up.PendingBytes);
        foreach (var (key, data) in segments) Assert.Equal(data, (await s3.GetAsync(key, default))!.Data.ToArray());
        // Superseded versions of the playlist waiting in the queue never travel: only the newest is stored.
        Assert.EndsWith("b-6.m4s\n", System.Text.Encoding.UTF8.GetString((await s3.GetAsync("ch/source/index.m3u8", default))!.Data.Span));
        Assert.Empty(Directory.EnumerateFiles(_spill.Path));
    }

    [Fact]
    public async Task Past_its_bound_the_queue_drops_the_oldest_live_only_segments_and_keeps_recorded_ones_and_manifests()
    {
        string bucket = S3TestServer.NewBucketName("bound");
        using var s3 = NewS3(bucket);
        await s3.EnsureBucketAsync(default);
        await using var queue = new UploadQueue(s3, new UploadQueueOptions { MemoryBytes = 10_000, MaxRetryDelay = TimeSpan.FromMilliseconds(300) },
            parallelUploads: 1, isRecorded: key => key.StartsWith("rec/", StringComparison.Ordinal));

        await _s3.StopAsync();
        for (int i = 1; i <= 6; i++)
        {
            await queue.PutAsync($"rec/source/b-{i}.m4s", new byte[1000], ContentTypes.VideoMp4, null, default);
            await queue.PutAsync($"live/source/b-{i}.m4s", new byte[1000], ContentTypes.VideoMp4, null, default);
        }
        await queue.PutAsync("live/source/index.m3u8", new byte[100], ContentTypes.Hls, null, default);

        var status = queue.GetStatus();
        // 12 000 bytes of segments + 100 of playlist against 10 000: the three oldest live segments went.
        Assert.Equal(3, status.Dropped);
        Assert.True(status.PendingBytes <= 10_000, $"pending {status.PendingBytes}");

        await _s3.RestartAsync();
        await queue.WhenIdleAsync(default).WaitAsync(TimeSpan.FromSeconds(60));
        for (int i = 1; i <= 6; i++) Assert.NotNull(await s3.GetAsync($"rec/source/b-{i}.m4s", default));
        Assert.NotNull(await s3.GetAsync("live/source/index.m3u8", default));
        for (int i = 4; i <= 6; i++) Assert.NotNull(await s3.GetAsync($"live/source/b-{i}.m4s", default));
        Assert.Null(await s3.GetAsync("live/source/b-2.m4s", default));
    }

    [Fact]
    public async Task A_delete_waits_behind_earlier_puts_and_cancels_a_waiting_put_of_the_same_key()
    {
        string bucket = S3TestServer.NewBucketName("order");
        using var s3 = NewS3(bucket);
        await s3.EnsureBucketAsync(default);
        await using var queue = new UploadQueue(s3, new UploadQueueOptions { MaxRetryDelay = TimeSpan.FromMilliseconds(300) }, parallelUploads: 4);

        await queue.PutAsync("ch/source/b-1.m4s", new byte[] { 1 }, ContentTypes.VideoMp4, null, default);
        await queue.PutAsync("ch/source/b-2.m4s", new byte[] { 2 }, ContentTypes.VideoMp4, null, default);
        await queue.DeleteAsync(["ch/source/b-1.m4s"], default);
        await queue.WhenIdleAsync(default).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Null(await s3.GetAsync("ch/source/b-1.m4s", default));
        Assert.NotNull(await s3.GetAsync("ch/source/b-2.m4s", default));
        Assert.Equal(["ch/source/b-2.m4s"], await ToListAsync(queue.ListAsync("ch/", default)));
    }

    [Fact]
    public async Task Bytes_that_disagree_with_the_stored_etag_are_a_torn_read_not_a_response()
    {
        string bucket = S3TestServer.NewBucketName("torn");
        using var s3 = NewS3(bucket);
        await s3.EnsureBucketAsync(default);
        await s3.PutAsync("ch/source/index.m3u8", "#EXTM3U\n#A\n"u8.ToArray(), ContentTypes.Hls, "public, max-age=1", default);

        // What a GET sees while s3rver rewrites an object in place: new bytes, old metadata.
        string file = Path.Combine(_s3.DataDirectory, bucket, "ch", "source", "index.m3u8._S3rver_object");
        Assert.True(File.Exists(file), $"s3rver layout changed: {file}");
        await File.WriteAllBytesAsync(file, "#EXTM3U\n#B\n"u8.ToArray());

        // Both checks see it: the SDK's MD5 against S3's ETag, and ours against x-amz-meta-etag (which also covers services
        // whose ETag is not an MD5). Ours is the one reported, since it says what happened; never a response whose ETag
        // lies about its bytes.
        var e = await Assert.ThrowsAnyAsync<Exception>(async () => await s3.GetAsync("ch/source/index.m3u8", default));
        Assert.IsType<TornReadException>(e);
    }

    private static async Task<List<string>> ToListAsync(IAsyncEnumerable<string> items)
    {
        var list = new List<string>();
        await foreach (var item in items) list.Add(item);
        return list;
    }
}

/// <summary>Start-up errors name what failed: the bucket, the credentials, the endpoint.</summary>
[Trait("Kind", "Component")]
public sealed class S3StartupCheckTests
{
    [Fact]
    public async Task A_missing_bucket_is_named_with_the_setting_that_creates_it()
    {
        string url = await S3TestServer.SharedUrlAsync();
        using var store = new S3SegmentStore(S3SegmentStoreContractTests.Options(url, "no-such-bucket-here") with { CreateBucket = false });
        var e = await Assert.ThrowsAsync<S3StoreUnavailableException>(() => store.EnsureBucketAsync(default));
        Assert.Contains("'no-such-bucket-here' does not exist", e.Message);
        Assert.Contains("Storage:S3:CreateBucket", e.Message);
    }

    [Fact]
    public async Task Wrong_credentials_are_named_as_such()
    {
        string url = await S3TestServer.SharedUrlAsync();
        using var store = new S3SegmentStore(S3SegmentStoreContractTests.Options(url, S3TestServer.NewBucketName("creds")) with { AccessKey = "WRONG", SecretKey = "WRONG" });
        var e = await Assert.ThrowsAsync<S3StoreUnavailableException>(() => store.EnsureBucketAsync(default));
        Assert.Contains("rejected the credentials", e.Message);
        Assert.Contains("Storage:S3:AccessKey", e.Message);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_named()
    {
        int port = FreePort.Tcp();
        using var store = new S3SegmentStore(S3SegmentStoreContractTests.Options($"http://127.0.0.1:{port}", "b-unreachable") with { MaxAttempts = 1 });
        var e = await Assert.ThrowsAsync<S3StoreUnavailableException>(() => store.EnsureBucketAsync(default));
        Assert.Contains($"http://127.0.0.1:{port}", e.Message);
        Assert.Contains("could not be reached", e.Message);
    }

    [Theory]
    [InlineData("", "Storage:S3:Bucket")]
    [InlineData("b", "Storage:S3:AccessKey")]
    public void Options_name_the_setting_that_is_wrong(string bucket, string expected)
    {
        var options = new S3StoreOptions { Bucket = bucket, AccessKey = "only-access" };
        var e = Assert.Throws<InvalidOperationException>(options.Validate);
        Assert.Contains(expected, e.Message);
    }
}
