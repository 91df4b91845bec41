using System.Net;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>
/// The viewers per channel in 10 s buckets that the audience kept per broadcast is made of: who was seen in a bucket, by
/// delivery, a bucket read after the next began, quiet viewers leaving the table, the cap per channel, and the requests an
/// origin serves (the CMCD session id as the viewer when sent, the manifest telling the delivery).
/// </summary>
public sealed class ViewerSessionsTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);
    private static readonly long Bucket0 = Start.ToUnixTimeSeconds();

    [Fact]
    public void A_bucket_holds_the_viewers_seen_in_it_by_delivery_and_their_first_bucket()
    {
        var clock = new ManualClock(Start.AddSeconds(3));
        var sessions = new ViewerSessions(clock);
        sessions.Touch("show", 1, ViewerDelivery.Hls);
        sessions.Touch("show", 2, ViewerDelivery.Dash);
        sessions.Touch("show", 2, ViewerDelivery.Unknown); // a segment: the delivery stays DASH
        sessions.Touch("show", 3, ViewerDelivery.LowLatencyHls);
        sessions.Touch("other", 1, ViewerDelivery.Hls);

        clock.Advance(TimeSpan.FromSeconds(10)); // bucket 1: viewer 1 again, on its first request of the bucket
        sessions.Touch("show", 1, ViewerDelivery.Unknown);
        // Read late: bucket 0 is read after bucket 1 began, and still holds all three.
        var first = sessions.Sample(Bucket0).Single(s => s.Channel == "show");
        Assert.Equal((3, 1, 1, 1, 0L), (first.Viewers, first.Hls, first.LowLatencyHls, first.Dash, first.Uncounted));
        Assert.All(first.Sessions, s => Assert.Equal((Bucket0, Bucket0), (s.FirstBucket, s.LastBucket)));

        var second = sessions.Sample(Bucket0 + 10).Single();
        Assert.Equal("show", second.Channel);
        var one = Assert.Single(second.Sessions);
        Assert.Equal((1UL, Bucket0, Bucket0 + 10, ViewerDelivery.Hls), (one.Viewer, one.FirstBucket, one.LastBucket, one.Delivery));

        // A bucket nobody watched in gives no sample; a viewer quiet for a minute leaves, and comes back with a new first bucket.
        clock.Advance(TimeSpan.FromSeconds(90));
        Assert.Empty(sessions.Sample(Bucket0 + 80));
        sessions.Touch("show", 1, ViewerDelivery.Hls);
        var back = Assert.Single(sessions.Sample(Bucket0 + 100).Single().Sessions);
        Assert.Equal(Bucket0 + 100, back.FirstBucket);
    }

    [Fact]
    public void A_flood_of_viewers_fills_only_its_channel_up_to_the_cap_and_the_rest_count_as_uncounted()
    {
        var clock = new ManualClock(Start);
        var sessions = new ViewerSessions(clock, maxSessionsPerChannel: 100);
        sessions.Touch("quiet", 7, ViewerDelivery.Dash);
        for (ulong id = 1; id <= 1000; id++) sessions.Touch("show", id, ViewerDelivery.Hls);
        sessions.Touch("show", 5, ViewerDelivery.Hls); // one already kept keeps being counted

        var samples = sessions.Sample(Bucket0);
        var show = samples.Single(s => s.Channel == "show");
        Assert.Equal((100, 100, 900L), (show.Viewers, show.Sessions.Count, show.Uncounted));
        var quiet = samples.Single(s => s.Channel == "quiet");
        Assert.Equal((1, 1, 0L), (quiet.Viewers, quiet.Dash, quiet.Uncounted));
        Assert.Equal(Bucket0 - 10, ViewerSessions.BucketOf(Start.AddSeconds(-1)));
    }

    [Fact]
    public void Without_a_sampler_quiet_viewers_still_leave_so_a_full_table_takes_new_ones_again()
    {
        var clock = new ManualClock(Start);
        var sessions = new ViewerSessions(clock, maxSessionsPerChannel: 10);
        for (ulong id = 1; id <= 10; id++) sessions.Touch("show", id, ViewerDelivery.Hls);
        sessions.Touch("show", 11, ViewerDelivery.Hls); // full: uncounted
        clock.Advance(TimeSpan.FromMinutes(3));
        sessions.Touch("show", 12, ViewerDelivery.Hls); // prunes the quiet ten, and is kept
        sessions.Touch("show", 13, ViewerDelivery.Hls);
        var sample = sessions.Sample(ViewerSessions.BucketOf(clock.GetUtcNow())).Single();
        Assert.Equal((2, 1L), (sample.Viewers, sample.Uncounted));
    }

    [Fact]
    public void A_known_viewers_request_allocates_nothing()
    {
        var sessions = new ViewerSessions(TimeProvider.System);
        for (ulong id = 1; id <= 100; id++) sessions.Touch("show/v0/seg.m4s".AsSpan(0, 4), id, ViewerDelivery.Hls);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
        {
            for (ulong id = 1; id <= 100; id++) sessions.Touch("show/v0/seg.m4s".AsSpan(0, 4), id, ViewerDelivery.Unknown);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Served_requests_make_viewers_keyed_by_the_cmcd_session_id_when_sent_with_the_manifest_telling_the_delivery()
    {
        var clock = new ManualClock(Start);
        var store = new InMemorySegmentStore();
        foreach (string key in new[] { "ch/master.m3u8", "ch/v0/index.m3u8", "ch/v0/seg_1.m4s", "ch/manifest.mpd" })
            store.Seed(key, [1], "", null, Start, "e");
        await using var server = await OriginServer.StartAsync(store, clock);
        var sessions = server.Services.GetRequiredService<ViewerSessions>();

        async Task GetAsync(string path, string? userAgent = null)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (userAgent is not null) request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await GetAsync("/live/ch/master.m3u8", "hls-player"); // a master playlist counts no one
        await GetAsync("/live/ch/v0/index.m3u8", "hls-player");
        await GetAsync("/live/ch/v0/index.m3u8?_HLS_msn=1&_HLS_part=0", "ll-player");
        await GetAsync("/live/ch/manifest.mpd", "dash-player");
        await GetAsync("/live/ch/v0/seg_1.m4s", "dash-player");
        // Two players with one address and User-Agent, told apart by their CMCD session ids.
        await GetAsync("/live/ch/v0/seg_1.m4s?CMCD=sid%3D%22a%22", "cmcd-player");
        await GetAsync("/live/ch/v0/seg_1.m4s?CMCD=sid%3D%22b%22", "cmcd-player");

        var sample = Assert.Single(sessions.Sample(Bucket0));
        Assert.Equal(("ch", 5, 1, 1, 1), (sample.Channel, sample.Viewers, sample.Hls, sample.LowLatencyHls, sample.Dash));
        // A CMCD viewer is reported by its session id's identity, the same on every origin (CmcdReaderTests), so two
        // origins behind an edge report it alike; "a" hashes as CmcdReader's unkeyed FNV-1a of its UTF-16 bytes.
        var cmcdA = new Broadcast.Origin.Cmcd.CmcdData();
        Broadcast.Origin.Cmcd.CmcdReader.Read("sid=\"a\"", ref cmcdA);
        Assert.Contains(sample.Sessions, v => v.Viewer == cmcdA.SessionIdIdentity);
    }
}
