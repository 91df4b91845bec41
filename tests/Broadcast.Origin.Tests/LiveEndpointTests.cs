using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Broadcast.Origin.Tests;

public sealed class LiveEndpointFixture : IAsyncLifetime
{
    public InMemorySegmentStore Store { get; } = new();

    public OriginServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await OriginServer.StartAsync(Store);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>Header rules of GET/HEAD /live/{key} against a real Kestrel origin.</summary>
public sealed class LiveEndpointTests(LiveEndpointFixture fixture) : IClassFixture<LiveEndpointFixture>
{
    private static readonly DateTimeOffset Modified = new(2026, 11, 21, 5, 45, 12, TimeSpan.Zero);

    private readonly InMemorySegmentStore _store = fixture.Store;
    private readonly HttpClient _client = fixture.Server.Client;

    private static byte[] Pattern(int length)
    {
        byte[] data = new byte[length];
        for (int i = 0; i < length; i++)
        {
            data[i] = (byte)i;
        }

        return data;
    }

    private string Seed(string key, byte[] data, string contentType = "", string? cacheControl = null, string etag = "abc123")
    {
        _store.Seed(key, data, contentType, cacheControl, Modified, etag);
        return "/live/" + key;
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.TryGetValues(name, out HeaderStringValues values) || response.Content.Headers.NonValidated.TryGetValues(name, out values)
            ? values.ToString()
            : throw new Xunit.Sdk.XunitException($"missing header {name}");

    private static bool HasHeader(HttpResponseMessage response, string name) =>
        response.Headers.NonValidated.Contains(name) || response.Content.Headers.NonValidated.Contains(name);

    // (extension, expected Content-Type when the store has none)
    public static TheoryData<string, string> ContentTypes => new()
    {
        { "index.m3u8", "application/vnd.apple.mpegurl" },
        { "manifest.mpd", "application/dash+xml" },
        { "init.mp4", "video/mp4" },
        { "seg_1.m4s", "video/iso.segment" },
        { "audio_1.m4a", "audio/mp4" },
    };

    [Theory]
    [MemberData(nameof(ContentTypes))]
    public async Task Content_type_follows_the_extension_when_the_store_has_none(string file, string expected)
    {
        string url = Seed("ct/v0/" + file, Pattern(10));
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, response.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public async Task Stored_content_type_wins_over_the_extension()
    {
        string url = Seed("ct/v0/odd.m4s", Pattern(10), contentType: "video/mp4");
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal("video/mp4", response.Content.Headers.ContentType!.MediaType);
    }

    // (key, body, expected Cache-Control when the store has none)
    public static TheoryData<string, string, string> CachePolicies => new()
    {
        { "cc/v0/seg_5.m4s", "segment", "public, max-age=31536000, immutable" },
        { "cc/v0/init.mp4", "init", "public, max-age=31536000, immutable" },
        { "cc/v0/audio_5.m4a", "audio", "public, max-age=31536000, immutable" },
        { "cc/v0/live.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_1.m4s\n", "public, max-age=1" },
        { "cc/v0/ended.m3u8", "#EXTM3U\n#EXTINF:2.0,\nseg_1.m4s\n#EXT-X-ENDLIST\n", "public, max-age=3600" },
        { "cc/live.mpd", "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"dynamic\"><Period/></MPD>", "public, max-age=1" },
        { "cc/ended.mpd", "<?xml version=\"1.0\"?><MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" type=\"static\"><Period/></MPD>", "public, max-age=3600" },
        { "cc/child-type.mpd", "<MPD type=\"dynamic\"><Period><X type=\"static\"/></Period></MPD>", "public, max-age=1" },
    };

    [Theory]
    [MemberData(nameof(CachePolicies))]
    public async Task Cache_control_defaults_by_kind(string key, string body, string expected)
    {
        string url = Seed(key, Encoding.UTF8.GetBytes(body));
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task Stored_cache_control_wins()
    {
        string url = Seed("cc/v0/own.m3u8", Encoding.UTF8.GetBytes("#EXTM3U\n#EXT-X-ENDLIST\n"), cacheControl: "public, max-age=2, stale-while-revalidate=4");
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal("public, max-age=2, stale-while-revalidate=4", Header(response, "Cache-Control"));
    }

    [Fact]
    public async Task Get_sends_validators_length_and_the_exact_body()
    {
        byte[] data = Pattern(300);
        string url = Seed("get/v0/seg_1.m4s", data, etag: "etag-1");
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\"etag-1\"", Header(response, "ETag"));
        Assert.Equal("Sat, 21 Nov 2026 05:45:12 GMT", Header(response, "Last-Modified"));
        Assert.Equal("bytes", Header(response, "Accept-Ranges"));
        Assert.Equal(300, response.Content.Headers.ContentLength);
        Assert.Equal(data, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Each_object_gets_its_own_last_modified_when_requests_alternate_between_them()
    {
        _store.Seed("lm/v0/seg_1.m4s", Pattern(10), "", null, Modified, "a");
        _store.Seed("lm/v0/seg_2.m4s", Pattern(10), "", null, Modified.AddSeconds(2), "b");
        _store.Seed("lm/v0/seg_3.m4s", Pattern(10), "", null, Modified.AddMilliseconds(400), "c");
        foreach (var (key, expected) in new[]
        {
            ("seg_1", "Sat, 21 Nov 2026 05:45:12 GMT"), ("seg_2", "Sat, 21 Nov 2026 05:45:14 GMT"),
            ("seg_1", "Sat, 21 Nov 2026 05:45:12 GMT"), ("seg_3", "Sat, 21 Nov 2026 05:45:12 GMT"), ("seg_2", "Sat, 21 Nov 2026 05:45:14 GMT"),
        })
        {
            using HttpResponseMessage response = await _client.GetAsync($"/live/lm/v0/{key}.m4s");
            Assert.Equal(expected, Header(response, "Last-Modified"));
        }
    }

    [Fact]
    public async Task Already_quoted_store_etag_is_not_quoted_twice()
    {
        string url = Seed("get/v0/seg_2.m4s", Pattern(3), etag: "\"q\"");
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal("\"q\"", Header(response, "ETag"));
    }

    [Fact]
    public async Task Head_has_the_headers_and_no_body()
    {
        string url = Seed("head/v0/seg_1.m4s", Pattern(1234), etag: "h1");
        using HttpRequestMessage request = new(HttpMethod.Head, url);
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1234, response.Content.Headers.ContentLength);
        Assert.Equal("\"h1\"", Header(response, "ETag"));
        Assert.Equal("video/iso.segment", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    // (If-None-Match sent, expected status) for an object whose ETag is "n1"
    public static TheoryData<string, HttpStatusCode> IfNoneMatchCases => new()
    {
        { "\"n1\"", HttpStatusCode.NotModified },
        { "W/\"n1\"", HttpStatusCode.NotModified },                  // weak comparison (RFC 9110 13.1.2)
        { "\"zz\", W/\"n1\"", HttpStatusCode.NotModified },           // list
        { "*", HttpStatusCode.NotModified },
        { "\"zz\"", HttpStatusCode.OK },
        { "\"n1x\"", HttpStatusCode.OK },
        { "n1", HttpStatusCode.OK },                                  // unquoted is not an entity-tag
    };

    [Theory]
    [MemberData(nameof(IfNoneMatchCases))]
    public async Task If_none_match(string ifNoneMatch, HttpStatusCode expected)
    {
        string url = Seed("inm/v0/seg_1.m4s", Pattern(50), etag: "n1");
        using HttpRequestMessage request = new(HttpMethod.Get, url);
        Assert.True(request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch));
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("\"n1\"", Header(response, "ETag"));
        Assert.Equal("public, max-age=31536000, immutable", Header(response, "Cache-Control"));
        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(expected == HttpStatusCode.NotModified ? 0 : 50, body.Length);
    }

    [Fact]
    public async Task If_modified_since_gives_304_only_without_if_none_match()
    {
        string url = Seed("ims/v0/seg_1.m4s", Pattern(5), etag: "m1");
        using HttpRequestMessage notModified = new(HttpMethod.Get, url);
        notModified.Headers.IfModifiedSince = Modified;
        using HttpResponseMessage first = await _client.SendAsync(notModified);
        Assert.Equal(HttpStatusCode.NotModified, first.StatusCode);

        using HttpRequestMessage older = new(HttpMethod.Get, url);
        older.Headers.IfModifiedSince = Modified.AddSeconds(-1);
        using HttpResponseMessage second = await _client.SendAsync(older);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);

        // If-None-Match takes precedence (RFC 9110 13.2.2): a mismatching tag means 200 whatever the date says.
        using HttpRequestMessage both = new(HttpMethod.Get, url);
        both.Headers.IfModifiedSince = Modified;
        Assert.True(both.Headers.TryAddWithoutValidation("If-None-Match", "\"other\""));
        using HttpResponseMessage third = await _client.SendAsync(both);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    // (Range header, expected status, expected Content-Range or null, first byte offset, length)
    public static TheoryData<string, HttpStatusCode, string?, int, int> RangeCases => new()
    {
        { "bytes=0-9", HttpStatusCode.PartialContent, "bytes 0-9/100", 0, 10 },
        { "bytes=10-19", HttpStatusCode.PartialContent, "bytes 10-19/100", 10, 10 },
        { "bytes=90-", HttpStatusCode.PartialContent, "bytes 90-99/100", 90, 10 },
        { "bytes=-5", HttpStatusCode.PartialContent, "bytes 95-99/100", 95, 5 },
        { "bytes=-500", HttpStatusCode.PartialContent, "bytes 0-99/100", 0, 100 },
        { "bytes=50-500", HttpStatusCode.PartialContent, "bytes 50-99/100", 50, 50 },
        { "BYTES=0-0", HttpStatusCode.PartialContent, "bytes 0-0/100", 0, 1 },
        { "bytes=100-", HttpStatusCode.RequestedRangeNotSatisfiable, "bytes */100", 0, 0 },
        { "bytes=150-200", HttpStatusCode.RequestedRangeNotSatisfiable, "bytes */100", 0, 0 },
        { "bytes=-0", HttpStatusCode.RequestedRangeNotSatisfiable, "bytes */100", 0, 0 },
        { "bytes=0-1,5-6", HttpStatusCode.OK, null, 0, 100 },         // multiple ranges answered whole
        { "bytes=9-2", HttpStatusCode.OK, null, 0, 100 },             // invalid: ignored
        { "items=0-9", HttpStatusCode.OK, null, 0, 100 },             // unknown unit: ignored
        { "bytes=abc", HttpStatusCode.OK, null, 0, 100 },
    };

    [Theory]
    [MemberData(nameof(RangeCases))]
    public async Task Range(string range, HttpStatusCode status, string? contentRange, int offset, int length)
    {
        byte[] data = Pattern(100);
        string url = Seed("range/v0/seg_1.m4s", data, etag: "r1");
        using HttpRequestMessage request = new(HttpMethod.Get, url);
        Assert.True(request.Headers.TryAddWithoutValidation("Range", range));
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(status, response.StatusCode);
        if (contentRange is null)
        {
            Assert.False(HasHeader(response, "Content-Range"));
        }
        else
        {
            Assert.Equal(contentRange, Header(response, "Content-Range"));
        }

        byte[] body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(data.AsSpan(offset, length).ToArray(), body);
        Assert.Equal("bytes", Header(response, "Accept-Ranges"));
    }

    [Fact]
    public async Task If_range_applies_the_range_only_for_the_current_strong_tag()
    {
        byte[] data = Pattern(100);
        string url = Seed("ifrange/v0/seg_1.m4s", data, etag: "ir1");

        async Task<HttpStatusCode> SendAsync(string ifRange)
        {
            using HttpRequestMessage request = new(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
            request.Headers.TryAddWithoutValidation("If-Range", ifRange);
            using HttpResponseMessage response = await _client.SendAsync(request);
            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.PartialContent, await SendAsync("\"ir1\""));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("\"old\""));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("W/\"ir1\""));   // weak never matches strongly
        Assert.Equal(HttpStatusCode.PartialContent, await SendAsync("Sat, 21 Nov 2026 05:45:12 GMT"));
        Assert.Equal(HttpStatusCode.OK, await SendAsync("Sat, 21 Nov 2026 05:45:11 GMT"));
    }

    [Fact]
    public async Task Head_ignores_range()
    {
        string url = Seed("range/v0/head.m4s", Pattern(100));
        using HttpRequestMessage request = new(HttpMethod.Head, url);
        request.Headers.TryAddWithoutValidation("Range", "bytes=0-9");
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(100, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Cors_headers_on_every_answer()
    {
        string url = Seed("cors/v0/seg_1.m4s", Pattern(10));
        using HttpRequestMessage request = new(HttpMethod.Get, url);
        request.Headers.Add("Origin", "https://player.example");
        using HttpResponseMessage ok = await _client.SendAsync(request);
        Assert.Equal("*", Header(ok, "Access-Control-Allow-Origin"));
        string exposed = Header(ok, "Access-Control-Expose-Headers");
        foreach (string name in new[] { "Content-Length", "Content-Range", "ETag", "Date" })
        {
            Assert.Contains(name, exposed, StringComparison.OrdinalIgnoreCase);
        }

        using HttpResponseMessage missing = await _client.GetAsync("/live/cors/v0/none.m4s");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("*", Header(missing, "Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("/live/cors/v0/seg_1.m4s")]
    [InlineData("/time")]
    public async Task Preflight_is_answered_204(string path)
    {
        using HttpRequestMessage request = new(HttpMethod.Options, path);
        request.Headers.Add("Origin", "https://player.example");
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", "range");
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal("*", Header(response, "Access-Control-Allow-Origin"));
        string methods = Header(response, "Access-Control-Allow-Methods");
        foreach (string method in new[] { "GET", "HEAD", "OPTIONS" })
        {
            Assert.Contains(method, methods, StringComparison.Ordinal);
        }

        string allowed = Header(response, "Access-Control-Allow-Headers");
        Assert.Contains("Range", allowed, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("If-None-Match", allowed, StringComparison.OrdinalIgnoreCase);
        // A player reporting CMCD in headers (hls.js useHeaders, dash.js mode "header") is let through its preflight.
        foreach (string cmcd in new[] { "CMCD-Request", "CMCD-Object", "CMCD-Status", "CMCD-Session" })
            Assert.Contains(cmcd, allowed, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task The_origins_door_takes_get_and_head_of_live_in_any_case_and_leaves_the_rest_to_routing()
    {
        string url = Seed("door/v0/seg_1.m4s", Pattern(12));
        // The prefix in any case, as the catch-all route matched it; the key keeps its own case.
        using HttpResponseMessage upper = await _client.GetAsync("/LIVE/door/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.OK, upper.StatusCode);
        Assert.Equal(Pattern(12), await upper.Content.ReadAsByteArrayAsync());
        using HttpResponseMessage otherCase = await _client.GetAsync("/live/DOOR/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.NotFound, otherCase.StatusCode);

        using HttpRequestMessage head = new(HttpMethod.Head, url);
        using HttpResponseMessage headAnswer = await _client.SendAsync(head);
        Assert.Equal(HttpStatusCode.OK, headAnswer.StatusCode);
        Assert.Equal(12, headAnswer.Content.Headers.ContentLength);

        // No key: refused as before, never a store read of "".
        foreach (string bare in new[] { "/live", "/live/" })
        {
            using HttpResponseMessage refused = await _client.GetAsync(bare);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("no-store", Header(refused, "Cache-Control"));
        }

        // A path that only starts with the letters is not the origin's.
        using HttpResponseMessage elsewhere = await _client.GetAsync("/lively/door/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.False(elsewhere.Headers.Contains("Access-Control-Allow-Origin"));

        // Other methods go on to routing: its 405 names what the preflight route takes.
        using HttpResponseMessage posted = await _client.PostAsync(url, new ByteArrayContent([1, 2, 3]));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, posted.StatusCode);
        Assert.Equal(Pattern(12), (await _store.GetAsync("door/v0/seg_1.m4s", default))!.Data.ToArray());
    }

    [Fact]
    public async Task Missing_object_is_a_404_a_cdn_must_not_keep()
    {
        using HttpResponseMessage response = await _client.GetAsync("/live/notyet/v0/seg_99999.m4s");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        string cacheControl = Header(response, "Cache-Control");
        Assert.True(cacheControl is "no-cache" or "no-store" || cacheControl.Contains("max-age=1", StringComparison.Ordinal) || cacheControl.Contains("max-age=0", StringComparison.Ordinal), cacheControl);
        Assert.DoesNotContain("immutable", cacheControl, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Store_failure_is_a_503_that_is_not_cached()
    {
        InMemorySegmentStore failing = new() { FailGetsWith = new IOException("disk gone") };
        await using OriginServer server = await OriginServer.StartAsync(failing);
        using HttpResponseMessage response = await server.Client.GetAsync("/live/ch/v0/seg_1.m4s");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("no-store", Header(response, "Cache-Control"));
    }

    [Theory]
    [InlineData(256 * 1024)]         // exactly one body chunk
    [InlineData(256 * 1024 + 1)]     // one byte into a second chunk
    [InlineData(700_000)]            // a 2 s 2.5 Mb/s segment: three chunks
    [InlineData(3_000_000)]          // a 1080p segment: more than Kestrel's response buffer
    public async Task Bodies_larger_than_one_write_chunk_arrive_whole_and_in_order(int length)
    {
        byte[] data = Pattern(length);
        data[^1] = 0xEE; // the last byte is distinct, so a lost final chunk shows
        string url = Seed($"big/v0/seg_{length}.m4s", data);
        using HttpResponseMessage response = await _client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(length, response.Content.Headers.ContentLength);
        Assert.Equal(data, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task A_range_spanning_several_write_chunks_returns_exactly_those_bytes()
    {
        byte[] data = Pattern(600_000);
        string url = Seed("big/v0/range.m4s", data);
        using HttpRequestMessage request = new(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(1000, 300_999);
        using HttpResponseMessage response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 1000-300999/600000", Header(response, "Content-Range"));
        Assert.Equal(data.AsSpan(1000, 300_000).ToArray(), await response.Content.ReadAsByteArrayAsync());
    }
}

/// <summary>What ingest nodes keep for each other in the store is never served, even though it lies beside the media.</summary>
public sealed class InternalObjectTests(LiveEndpointFixture fixture) : IClassFixture<LiveEndpointFixture>
{
    [Theory]
    [InlineData("chan/live-state.json")]
    [InlineData("chan/recordings/20261121T054512Z/journal-0.json")]
    [InlineData("chan/recordings/20261121T054512Z/journal-12.json")]
    public async Task A_broadcasts_live_state_and_recording_journal_are_404(string key)
    {
        fixture.Store.Seed(key, Encoding.UTF8.GetBytes("{\"version\":1}"), "application/json", "no-store", DateTimeOffset.UnixEpoch, "e1");
        using var response = await fixture.Server.Client.GetAsync("/live/" + key);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("chan/live-state.json", true)]
    [InlineData("chan/recordings/20261121T054512Z/journal-3.json", true)]
    [InlineData("chan/recordings/20261121T054512Z/poster.jpg", false)]
    [InlineData("chan/recordings/20261121T054512Z/master.m3u8", false)]
    [InlineData("chan/journal-0.json", false)] // a journal lies under recordings/ only
    [InlineData("chan/live-state.json.bak", false)]
    [InlineData("chan/old-live-state.json", false)] // the name whole, not its tail
    [InlineData("chan/source/index.m3u8", false)]
    public void Only_the_ingest_nodes_objects_are_internal(string key, bool expected) =>
        Assert.Equal(expected, Broadcast.Storage.StoreKeys.IsInternal(key));
}
