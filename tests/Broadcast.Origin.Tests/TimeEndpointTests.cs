using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Broadcast.TestSupport;

namespace Broadcast.Origin.Tests;

public sealed class TimeEndpointTests
{
    [Fact]
    public async Task Time_is_iso8601_utc_with_milliseconds_close_to_now()
    {
        await using OriginServer server = await OriginServer.StartAsync(new InMemorySegmentStore());
        DateTimeOffset before = DateTimeOffset.UtcNow;
        using HttpResponseMessage response = await server.Client.GetAsync("/time");
        DateTimeOffset after = DateTimeOffset.UtcNow;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("no-cache", response.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        Assert.Equal("*", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Origin")));

        string body = await response.Content.ReadAsStringAsync();
        Assert.Matches(new Regex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"), body);
        DateTimeOffset served = DateTimeOffset.ParseExact(body, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
        // Milliseconds are truncated, so the served time may be up to 1 ms before 'before'.
        Assert.InRange(served, before.AddMilliseconds(-1), after);
    }

    [Fact]
    public async Task Time_comes_from_the_registered_time_provider()
    {
        ManualClock clock = new(new DateTimeOffset(2026, 11, 21, 5, 45, 12, 345, TimeSpan.Zero));
        await using OriginServer server = await OriginServer.StartAsync(new InMemorySegmentStore(), clock);
        Assert.Equal("2026-11-21T05:45:12.345Z", await server.Client.GetStringAsync("/time"));
        clock.Advance(TimeSpan.FromMilliseconds(1_007));
        Assert.Equal("2026-11-21T05:45:13.352Z", await server.Client.GetStringAsync("/time"));
        // As routing matched it: any case, and a trailing slash.
        Assert.Equal("2026-11-21T05:45:13.352Z", await server.Client.GetStringAsync("/TIME"));
        Assert.Equal("2026-11-21T05:45:13.352Z", await server.Client.GetStringAsync("/time/"));
    }

    [Fact]
    public async Task Head_time_has_length_and_no_body()
    {
        await using OriginServer server = await OriginServer.StartAsync(new InMemorySegmentStore());
        using HttpRequestMessage request = new(HttpMethod.Head, "/time");
        using HttpResponseMessage response = await server.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(24, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }
}
