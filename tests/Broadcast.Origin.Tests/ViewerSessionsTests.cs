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
    public void Cmcd_flags_belong_to_the_bucket_their_request_fell_in_and_never_leak_across_the_boundary()
    {
        var clock = new ManualClock(Start.AddSeconds(9));
        var sessions = new ViewerSessions(clock);
        sessions.Touch("show", 1, ViewerDelivery.Hls, ViewerCmcd.Sent);
        sessions.Touch("show", 2, ViewerDelivery.Hls);
        sessions.Touch("show", 3, ViewerDelivery.Dash, ViewerCmcd.Sent | ViewerCmcd.Stalled);
        sessions.Touch("show", 3, ViewerDelivery.Unknown, ViewerCmcd.Sent); // a later request without 'bs' keeps the stall

        clock.Advance(TimeSpan.FromSeconds(1)); // bucket 1 begins: its first requests stall (1) or say nothing (3)
        sessions.Touch("show", 1, ViewerDelivery.Unknown, ViewerCmcd.Sent | ViewerCmcd.Stalled);
        sessions.Touch("show", 3, ViewerDelivery.Unknown);
        sessions.Touch("show", 2, ViewerDelivery.Unknown, ViewerCmcd.Sent);

        // Bucket 0 read after bucket 1 began: each viewer's flags as they were in bucket 0.
        var first = sessions.Sample(Bucket0).Single().Sessions.ToDictionary(s => s.Viewer, s => s.Cmcd);
        Assert.Equal(ViewerCmcd.Sent, first[1]);
        Assert.Equal(ViewerCmcd.None, first[2]);
        Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, first[3]);
        var second = sessions.Sample(Bucket0 + 10).Single().Sessions.ToDictionary(s => s.Viewer, s => s.Cmcd);
        Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, second[1]);
        Assert.Equal(ViewerCmcd.Sent, second[2]);
        Assert.Equal(ViewerCmcd.None, second[3]);

        // Two buckets on, bucket 0's flags are gone with it; bucket 2 starts clean.
        clock.Advance(TimeSpan.FromSeconds(10));
        sessions.Touch("show", 1, ViewerDelivery.Unknown);
        Assert.Equal(ViewerCmcd.None, sessions.Sample(Bucket0 + 20).Single().Sessions.Single().Cmcd);
        Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, sessions.Sample(Bucket0 + 10).Single().Sessions.Single(s => s.Viewer == 1).Cmcd);
    }

    [Fact]
    public async Task Flags_set_while_the_next_bucket_starts_stay_in_their_own_bucket()
    {
        // Requests race the boundary: CMCD without a stall is said while the clock reads bucket 0, a stall without 'Sent'
        // once it reads bucket 1 (the request's own bucket is read after, so never earlier). A stall in bucket 0 is a flag
        // of the new bucket leaked into the previous one.
        var clock = new ManualClock(Start.AddSeconds(9));
        var sessions = new ViewerSessions(clock);
        const int viewers = 64;
        using var ready = new CountdownEvent(4);
        var touchers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (ulong v = 1; v <= viewers; v++) sessions.Touch("show", v, ViewerDelivery.Hls, ViewerCmcd.Sent);
            ready.Signal();
            int roundsAfter = 0;
            while (roundsAfter < 200)
            {
                bool inFirst = ViewerSessions.BucketOf(clock.GetUtcNow()) == Bucket0;
                if (!inFirst) roundsAfter++;
                for (ulong v = 1; v <= viewers; v++)
                    sessions.Touch("show", v, ViewerDelivery.Unknown, inFirst ? ViewerCmcd.Sent : ViewerCmcd.Stalled);
            }
        })).ToArray();
        Assert.True(ready.Wait(TimeSpan.FromSeconds(30)));
        clock.Advance(TimeSpan.FromSeconds(1));
        await Task.WhenAll(touchers).WaitAsync(TimeSpan.FromSeconds(60));

        var first = sessions.Sample(Bucket0).Single().Sessions;
        Assert.Equal(viewers, first.Count);
        Assert.All(first, s => Assert.Equal(ViewerCmcd.Sent, s.Cmcd));
        var second = sessions.Sample(Bucket0 + 10).Single().Sessions;
        Assert.Equal(viewers, second.Count);
        Assert.All(second, s => Assert.True(s.Cmcd.HasFlag(ViewerCmcd.Stalled)));
    }

    [Fact]
    public void Cmcd_flags_change_nothing_of_the_cap()
    {
        var sessions = new ViewerSessions(new ManualClock(Start), maxSessionsPerChannel: 10);
        for (ulong id = 1; id <= 30; id++) sessions.Touch("show", id, ViewerDelivery.Hls, ViewerCmcd.Sent | ViewerCmcd.Stalled);
        var sample = sessions.Sample(Bucket0).Single();
        Assert.Equal((10, 20L), (sample.Viewers, sample.Uncounted));
        Assert.All(sample.Sessions, s => Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, s.Cmcd));
    }

    [Fact]
    public void A_known_viewers_request_with_cmcd_allocates_nothing()
    {
        var sessions = new ViewerSessions(TimeProvider.System);
        for (ulong id = 1; id <= 100; id++) sessions.Touch("show/v0/seg.m4s".AsSpan(0, 4), id, ViewerDelivery.Hls);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int round = 0; round < 100; round++)
        {
            for (ulong id = 1; id <= 100; id++)
                sessions.Touch("show/v0/seg.m4s".AsSpan(0, 4), id, ViewerDelivery.Unknown, round % 2 == 0 ? ViewerCmcd.Sent : ViewerCmcd.Stalled);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
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
        Assert.Equal(2, sample.Sessions.Count(v => v.Cmcd == ViewerCmcd.Sent));
        Assert.Equal(3, sample.Sessions.Count(v => v.Cmcd == ViewerCmcd.None));
    }

    [Fact]
    public async Task A_served_request_reporting_a_buffer_starvation_flags_its_viewer_stalled_and_a_master_playlist_flags_no_one()
    {
        var clock = new ManualClock(Start);
        var store = new InMemorySegmentStore();
        foreach (string key in new[] { "ch/master.m3u8", "ch/v0/seg_1.m4s" }) store.Seed(key, [1], "", null, Start, "e");
        await using var server = await OriginServer.StartAsync(store, clock);
        var sessions = server.Services.GetRequiredService<ViewerSessions>();

        async Task GetAsync(string path, params (string Name, string Value)[] headers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Query mode, then header mode (CTA-5004 §2.2): 'bs' in CMCD-Status; a malformed value alone is no CMCD data.
        await GetAsync("/live/ch/master.m3u8?CMCD=bs%2Csid%3D%22m%22");
        await GetAsync("/live/ch/v0/seg_1.m4s?CMCD=bs%2Csid%3D%22q%22");
        await GetAsync("/live/ch/v0/seg_1.m4s", ("CMCD-Status", "bs"), ("CMCD-Session", "sid=\"h\""));
        await GetAsync("/live/ch/v0/seg_1.m4s?CMCD=br%3Dx%2Csid%3Dbad", ("User-Agent", "malformed"));

        var sample = Assert.Single(sessions.Sample(Bucket0));
        static ulong Identity(string sid)
        {
            var data = new Broadcast.Origin.Cmcd.CmcdData();
            Broadcast.Origin.Cmcd.CmcdReader.Read($"sid=\"{sid}\"", ref data);
            return data.SessionIdIdentity;
        }

        Assert.Equal(3, sample.Viewers);
        Assert.DoesNotContain(sample.Sessions, v => v.Viewer == Identity("m"));
        Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, sample.Sessions.Single(v => v.Viewer == Identity("q")).Cmcd);
        Assert.Equal(ViewerCmcd.Sent | ViewerCmcd.Stalled, sample.Sessions.Single(v => v.Viewer == Identity("h")).Cmcd);
        Assert.Equal(ViewerCmcd.None, sample.Sessions.Single(v => v.Viewer != Identity("q") && v.Viewer != Identity("h")).Cmcd);
    }

    [Fact]
    public void Failed_requests_count_per_channel_served_in_the_bucket_they_failed_in_and_never_for_an_unknown_channel()
    {
        var clock = new ManualClock(Start.AddSeconds(3));
        var sessions = new ViewerSessions(clock);
        sessions.Touch("show", 1, ViewerDelivery.Hls);
        sessions.Failed("show", RequestFailure.NotFound);
        sessions.Failed("show", RequestFailure.NotFound);
        sessions.Failed("show", RequestFailure.Unavailable);
        sessions.Failed("invented", RequestFailure.NotFound); // never served here: no entry is made for it

        var first = Assert.Single(sessions.Sample(Bucket0));
        Assert.Equal(("show", 1, 2L, 1L), (first.Channel, first.Viewers, first.NotFound, first.Unavailable));

        // Read once: the next bucket starts from zero; a bucket with failures and no viewer is still a sample.
        clock.Advance(TimeSpan.FromSeconds(10));
        sessions.Failed("show", RequestFailure.Unavailable);
        var second = Assert.Single(sessions.Sample(Bucket0 + 10));
        Assert.Equal((0, 0L, 1L), (second.Viewers, second.NotFound, second.Unavailable));
        clock.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(sessions.Sample(Bucket0 + 20));

        // A failure in the second after a bucket ends, before the sampler reads that bucket, is the next bucket's.
        sessions.Touch("show", 1, ViewerDelivery.Hls);
        clock.Advance(TimeSpan.FromSeconds(7));
        sessions.Failed("show", RequestFailure.NotFound); // in Bucket0 + 30, read after its settle
        var third = Assert.Single(sessions.Sample(Bucket0 + 20));
        Assert.Equal((0L, 0L), (third.NotFound, third.Unavailable));
        Assert.Equal(1L, Assert.Single(sessions.Sample(Bucket0 + 30)).NotFound);
        // A bucket never read is dropped once a later one starts: its failures do not land in another.
        clock.Advance(TimeSpan.FromSeconds(10));
        sessions.Failed("show", RequestFailure.Unavailable); // Bucket0 + 40, never read
        clock.Advance(TimeSpan.FromSeconds(20));
        sessions.Failed("show", RequestFailure.NotFound); // Bucket0 + 60
        var later = Assert.Single(sessions.Sample(Bucket0 + 60));
        Assert.Equal((1L, 0L), (later.NotFound, later.Unavailable));
    }

    [Fact]
    public async Task The_origin_counts_its_404s_and_503s_of_a_served_channels_media_and_not_of_its_master_or_other_channels()
    {
        var clock = new ManualClock(Start);
        var store = new InMemorySegmentStore();
        store.Seed("ch/v0/index.m3u8", [1], "", null, Start, "e");
        await using var server = await OriginServer.StartAsync(store, clock);
        var sessions = server.Services.GetRequiredService<ViewerSessions>();

        async Task ExpectAsync(string path, HttpStatusCode status)
        {
            using var response = await server.Client.GetAsync(path);
            Assert.Equal(status, response.StatusCode);
        }

        await ExpectAsync("/live/ch/v0/index.m3u8", HttpStatusCode.OK);
        await ExpectAsync("/live/ch/v0/seg_9.m4s", HttpStatusCode.NotFound);
        await ExpectAsync("/live/ch/v0/seg_10.m4s", HttpStatusCode.NotFound);
        await ExpectAsync("/live/ch/manifest.mpd", HttpStatusCode.NotFound);
        await ExpectAsync("/live/ch/master.m3u8", HttpStatusCode.NotFound); // a master is not watching: not counted
        await ExpectAsync("/live/nobody/v0/seg_1.m4s", HttpStatusCode.NotFound); // never served here: not counted
        store.FailGetsWith = new IOException("disk gone");
        await ExpectAsync("/live/ch/v0/seg_11.m4s", HttpStatusCode.ServiceUnavailable);

        var sample = Assert.Single(sessions.Sample(Bucket0));
        Assert.Equal(("ch", 3L, 1L), (sample.Channel, sample.NotFound, sample.Unavailable));
    }
}
