using System.Diagnostics;
using System.Net;
using System.Text;
using Broadcast.Origin;
using Broadcast.Storage;
using Broadcast.Storage.Notifications;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace Broadcast.Server.Tests.ObjectNotifications;

/// <summary>
/// PostgreSQL LISTEN/NOTIFY between an ingest node and an origin-only node. The origin-only node is the real composition
/// root (<c>--Roles=origin</c>, <c>Database:Kind=postgres</c>, no recheck); the ingest side is its upload target as
/// wired on an ingest node (<see cref="NotifyingSegmentStore"/> + <see cref="StoredObjectNotifier"/>), writing into the
/// store both nodes share, so the origin sees no put of its own and can only learn of the part by notification.
/// </summary>
[Trait("Kind", "Component")]
public sealed class StoredObjectNotificationTests(ITestOutputHelper output)
{
    private const string Id = "20261121T054512Z";
    private const string Key = "chan/source/index.m3u8";
    private const string Hls = "application/vnd.apple.mpegurl";
    private static readonly TimeSpan WakeBound = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task An_origin_only_node_answers_a_blocking_reload_when_the_ingest_node_notifies_the_part()
    {
        using var pg = new PostgresTestCluster();
        string connection = pg.CreateDatabase("notify");
        using var shared = new TempDirectory("notify-store");
        await using var origin = await InProcessServer.StartAsync(
            "--Roles=origin", "--Playback:PublicOnly=true", $"--Storage:Path={shared.Path}",
            "--Database:Kind=postgres", $"--Database:ConnectionString={connection}", "--Origin:BlockingRecheckMilliseconds=0");
        var arrivals = origin.Services.GetRequiredService<ObjectArrivals>();
        await WaitFor.ConditionAsync(() => arrivals.Subscribed, TimeSpan.FromSeconds(30), "the origin to LISTEN");

        using var notifier = new StoredObjectNotifier(connection, NullLogger<StoredObjectNotifier>.Instance);
        await notifier.StartAsync(default);
        var ingest = new NotifyingSegmentStore(new FileSystemSegmentStore(shared.Path), notifier);
        try
        {
            var best = TimeSpan.MaxValue;
            // Best of three, each bounded: the bound is on the wake-up, not on one loaded moment of this machine.
            for (int attempt = 0; attempt < 3; attempt++)
            {
                await PutAsync(ingest, Playlist(5, attempt));
                var request = origin.Http.GetAsync($"/live/{Key}?_HLS_msn=5&_HLS_part={attempt}");
                await WaitFor.ConditionAsync(() => arrivals.HasWaiters("chan/source") || request.IsCompleted, TimeSpan.FromSeconds(10), "the request to wait");
                Assert.False(request.IsCompleted, "the reload must wait for the part");
                var clock = Stopwatch.StartNew();
                await PutAsync(ingest, Playlist(5, attempt + 1));
                using var response = await request;
                clock.Stop();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Contains($"{Id}-5.{attempt}.m4s", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
                if (clock.Elapsed < best) best = clock.Elapsed;
            }

            Assert.True(best < WakeBound, $"best answer {best.TotalMilliseconds} ms after the part was stored (recheck is off: only NOTIFY wakes it)");
            // Not one notification per attempt: a waiting request takes its wake-up before it looks at the store again
            // (ObjectArrivals.NextIn), so on a loaded machine that look can already see the next part and answer, and the
            // put's notification is then still queued when the next attempt's first put comes: puts of one key queued
            // together are coalesced into one NOTIFY (2 for 3 attempts in a clean-clone run). Without NOTIFY the answers
            // that did wait would never come (recheck is off), so the request above proves the wake-up.
            Assert.True(notifier.Sent >= 1, $"{notifier.Sent} notifications sent");
            output.WriteLine($"best wake-up via NOTIFY: {best.TotalMilliseconds:F1} ms");
        }
        finally
        {
            await notifier.StopAsync(default);
        }
    }

    [Fact]
    public async Task A_notified_key_is_read_again_instead_of_the_origins_cached_copy()
    {
        using var pg = new PostgresTestCluster();
        string connection = pg.CreateDatabase("notify");
        using var shared = new TempDirectory("notify-store");
        await using var origin = await InProcessServer.StartAsync(
            "--Roles=origin", "--Playback:PublicOnly=true", $"--Storage:Path={shared.Path}",
            "--Database:Kind=postgres", $"--Database:ConnectionString={connection}");
        var arrivals = origin.Services.GetRequiredService<ObjectArrivals>();
        var cache = origin.Services.GetRequiredService<RecentObjectCache>();
        await WaitFor.ConditionAsync(() => arrivals.Subscribed, TimeSpan.FromSeconds(30), "the origin to LISTEN");

        // The origin holds version 1 in memory (a put of its own keeps a copy).
        await PutAsync(cache, Playlist(5, 1));
        Assert.True(cache.Contains(Key));

        using var notifier = new StoredObjectNotifier(connection, NullLogger<StoredObjectNotifier>.Instance);
        await notifier.StartAsync(default);
        try
        {
            var woken = arrivals.NextIn("chan/source");
            await PutAsync(new NotifyingSegmentStore(new FileSystemSegmentStore(shared.Path), notifier), Playlist(5, 2));
            await woken.WaitAsync(TimeSpan.FromSeconds(10));
            Assert.False(cache.Contains(Key));
            var stored = await cache.GetAsync(Key, default);
            Assert.Contains($"{Id}-5.1.m4s", Encoding.UTF8.GetString(stored!.Data.Span), StringComparison.Ordinal);
        }
        finally
        {
            await notifier.StopAsync(default);
        }
    }

    [Fact]
    public async Task Notifying_never_blocks_the_upload_path_when_the_database_is_unreachable()
    {
        int closedPort = FreePort.Tcp();
        using var notifier = new StoredObjectNotifier($"Host=127.0.0.1;Port={closedPort};Username=postgres;Timeout=2",
            NullLogger<StoredObjectNotifier>.Instance);
        await notifier.StartAsync(default);
        try
        {
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < 10_000; i++) notifier.Enqueue($"chan/source/{Id}-{i}.m4s");
            clock.Stop();
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"10000 keys queued in {clock.ElapsedMilliseconds} ms");
            // The queue is bounded: past its capacity the oldest keys go.
            Assert.True(notifier.Dropped > 0, "a full queue drops keys");
            Assert.Equal(0, notifier.Sent);
            notifier.Enqueue(new string('k', StoredObjectNotifier.MaxPayloadBytes + 1)); // too long for a payload: ignored, no throw
        }
        finally
        {
            await notifier.StopAsync(default);
        }
    }

    private static Task PutAsync(ISegmentStore store, string text) =>
        store.PutAsync(Key, Encoding.UTF8.GetBytes(text), Hls, "public, max-age=1", default).AsTask();

    /// <summary>A low-latency playlist whose open segment <paramref name="nextMsn"/> has <paramref name="nextPart"/> parts.</summary>
    private static string Playlist(long nextMsn, int nextPart)
    {
        var sb = new StringBuilder("#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-TARGETDURATION:2\n");
        sb.Append("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.999,CAN-SKIP-UNTIL=12.0\n#EXT-X-PART-INF:PART-TARGET=0.333\n");
        sb.Append($"#EXT-X-MEDIA-SEQUENCE:{nextMsn - 3}\n#EXT-X-MAP:URI=\"{Id}-init.mp4\"\n");
        for (long n = nextMsn - 3; n < nextMsn; n++) sb.Append($"#EXTINF:2.000,\n{Id}-{n}.m4s\n");
        for (int k = 0; k < nextPart; k++) sb.Append($"#EXT-X-PART:DURATION=0.30000,URI=\"{Id}-{nextMsn}.{k}.m4s\"\n");
        sb.Append($"#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"{Id}-{nextMsn}.{nextPart}.m4s\"\n");
        return sb.ToString();
    }
}
