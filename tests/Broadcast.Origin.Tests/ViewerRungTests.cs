using System.Net;
using Broadcast.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests;

/// <summary>
/// The rung each viewer is counted on, for the audience split by rung: the rendition its latest media request named
/// (segments, LL parts, a rendition's playlist), audio only while no video rung is known, a bucket read late keeping the
/// rung it ended on, and the bound: at most <see cref="ViewerRungs.MaxRungs"/> names per channel, the rest "other".
/// </summary>
public sealed class ViewerRungTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 20, 0, 0, TimeSpan.Zero);
    private static readonly long Bucket0 = Start.ToUnixTimeSeconds();

    [Fact]
    public async Task Served_segments_parts_and_rendition_playlists_give_each_viewer_its_latest_video_rung()
    {
        var clock = new ManualClock(Start);
        var store = new InMemorySegmentStore();
        foreach (string key in new[]
                 {
                     "ch/master.m3u8", "ch/manifest.mpd", "ch/720p/index.m3u8", "ch/720p/20261129T200000Z-init.mp4",
                     "ch/720p/20261129T200000Z-4.m4s", "ch/480p/20261129T200000Z-5.m4s", "ch/480p/20261129T200000Z-6.2.m4s",
                     "ch/audio/20261129T200000Z-5.m4s", "ch/audio-fr/20261129T200000Z-5.m4s", "ch/recordings/20261129T200000Z/master.m3u8",
                 })
            store.Seed(key, [1], "", null, Start, "e");
        await using var server = await OriginServer.StartAsync(store, clock);
        var sessions = server.Services.GetRequiredService<ViewerSessions>();

        async Task GetAsync(string path, string userAgent)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            using var response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Switched down: 720p's playlist and segment, then a 480p segment; its audio afterwards leaves the rung at 480p.
        await GetAsync("/live/ch/720p/index.m3u8", "switcher");
        await GetAsync("/live/ch/720p/20261129T200000Z-4.m4s", "switcher");
        await GetAsync("/live/ch/480p/20261129T200000Z-5.m4s", "switcher");
        await GetAsync("/live/ch/audio/20261129T200000Z-5.m4s", "switcher");
        // A low-latency viewer: its rendition's playlist, then an LL part of 480p.
        await GetAsync("/live/ch/720p/index.m3u8?_HLS_msn=6&_HLS_part=2", "ll");
        await GetAsync("/live/ch/480p/20261129T200000Z-6.2.m4s", "ll");
        // A DASH viewer that fetched the MPD and the init segment only.
        await GetAsync("/live/ch/manifest.mpd", "dash");
        await GetAsync("/live/ch/720p/20261129T200000Z-init.mp4", "dash");
        // Audio alone (an audio-only stream, or an alternate language): its audio rendition is its rung.
        await GetAsync("/live/ch/audio-fr/20261129T200000Z-5.m4s", "listener");
        // The MPD alone, and a recording's master: no rendition named, no rung.
        await GetAsync("/live/ch/manifest.mpd", "mpd-only");
        await GetAsync("/live/ch/recordings/20261129T200000Z/master.m3u8", "recording");

        var sample = Assert.Single(sessions.Sample(Bucket0));
        ulong Viewer(string userAgent) => ViewerCounter.HashClient(IPAddress.Loopback, userAgent);
        string? RungOf(string userAgent) => sample.Sessions.Single(s => s.Viewer == Viewer(userAgent)).Rung;
        Assert.Equal("480p", RungOf("switcher"));
        Assert.Equal("480p", RungOf("ll"));
        Assert.Equal("720p", RungOf("dash"));
        Assert.Equal("audio-fr", RungOf("listener"));
        Assert.Null(RungOf("mpd-only"));
        Assert.Null(RungOf("recording"));
    }

    [Fact]
    public void A_bucket_read_after_the_next_began_keeps_the_rung_it_ended_on()
    {
        var clock = new ManualClock(Start.AddSeconds(2));
        var sessions = new ViewerSessions(clock);
        sessions.Touch("show", 1, ViewerDelivery.Hls, rendition: "720p");
        sessions.Touch("show", 1, ViewerDelivery.Unknown, rendition: "1080p");
        clock.Advance(TimeSpan.FromSeconds(10));
        sessions.Touch("show", 1, ViewerDelivery.Unknown, rendition: "360p");

        Assert.Equal("1080p", sessions.Sample(Bucket0).Single().Sessions.Single().Rung);
        Assert.Equal("360p", sessions.Sample(Bucket0 + 10).Single().Sessions.Single().Rung);
    }

    [Fact]
    public void A_channel_keeps_at_most_sixteen_rung_names_and_reports_the_rest_as_other()
    {
        var sessions = new ViewerSessions(new ManualClock(Start));
        for (ulong id = 1; id <= 20; id++) sessions.Touch("show", id, ViewerDelivery.Hls, rendition: $"rung{id}");
        sessions.Touch("show", 21, ViewerDelivery.Hls, rendition: new string('x', ViewerRungs.MaxNameLength + 1));
        sessions.Touch("show", 22, ViewerDelivery.Hls, rendition: "rung3");

        var sample = sessions.Sample(Bucket0).Single();
        var rungs = sample.Sessions.GroupBy(s => s.Rung).ToDictionary(g => g.Key!, g => g.Count());
        Assert.Equal(ViewerRungs.MaxRungs + 1, rungs.Count);
        Assert.Equal(5, rungs[ViewerRungs.Other]); // rung17 to rung20, and the name too long
        Assert.Equal(2, rungs["rung3"]);
        Assert.All(Enumerable.Range(1, ViewerRungs.MaxRungs), i => Assert.True(rungs.ContainsKey($"rung{i}")));
    }

    [Fact]
    public void A_channel_nobody_watches_starts_its_rung_names_over()
    {
        var clock = new ManualClock(Start);
        var sessions = new ViewerSessions(clock);
        for (ulong id = 1; id <= 16; id++) sessions.Touch("show", id, ViewerDelivery.Hls, rendition: $"old{id}");
        clock.Advance(TimeSpan.FromMinutes(2));
        long quiet = ViewerSessions.BucketOf(clock.GetUtcNow());
        Assert.Empty(sessions.Sample(quiet)); // every viewer left: the names go with them

        sessions.Touch("show", 99, ViewerDelivery.Hls, rendition: "new-ladder");
        Assert.Equal("new-ladder", sessions.Sample(quiet).Single().Sessions.Single().Rung);
    }

    [Fact]
    public void A_known_viewers_request_naming_a_known_rung_allocates_nothing()
    {
        var sessions = new ViewerSessions(TimeProvider.System);
        const string Key = "show/720p/20261129T200000Z-4.m4s";
        for (ulong id = 1; id <= 100; id++) sessions.Touch(Key.AsSpan(0, 4), id, ViewerDelivery.Hls, rendition: ViewerRungs.RenditionOf(Key, 4));
        // The least of three windows: a per-request allocation shows in each, a one-off (32,664 bytes once in a clean-clone
        // run: the runtime recompiling the hot loop, or a bucket turning on the real clock) does not fail the test.
        long allocated = Allocations.LeastOf(3, () =>
        {
            for (int round = 0; round < 100; round++)
            {
                for (ulong id = 1; id <= 100; id++)
                    sessions.Touch(Key.AsSpan(0, 4), id, ViewerDelivery.Unknown, rendition: ViewerRungs.RenditionOf(Key, 4));
            }
        });

        Assert.Equal(0, allocated);
    }

    [Theory]
    [InlineData("ch/720p/index.m3u8", "720p")]
    [InlineData("ch/track1/20261129T200000Z-3.1.m4s", "track1")]
    [InlineData("ch/master.m3u8", "")]
    [InlineData("ch/manifest.mpd", "")]
    [InlineData("ch/recordings/20261129T200000Z/master.m3u8", "")]
    [InlineData("ch/clips/c1/720p.m3u8", "")]
    public void The_rendition_is_the_keys_second_segment_under_a_channel(string key, string expected) =>
        Assert.Equal(expected, ViewerRungs.RenditionOf(key, key.IndexOf('/')).ToString());
}
