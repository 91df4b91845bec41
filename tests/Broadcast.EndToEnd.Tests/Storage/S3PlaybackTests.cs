using System.Collections.Concurrent;
using System.Text;
using Broadcast.TestSupport;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// Scale-out end to end: an ingest node writes to an S3 bucket (s3rver on loopback) and a separate origin
/// process, holding no stream state, serves viewers from the same bucket.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed class S3PlaybackTests(StorageFixture fixture)
{
    [Fact]
    public async Task Hlsjs_plays_a_live_stream_through_a_separate_origin_reading_the_bucket()
    {
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("e2e");
        await using var ingest = await S3Nodes.StartIngestAsync(url, bucket);
        await using var origin = await S3Nodes.StartOriginAsync(url, bucket);
        string Logs() => $"--- ingest ---{Environment.NewLine}{ingest.LogTail(60)}{Environment.NewLine}--- origin ---{Environment.NewLine}{origin.LogTail(60)}";

        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
        var channel = await ingest.Api.CreateChannelAsync($"s3 playback {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(channel.StreamKey));
        var master = new Uri(origin.BaseUri, $"live/{channel.Slug}/master.m3u8");

        // The ingest node has no origin role: the only way to the stream is through the bucket.
        using (var direct = await ingest.Viewer.GetAsync($"live/{channel.Slug}/master.m3u8"))
            Assert.Equal(System.Net.HttpStatusCode.NotFound, direct.StatusCode);
        await WaitFor.ConditionAsync(async () =>
            {
                using var r = await origin.Viewer.GetAsync(master);
                return r.IsSuccessStatusCode;
            }, TimeSpan.FromSeconds(40), $"GET {master} through the separate origin", () => Logs() + publisher.Log.Tail(10));

        // The origin does not hold a live playlist past its update: a new version in the bucket is served at once.
        using var first = await origin.Viewer.GetAsync($"live/{channel.Slug}/source/index.m3u8");
        Assert.True(first.IsSuccessStatusCode, $"{(int)first.StatusCode} for the live playlist{Environment.NewLine}{Logs()}");
        string before = await first.Content.ReadAsStringAsync();
        await WaitFor.ConditionAsync(async () => await origin.Viewer.GetStringAsync($"live/{channel.Slug}/source/index.m3u8") != before,
            TimeSpan.FromSeconds(20), "the separate origin to serve the next version of the live playlist", Logs);

        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(master.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(60), Logs);
        double start = await player.GetCurrentTimeAsync();
        await player.WaitForCurrentTimeAsync(start + 6, TimeSpan.FromSeconds(40), Logs);
        Assert.Equal(StorageFixture.Clip.Width, await player.GetVideoWidthAsync());
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, $"fatal: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");

        // Objects in the bucket carry the packager's metadata; the origin hands out the store's content ETag.
        using var bucketStore = S3Nodes.Bucket(url, bucket);
        var playlist = await bucketStore.GetAsync($"{channel.Slug}/source/index.m3u8", default);
        Assert.NotNull(playlist);
        Assert.StartsWith("public, max-age=", playlist.CacheControl);
        var (_, segments) = S3Nodes.ParsePlaylist(Encoding.UTF8.GetString(playlist.Data.Span));
        var segment = await bucketStore.GetAsync($"{channel.Slug}/source/{segments[^1]}", default);
        Assert.Equal("public, max-age=31536000, immutable", segment!.CacheControl);
        using var fromOrigin = await origin.Viewer.GetAsync($"live/{channel.Slug}/source/{segments[^1]}");
        Assert.Equal(segment.ETag, fromOrigin.Headers.ETag?.Tag);

    }

    [Fact]
    public async Task Start_up_fails_with_a_message_naming_a_missing_bucket_or_rejected_credentials()
    {
        string url = await S3TestServer.SharedUrlAsync();
        var missing = await Assert.ThrowsAsync<ConditionFailedException>(() => ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, "no-such-bucket-e2e", createBucket: false)],
            StartTimeout = TimeSpan.FromSeconds(60),
        }));
        Assert.Contains("S3 bucket 'no-such-bucket-e2e' does not exist", missing.Message);

        string bucket = S3TestServer.NewBucketName("creds");
        var rejected = await Assert.ThrowsAsync<ConditionFailedException>(() => ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: true), 
                // s3rver knows one access key and does not check the secret of a known key: an unknown key it rejects.
                "--Storage:S3:AccessKey=NOT-A-KEY", "--Storage:S3:SecretKey=NOT-A-SECRET"],
            StartTimeout = TimeSpan.FromSeconds(60),
        }));
        Assert.Contains("rejected the credentials", rejected.Message);
    }

    [Fact]
    public async Task A_15_second_S3_outage_mid_stream_loses_nothing_and_playback_through_the_live_origin_continues()
    {
        await using var s3 = await S3TestServer.StartAsync();
        string bucket = S3TestServer.NewBucketName("outage");
        // Ingest with its own origin role: viewers keep being served from memory while S3 is away.
        await using var ingest = await S3Nodes.StartIngestAsync(s3.Url, bucket, alsoOrigin: true, record: true);
        string Logs() => $"--- ingest ---{Environment.NewLine}{ingest.LogTail(80)}{Environment.NewLine}--- s3rver ---{Environment.NewLine}{s3.LogTail(10)}";
        using var bucketStore = S3Nodes.Bucket(s3.Url, bucket);

        var clip = await TestMedia.GetClipAsync(StorageFixture.Clip);
        var channel = await ingest.Api.CreateChannelAsync($"s3 outage {Guid.NewGuid():N}");
        await using var publisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(channel.StreamKey));

        // Every version of the live playlists the viewers saw (from the node's memory), kept for the gap check.
        var seen = new ConcurrentDictionary<string, string>();
        using var stopWatching = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stopWatching.IsCancellationRequested)
            {
                foreach (var rendition in new[] { "source", "audio" })
                {
                    try
                    {
                        using var r = await ingest.Viewer.GetAsync($"live/{channel.Slug}/{rendition}/index.m3u8", stopWatching.Token);
                        if (r.IsSuccessStatusCode) seen.TryAdd(await r.Content.ReadAsStringAsync(stopWatching.Token), rendition);
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
                    {
                    }
                }

                try { await Task.Delay(300, stopWatching.Token); }
                catch (OperationCanceledException) { }
            }
        });

        // Stop S3 once the first segment is there: mid-stream, with most of the 20 s still to come.
        await WaitFor.ConditionAsync(async () => (await S3Nodes.ListAsync(bucketStore, $"{channel.Slug}/source/")).Any(k => k.EndsWith(".m4s", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(40), "the first segment in the bucket", Logs);
        await s3.StopAsync();
        var outageStart = DateTime.UtcNow;

        var master = new Uri(ingest.BaseUri, $"live/{channel.Slug}/master.m3u8");
        var browser = await fixture.BrowserAsync();
        await using var player = await browser.OpenAsync(PlayerKind.Hls);
        await player.StartAsync(master.ToString());
        await player.WaitUntilPlayingAsync(TimeSpan.FromSeconds(30), Logs);
        double playingAt = await player.GetCurrentTimeAsync();

        // The backlog is visible while S3 is down.
        await WaitFor.ConditionAsync(async () => await S3Nodes.BacklogAsync(ingest) is { StoreReachable: false, PendingObjects: > 0 },
            TimeSpan.FromSeconds(15), "the upload backlog to show S3 unreachable with objects waiting", Logs);
        var during = await S3Nodes.BacklogAsync(ingest);

        var remaining = TimeSpan.FromSeconds(15) - (DateTime.UtcNow - outageStart);
        if (remaining > TimeSpan.Zero) await Task.Delay(remaining); // the outage itself is the scenario, not a wait for a condition
        await s3.RestartAsync();

        // Playback kept going across the outage and after it, without a fatal error.
        await player.WaitForCurrentTimeAsync(playingAt + 8, TimeSpan.FromSeconds(30), Logs);
        var fatal = await player.GetFatalErrorsAsync();
        Assert.True(fatal.Count == 0, $"fatal: {string.Join("; ", fatal)}{Environment.NewLine}{await player.DescribeAsync()}");

        Assert.Equal(0, await publisher.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await WaitFor.ConditionAsync(async () => await S3Nodes.BacklogAsync(ingest) is { StoreReachable: true, PendingObjects: 0 }
                && (await S3Nodes.ListAsync(bucketStore, $"{channel.Slug}/recordings/")).Count >= 2,
            TimeSpan.FromSeconds(60), "the backlog to drain and the recording manifests to reach the bucket", Logs);
        await stopWatching.CancelAsync();
        await watcher;
        var after = await S3Nodes.BacklogAsync(ingest);
        Assert.Equal(0, after.Dropped);

        var keys = (await S3Nodes.ListAsync(bucketStore, $"{channel.Slug}/")).ToHashSet(StringComparer.Ordinal);
        // Every segment any live playlist named (all versions the viewers saw, and the final ones in the bucket) is in the bucket.
        var playlists = seen.Select(p => (Rendition: p.Value, Text: p.Key)).ToList();
        foreach (var rendition in new[] { "source", "audio" })
        {
            var stored = await bucketStore.GetAsync($"{channel.Slug}/{rendition}/index.m3u8", default);
            Assert.NotNull(stored);
            playlists.Add((rendition, Encoding.UTF8.GetString(stored.Data.Span)));
        }

        Assert.True(playlists.Count > 10, $"only {playlists.Count} playlist versions seen");
        foreach (var (rendition, text) in playlists)
        {
            var (sequence, segments) = S3Nodes.ParsePlaylist(text);
            foreach (var s in segments)
                Assert.True(keys.Contains($"{channel.Slug}/{rendition}/{s}"), $"{rendition}/{s} named by a playlist is missing from the bucket{Environment.NewLine}{text}");
            // Numbers in a playlist are consecutive and start at its EXT-X-MEDIA-SEQUENCE.
            var numbers = segments.Select(S3Nodes.SegmentNumber).ToList();
            Assert.Equal(Enumerable.Range(0, numbers.Count).Select(i => sequence + i), numbers);
        }

        // The recording (VOD playlist in the bucket) names every segment from the first, without gaps, and all exist.
        foreach (var rendition in new[] { "source", "audio" })
        {
            var vodKey = keys.Single(k => k.StartsWith($"{channel.Slug}/{rendition}/", StringComparison.Ordinal) && k.EndsWith(".m3u8", StringComparison.Ordinal) && !k.EndsWith("/index.m3u8", StringComparison.Ordinal));
            var vod = Encoding.UTF8.GetString((await bucketStore.GetAsync(vodKey, default))!.Data.Span);
            var (_, segments) = S3Nodes.ParsePlaylist(vod);
            var numbers = segments.Select(S3Nodes.SegmentNumber).ToList();
            Assert.True(numbers.Count >= 8, $"{vodKey} names {numbers.Count} segments");
            Assert.Equal(Enumerable.Range(0, numbers.Count).Select(i => numbers[0] + i), numbers);
            foreach (var s in segments) Assert.Contains($"{channel.Slug}/{rendition}/{s}", keys);
        }

        Assert.True(during.PendingObjects > 0);
    }
}
