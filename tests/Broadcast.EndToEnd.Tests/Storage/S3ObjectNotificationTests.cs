using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;
using Xunit.Abstractions;

namespace Broadcast.EndToEnd.Tests.Storage;

/// <summary>
/// An ingest + control node and an origin-only node sharing PostgreSQL and a bucket, the origin with no store recheck
/// (<c>Origin:BlockingRecheckMilliseconds=0</c>): a blocking LL-HLS reload on the origin can only wake through the
/// ingest node's <c>NOTIFY broadcast_objects</c> after the playlist's upload. Own nodes: this needs PostgreSQL on both.
/// </summary>
[Collection(StorageCollection.Name)]
public sealed partial class S3ObjectNotificationTests(ITestOutputHelper output)
{
    /// <summary>From the playlist listing the part in the bucket to the origin's answer (loaded 2-core machine).</summary>
    private static readonly TimeSpan WakeBound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_blocking_reload_on_an_origin_only_node_answers_when_the_ingest_node_notifies_the_upload()
    {
        using var pg = new PostgresTestCluster();
        string connection = pg.CreateDatabase("llnotify");
        string[] database = ["--Database:Kind=postgres", $"--Database:ConnectionString={connection}"];
        string url = await S3TestServer.SharedUrlAsync();
        string bucket = S3TestServer.NewBucketName("llnotify");
        await using var ingest = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments = ["--Roles=ingest,control", .. S3Nodes.StorageArguments(url, bucket, createBucket: true), .. database],
        });
        await using var origin = await ServerProcess.StartAsync(new ServerOptions
        {
            ExtraArguments =
            [
                "--Roles=origin", "--Playback:PublicOnly=true", .. S3Nodes.StorageArguments(url, bucket, createBucket: false), .. database,
                "--Origin:BlockingRecheckMilliseconds=0",
            ],
        });
        string Logs() => $"--- ingest ---{Environment.NewLine}{ingest.LogTail(60)}{Environment.NewLine}--- origin ---{Environment.NewLine}{origin.LogTail(60)}";
        await WaitFor.ConditionAsync(() => origin.LogTail(400).Contains("Listening for stored objects", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the origin to LISTEN on PostgreSQL", Logs);

        var clip = await TestMedia.GetClipAsync(LowLatency.LowLatencyServerFixture.Clip);
        var channel = await ingest.Api.CreateChannelAsync($"llnotify {Guid.NewGuid():N}", lowLatency: true);
        await using var publisher = FfmpegPublisher.Start(clip, ingest.RtmpUrl(channel.StreamKey), loops: 2);
        string playlistPath = $"live/{channel.Slug}/source/index.m3u8";
        string key = $"{channel.Slug}/source/index.m3u8";
        using var bucketStore = S3Nodes.Bucket(url, bucket);

        var lags = new List<TimeSpan>();
        // Three measured waits; a try whose part was already listed when it began measures nothing and is not counted.
        for (int attempt = 0; attempt < 10 && lags.Count < 3; attempt++)
        {
            string playlist = "";
            await WaitFor.ConditionAsync(async () =>
                {
                    using var r = await origin.Viewer.GetAsync(playlistPath);
                    playlist = r.IsSuccessStatusCode ? await r.Content.ReadAsStringAsync() : "";
                    return Hint().IsMatch(playlist);
                }, TimeSpan.FromSeconds(40), "the origin to serve an LL-HLS playlist with a preload hint", () => Logs() + publisher.Log.Tail(10));
            var hint = Hint().Match(playlist);
            string partUri = hint.Groups["uri"].Value;
            string msn = hint.Groups["msn"].Value, part = hint.Groups["part"].Value;

            // The part is listed as a part, or (its segment complete, the parts of older segments trimmed) by the segment.
            string segmentUri = partUri[..partUri.LastIndexOf('-')] + $"-{msn}.m4s";
            bool Lists(string text) => text.Split('\n').Any(l => l == segmentUri
                || (l.StartsWith("#EXT-X-PART:", StringComparison.Ordinal) && l.Contains($"URI=\"{partUri}\"", StringComparison.Ordinal)));
            int readFailures = StoreReadFailures(origin);
            var clock = Stopwatch.StartNew();
            var request = origin.Viewer.GetAsync($"{playlistPath}?_HLS_msn={msn}&_HLS_part={part}");
            var answeredAt = request.ContinueWith(_ => clock.Elapsed, TaskScheduler.Default);
            // When the bucket's playlist lists the hinted part: watched directly, every 20 ms, bounded.
            TimeSpan? storedAt = null;
            bool sawUnlisted = false;
            for (int i = 0; i < 1000 && storedAt is null && clock.Elapsed < TimeSpan.FromSeconds(20); i++)
            {
                global::Broadcast.Storage.StoredObject? stored;
                try
                {
                    stored = await bucketStore.GetAsync(key, default);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // s3rver can answer a read racing an overwrite with a bad checksum: look again.
                    stored = null;
                }

                if (stored is not null && Lists(Encoding.UTF8.GetString(stored.Data.Span)))
                {
                    storedAt = clock.Elapsed;
                }
                else
                {
                    sawUnlisted = true;
                    await Task.WhenAny(request, Task.Delay(20));
                }
            }

            Assert.True(storedAt is not null, $"the bucket's playlist never listed {partUri}{Environment.NewLine}{Logs()}");
            using var response = await request;
            TimeSpan answered = await answeredAt;
            string body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && StoreReadFailures(origin) > readFailures)
            {
                // s3rver writes an object in place: a read racing the next overwrite of the playlist fails its checksum
                // and the origin answers 503 (retryable). Not a wake-up to measure.
                output.WriteLine($"attempt {attempt}: part {msn}.{part}: the origin's store read raced an overwrite (503), not counted");
                continue;
            }

            Assert.True(response.StatusCode == HttpStatusCode.OK && Lists(body),
                $"{(int)response.StatusCode} for _HLS_msn={msn}&_HLS_part={part}:{Environment.NewLine}{body}{Environment.NewLine}{Logs()}");
            TimeSpan lag = answered - storedAt.Value;
            output.WriteLine($"attempt {attempt}: part {msn}.{part} listed in the bucket at {storedAt.Value.TotalMilliseconds:F0} ms, origin answered at {answered.TotalMilliseconds:F0} ms (lag {lag.TotalMilliseconds:F0} ms){(sawUnlisted ? "" : ", not counted: already listed")}");
            if (lag >= WakeBound) output.WriteLine($"slow wake-up:{Environment.NewLine}{Logs()}");
            if (sawUnlisted) lags.Add(lag);
        }

        Assert.True(lags.Count > 0, $"no try began before its part was listed{Environment.NewLine}{Logs()}");
        var best = lags.Min();
        Assert.True(best < WakeBound, $"best answer {best.TotalMilliseconds:F0} ms after the bucket listed the part (no recheck: only NOTIFY wakes it){Environment.NewLine}{Logs()}");
    }

    private static int StoreReadFailures(ServerProcess origin) =>
        Regex.Count(origin.LogTail(5000), "Segment store failed reading");

    [GeneratedRegex("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"(?<uri>[^\"]*-(?<msn>\\d+)\\.(?<part>\\d+)\\.m4s)\"")]
    private static partial Regex Hint();
}
