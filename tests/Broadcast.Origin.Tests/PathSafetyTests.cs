namespace Broadcast.Origin.Tests;

/// <summary>
/// Traversal and malformed paths, sent byte for byte on a raw socket, never reach the store. A store that records
/// every call proves it: whatever status the server picks (400 from us, 404 when Kestrel normalised the path out of
/// /live/, 400 from Kestrel itself), the record stays empty.
/// </summary>
public sealed class PathSafetyTests : IAsyncLifetime
{
    private readonly InMemorySegmentStore _store = new();
    private OriginServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await OriginServer.StartAsync(_store);
        // Something real to escape towards: a valid object whose key a normalised attack could land on.
        _store.Seed("x", [1, 2, 3], "", null, DateTimeOffset.UtcNow, "e");
        _store.Seed("b", [1, 2, 3], "", null, DateTimeOffset.UtcNow, "e");
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string> Attacks => new()
    {
        "/live/../../etc/passwd",
        "/live/..",
        "/live/a/../b",
        "/live/a/../../b",
        "/live/%2e%2e/x",
        "/live/%2E%2E/x",
        "/live/%2E./x",
        "/live/.%2e/x",
        "/live/a/..%2fb",
        "/live/a/..%2Fb",
        "/live/a%2f..%2f..%2fetc%2fpasswd",
        "/live/%252e%252e/x",
        "/live/%252e%252e%252fetc%252fpasswd",
        "/live/a\\..\\b",
        "/live/..\\b",
        "/live/a%5c..%5cb",
        "/live//etc/passwd",
        "/live/a//b",
        "/live/a/",
        "/live/./x",
        "/live/a%00.m4s",
        "/live/a%00/../b",
        "/live/C:/Windows/win.ini",
        "/live/a%20b.m4s",
        "/live/caf%C3%A9.m4s",
        "/live/.hidden.tmp",
        "/live/a/.b.m4s",
        "/live/a;b.m4s",
        "/live/a%3Bb.m4s",
        "http://127.0.0.1/live/../x",
    };

    [Theory]
    [InlineData("/live/a/%2e%2e/b.m3u8?token=k1.secret-value&x=1", "/live/a/%2e%2e/b.m3u8?(query not logged)")]
    [InlineData("/live/a/../b.m3u8", "/live/a/../b.m3u8")]
    [InlineData("/live/a/b.m3u8?", "/live/a/b.m3u8?(query not logged)")]
    public void A_rejected_target_is_logged_without_its_query_where_a_playback_token_travels(string rawTarget, string logged)
    {
        Assert.Equal(logged, OriginPath.ForLog(rawTarget));
        Assert.DoesNotContain("secret", OriginPath.ForLog(rawTarget), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Attacks))]
    public async Task Attack_is_refused_without_touching_the_store(string target)
    {
        int status = await _server.SendRawAsync(target);
        Assert.True(status is 400 or 404, $"{target} -> {status}");
        Assert.Empty(_store.GetCalls);
    }

    [Fact]
    public async Task A_plain_valid_key_does_reach_the_store()
    {
        // The control for the attacks above: the same raw socket path does serve a good key.
        Assert.Equal(200, await _server.SendRawAsync("/live/x"));
        Assert.Equal(["x"], _store.GetCalls);
    }

    [Fact]
    public async Task Query_strings_do_not_trip_the_raw_check()
    {
        Assert.Equal(200, await _server.SendRawAsync("/live/b?token=a%2Fb&_HLS_msn=5"));
    }

    // (key, valid) — the whitelist on the decoded key, independent of Kestrel.
    public static TheoryData<string, bool> Keys => new()
    {
        { "ch/master.m3u8", true },
        { "ch/720p/seg_00001.m4s", true },
        { "Ch-1_a/v.0/init.mp4", true },
        { "", false },
        { "/etc/passwd", false },
        { "ch/", false },
        { "ch//x", false },
        { "..", false },
        { "ch/../x", false },
        { "ch/./x", false },
        { ".tmp", false },
        { "ch\\x", false },
        { "ch/x\0.m4s", false },
        { "ch/x%2e.m4s", false },
        { "C:/x", false },
        { "ch/é.m4s", false },
        { "ch/a b", false },
        { new string('a', OriginPath.MaxKeyLength + 1), false },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void Key_whitelist(string key, bool valid)
    {
        Assert.Equal(valid, OriginPath.Validate(key) is null);
    }
}
