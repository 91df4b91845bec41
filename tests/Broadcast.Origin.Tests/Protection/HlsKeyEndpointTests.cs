using System.Net;
using System.Net.Http.Headers;
using Broadcast.Origin.Protection;
using Broadcast.Packager.Cmaf.Encryption;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests.Protection;

/// <summary>
/// <c>GET /live/{channel}/key/{kid}</c>, the raw key of an AES-128 HLS broadcast: the license's authorization (401 without a
/// token on a private channel, 403 with a bad one), its key scoping (another channel's or an unknown KID is 404), its refusal
/// count (429), its key cache, and an answer that no cache may keep.
/// </summary>
public sealed class HlsKeyEndpointTests : IAsyncLifetime
{
    private static readonly KeyId Kid = new(UInt128.Parse("0123456789abcdef0123456789abcdef", System.Globalization.NumberStyles.HexNumber, null));
    private static readonly byte[] KeyBytes = Convert.FromHexString("00112233445566778899aabbccddeeff");
    private const string KidHex = "0123456789abcdef0123456789abcdef";

    private ClearKeyLicenseTests.OneChannelKeys _keys = null!;
    private OriginServer _server = null!;
    private HttpClient _viewer = null!;

    public async Task InitializeAsync()
    {
        _keys = new ClearKeyLicenseTests.OneChannelKeys("public-ch", new ContentKey(Kid, KeyBytes)) { Also = "secret" };
        _server = await OriginServer.StartAsync(new InMemorySegmentStore(), services: s => s
            .AddSingleton<IPlaybackAccess>(new PrivateStreamCacheControlTests.OnePrivateStream("secret"))
            .AddSingleton<IContentKeys>(_keys));
        _viewer = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _viewer.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public void The_url_names_the_kid_in_hex()
    {
        Assert.Equal($"/live/ch/key/{KidHex}", HlsKeyEndpoint.UrlFor("ch", Kid));
        Assert.Equal(Kid, HlsKeyEndpoint.ParseKeyId(KidHex.ToUpperInvariant()));
        Assert.True(HlsKeyEndpoint.IsKeyPath($"/ch/key/{KidHex}"));
        Assert.False(HlsKeyEndpoint.IsKeyPath("/ch/source/index.m3u8"));
        Assert.False(HlsKeyEndpoint.IsKeyPath($"/ch/key/{KidHex}/more"));
        Assert.False(HlsKeyEndpoint.IsKeyPath($"/key/{KidHex}"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789abcdef0123456789abcde")]
    [InlineData("0123456789abcdef0123456789abcdef0")]
    [InlineData("0123456789abcdef0123456789abcdeg")]
    [InlineData("01234567-89ab-cdef-0123-456789abcdef")]
    [InlineData("+123456789abcdef0123456789abcdef")]
    public void A_malformed_kid_is_none(string text) => Assert.Null(HlsKeyEndpoint.ParseKeyId(text));

    [Fact]
    public async Task A_public_channel_answers_its_own_key_raw_and_uncached()
    {
        using var ok = await _viewer.GetAsync($"live/public-ch/key/{KidHex}");
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("no-store", ok.Headers.CacheControl?.ToString());
        Assert.Equal("application/octet-stream", ok.Content.Headers.ContentType?.MediaType);
        Assert.Equal(KeyBytes, await ok.Content.ReadAsByteArrayAsync());
        using var other = await _viewer.GetAsync($"live/other-ch/key/{KidHex}");
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        using var unknown = await _viewer.GetAsync($"live/public-ch/key/{new string('0', 32)}");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        using var malformed = await _viewer.GetAsync("live/public-ch/key/not-a-kid");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Contains("32 hex digits", await malformed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_private_channel_wants_a_token_401_without_403_with_a_bad_one()
    {
        using var none = await _viewer.GetAsync($"live/secret/key/{KidHex}");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using var bad = await _viewer.GetAsync($"live/secret/key/{KidHex}?token=forged");
        Assert.Equal(HttpStatusCode.Forbidden, bad.StatusCode);
        using var badBearer = new HttpRequestMessage(HttpMethod.Get, $"live/secret/key/{KidHex}");
        badBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "forged");
        using (var answer = await _viewer.SendAsync(badBearer)) Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        using var goodBearer = new HttpRequestMessage(HttpMethod.Get, $"live/secret/key/{KidHex}");
        goodBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "good");
        using (var answer = await _viewer.SendAsync(goodBearer))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal(KeyBytes, await answer.Content.ReadAsByteArrayAsync());
        }
        using var query = await _viewer.GetAsync($"live/secret/key/{KidHex}?token=good");
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
    }

    [Fact]
    public async Task An_audience_asking_for_one_key_reads_the_keys_store_once()
    {
        for (int i = 0; i < 5; i++)
        {
            using var answer = await _viewer.GetAsync($"live/public-ch/key/{KidHex}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal(1, _keys.Lookups);
    }

    [Fact]
    public async Task An_address_that_keeps_asking_for_no_key_of_the_channel_waits_with_429_and_reads_nothing()
    {
        for (int i = 0; i < ClearKeyLicenseEndpoint.MaxRefusals; i++)
        {
            using var refused = await _viewer.GetAsync(i % 2 == 0 ? $"live/public-ch/key/{new string('0', 32)}" : "live/public-ch/key/zz");
            Assert.Equal(i % 2 == 0 ? HttpStatusCode.NotFound : HttpStatusCode.BadRequest, refused.StatusCode);
        }

        int lookups = _keys.Lookups;
        using var blocked = await _viewer.GetAsync($"live/public-ch/key/{KidHex}");
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.InRange(blocked.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), ClearKeyLicenseEndpoint.RefusalBlock);
        Assert.Equal(lookups, _keys.Lookups);
        // The license shares the count: the address waits there too.
        using var license = await _viewer.PostAsync("live/public-ch/license",
            new StringContent("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"]}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, license.StatusCode);
    }
}
