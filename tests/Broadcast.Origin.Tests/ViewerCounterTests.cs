using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Broadcast.TestSupport;

namespace Broadcast.Origin.Tests;

public sealed class ViewerCounterTests
{
    [Theory]
    [InlineData("198.51.100.1")]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("2001:db8::7")]
    [InlineData("::ffff:198.51.100.1")] // the IPv4 viewer again, as a dual-stack socket reports it
    public void An_address_given_as_text_hashes_as_the_parsed_address(string address)
    {
        Assert.Equal(ViewerCounter.HashClient(IPAddress.Parse(address), "ua"), ViewerCounter.HashClient(address.AsSpan(), "ua"));
        Assert.Equal(ViewerCounter.HashClient(IPAddress.Parse("198.51.100.1"), "ua"), ViewerCounter.HashClient("::ffff:198.51.100.1".AsSpan(), "ua"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1.2.3.256")]
    [InlineData("1.2.3.04")] // a leading zero: octal to some parsers, refused here
    [InlineData("1..3.4")]
    [InlineData("1.2.3.4 ")]
    [InlineData("not an address")]
    public void Text_that_is_no_dotted_quad_is_not_read_as_one(string text)
    {
        Span<byte> bytes = stackalloc byte[4];
        Assert.False(ViewerCounter.TryParseDottedQuad(text, bytes));
    }

    [Fact]
    public void Text_that_is_no_address_hashes_as_no_address()
    {
        Assert.Equal(ViewerCounter.HashClient((IPAddress?)null, "ua"), ViewerCounter.HashClient("not an address".AsSpan(), "ua"));
    }

    private static readonly DateTimeOffset Start = new(2026, 11, 21, 5, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Distinct_clients_count_once_within_the_window()
    {
        ManualClock clock = new(Start);
        ViewerCounter counter = new(Options.Create(new OriginOptions()), clock);
        ulong a = ViewerCounter.HashClient(IPAddress.Parse("10.0.0.1"), "hls.js");
        ulong b = ViewerCounter.HashClient(IPAddress.Parse("10.0.0.1"), "Safari");
        ulong c = ViewerCounter.HashClient(IPAddress.Parse("10.0.0.2"), "hls.js");

        counter.Touch("ch", a);
        counter.Touch("ch", a);
        counter.Touch("ch", b);
        counter.Touch("ch", c);
        counter.Touch("other", a);

        Assert.Equal(3, counter.GetViewers("ch"));
        Assert.Equal(1, counter.GetViewers("other"));
        Assert.Equal(0, counter.GetViewers("nobody"));

        clock.Advance(TimeSpan.FromSeconds(20));
        counter.Touch("ch", a);
        clock.Advance(TimeSpan.FromSeconds(11));
        // b and c were last seen 31 s ago; a 11 s ago.
        Assert.Equal(1, counter.GetViewers("ch"));
        Assert.Equal(0, counter.GetViewers("other"));

        clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, counter.GetViewers("ch"));
    }

    [Fact]
    public void Ipv4_mapped_addresses_hash_like_plain_ipv4()
    {
        Assert.Equal(
            ViewerCounter.HashClient(IPAddress.Parse("192.0.2.7"), "ua"),
            ViewerCounter.HashClient(IPAddress.Parse("::ffff:192.0.2.7"), "ua"));
        Assert.NotEqual(
            ViewerCounter.HashClient(IPAddress.Parse("192.0.2.7"), "ua"),
            ViewerCounter.HashClient(IPAddress.Parse("192.0.2.7"), "ub"));
    }

    [Fact]
    public async Task Http_fetches_of_media_playlists_and_segments_count_viewers()
    {
        ManualClock clock = new(Start);
        InMemorySegmentStore store = new();
        foreach (string key in new[] { "ch/master.m3u8", "ch/v0/index.m3u8", "ch/v0/seg_1.m4s", "ch/manifest.mpd" })
        {
            store.Seed(key, [1], "", null, Start, "e");
        }

        await using OriginServer server = await OriginServer.StartAsync(store, clock);
        IViewerCounter viewers = server.Services.GetRequiredService<IViewerCounter>();

        async Task FetchAsync(string path, string userAgent)
        {
            using HttpRequestMessage request = new(HttpMethod.Get, path);
            request.Headers.TryAddWithoutValidation("User-Agent", userAgent);
            using HttpResponseMessage response = await server.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // A master playlist alone is not watching.
        await FetchAsync("/live/ch/master.m3u8", "player-0");
        Assert.Equal(0, viewers.GetViewers("ch"));

        await FetchAsync("/live/ch/v0/index.m3u8", "player-1");
        await FetchAsync("/live/ch/v0/seg_1.m4s", "player-1");
        await FetchAsync("/live/ch/v0/seg_1.m4s", "player-2");
        await FetchAsync("/live/ch/manifest.mpd", "player-3");
        Assert.Equal(3, viewers.GetViewers("ch"));

        // 404s do not create channels: a scan of random names cannot grow the table.
        using HttpResponseMessage missing = await server.Client.GetAsync("/live/ghost/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal(0, viewers.GetViewers("ghost"));

        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(0, viewers.GetViewers("ch"));
    }
}
