using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broadcast.Origin.Protection;
using Broadcast.Packager.Cmaf.Encryption;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Origin.Tests.Protection;

/// <summary>
/// The W3C Clear Key license (EME §9.1.3, §9.1.4): the request read strictly (malformed bytes get a reason, never an
/// exception), the answer's JSON Web Key Set, and the endpoint's authorization, limits and key scoping.
/// </summary>
public sealed class ClearKeyLicenseTests : IAsyncLifetime
{
    private static readonly KeyId Kid = new(UInt128.Parse("0123456789abcdef0123456789abcdef", System.Globalization.NumberStyles.HexNumber, null));
    private static readonly byte[] KeyBytes = Convert.FromHexString("00112233445566778899aabbccddeeff");
    private const string KidText = "ASNFZ4mrze8BI0VniavN7w";

    private OneChannelKeys _keys = null!;
    private OriginServer _server = null!;
    private HttpClient _viewer = null!;

    public async Task InitializeAsync()
    {
        _keys = new OneChannelKeys("public-ch", new ContentKey(Kid, KeyBytes)) { Also = "secret" };
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

    [Theory]
    [InlineData("", "not well-formed")]
    [InlineData("[]", "not a JSON object")]
    [InlineData("{}", "no \"kids\"")]
    [InlineData("{\"kids\":\"x\"}", "not an array")]
    [InlineData("{\"kids\":[]}", "empty")]
    [InlineData("{\"kids\":[1]}", "not a string")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w==\"]}", "base64url")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7\"]}", "base64url")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0Vn+avN7w\"]}", "base64url")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"],\"type\":\"persistent-license\"}", "temporary")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"]} {}", "not well-formed")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"]", "not well-formed")]
    [InlineData("{\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"],\"kids\":[\"ASNFZ4mrze8BI0VniavN7w\"]}", "twice")]
    [InlineData("\u00ff\u00fe", "not well-formed")]
    public void A_malformed_request_is_refused_with_its_reason(string body, string reason)
    {
        Assert.Null(ClearKeyLicenseMessages.TryRead(Encoding.UTF8.GetBytes(body), out string? error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_request_reads_its_kids_once_each_and_ignores_other_members()
    {
        var read = ClearKeyLicenseMessages.TryRead(Encoding.UTF8.GetBytes(
            $"{{\"extra\":{{\"a\":[1,2]}},\"kids\":[\"{KidText}\",\"{KidText}\"],\"type\":\"temporary\"}}"), out string? error);
        Assert.Null(error);
        Assert.Equal([Kid], read!.KeyIds);
    }

    [Fact]
    public void More_kids_than_the_cap_or_bytes_than_the_limit_are_refused()
    {
        string kids = string.Join(",", Enumerable.Repeat($"\"{KidText}\"", ClearKeyLicenseMessages.MaxKeyIds + 1));
        Assert.Null(ClearKeyLicenseMessages.TryRead(Encoding.UTF8.GetBytes($"{{\"kids\":[{kids}]}}"), out string? error));
        Assert.Contains("more than", error, StringComparison.Ordinal);
        byte[] big = Encoding.UTF8.GetBytes($"{{\"kids\":[\"{KidText}\"],\"pad\":\"{new string('x', ClearKeyLicenseMessages.MaxRequestBytes)}\"}}");
        Assert.Null(ClearKeyLicenseMessages.TryRead(big, out error));
    }

    [Fact]
    public void The_answer_is_a_json_web_key_set_in_base64url()
    {
        var json = JsonDocument.Parse(ClearKeyLicenseMessages.WriteResponse([new ContentKey(Kid, KeyBytes)])).RootElement;
        Assert.Equal("temporary", json.GetProperty("type").GetString());
        var key = Assert.Single(json.GetProperty("keys").EnumerateArray());
        Assert.Equal("oct", key.GetProperty("kty").GetString());
        Assert.Equal(KidText, key.GetProperty("kid").GetString());
        Assert.Equal("ABEiM0RVZneImaq7zN3u_w", key.GetProperty("k").GetString());
    }

    private static StringContent Request(string kid = KidText) => new($"{{\"kids\":[\"{kid}\"],\"type\":\"temporary\"}}", Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_public_channel_answers_its_own_keys_only()
    {
        using var ok = await _viewer.PostAsync("live/public-ch/license", Request());
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("no-store", ok.Headers.CacheControl?.ToString());
        Assert.Contains("ABEiM0RVZneImaq7zN3u_w", await ok.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var other = await _viewer.PostAsync("live/other-ch/license", Request());
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        using var unknown = await _viewer.PostAsync("live/public-ch/license", Request("AAAAAAAAAAAAAAAAAAAAAA"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
    }

    [Fact]
    public async Task Malformed_or_oversized_bodies_get_400_and_413()
    {
        using var bad = await _viewer.PostAsync("live/public-ch/license", new StringContent("{\"kids\":", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("well-formed", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var big = await _viewer.PostAsync("live/public-ch/license", new ByteArrayContent(new byte[ClearKeyLicenseMessages.MaxRequestBytes + 1]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
    }

    [Fact]
    public async Task A_private_channel_wants_a_token_401_without_403_with_a_bad_one()
    {
        using var none = await _viewer.PostAsync("live/secret/license", Request());
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using var bad = await _viewer.PostAsync("live/secret/license?token=forged", Request());
        Assert.Equal(HttpStatusCode.Forbidden, bad.StatusCode);
        using var badBearer = new HttpRequestMessage(HttpMethod.Post, "live/secret/license") { Content = Request() };
        badBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "forged");
        using (var answer = await _viewer.SendAsync(badBearer)) Assert.Equal(HttpStatusCode.Forbidden, answer.StatusCode);
        using var goodBearer = new HttpRequestMessage(HttpMethod.Post, "live/secret/license") { Content = Request() };
        goodBearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "good");
        using (var answer = await _viewer.SendAsync(goodBearer)) Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        using var query = await _viewer.PostAsync("live/secret/license?token=good", Request());
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
    }

    [Fact]
    public async Task An_audience_asking_for_one_key_reads_the_keys_store_once()
    {
        for (int i = 0; i < 5; i++)
        {
            using var answer = await _viewer.PostAsync("live/public-ch/license", Request());
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        Assert.Equal(1, _keys.Lookups);
    }

    [Fact]
    public async Task An_address_that_keeps_asking_for_no_key_of_the_channel_waits_with_429_and_reads_nothing()
    {
        for (int i = 0; i < ClearKeyLicenseEndpoint.MaxRefusals; i++)
        {
            using var refused = i % 2 == 0
                ? await _viewer.PostAsync("live/public-ch/license", Request("AAAAAAAAAAAAAAAAAAAAAA"))
                : await _viewer.PostAsync("live/public-ch/license", new StringContent("{\"kids\":[]}", Encoding.UTF8, "application/json"));
            Assert.Equal(i % 2 == 0 ? HttpStatusCode.NotFound : HttpStatusCode.BadRequest, refused.StatusCode);
        }

        int lookups = _keys.Lookups;
        using var blocked = await _viewer.PostAsync("live/public-ch/license", Request());
        Assert.Equal(HttpStatusCode.TooManyRequests, blocked.StatusCode);
        Assert.InRange(blocked.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), ClearKeyLicenseEndpoint.RefusalBlock);
        Assert.Equal(lookups, _keys.Lookups);
    }

    [Fact]
    public async Task A_page_on_another_origin_may_post_after_its_preflight()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "live/public-ch/license");
        preflight.Headers.Add("Origin", "http://player.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answer = await _viewer.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Contains("POST", answer.Headers.GetValues("Access-Control-Allow-Methods").Single(), StringComparison.Ordinal);
        Assert.Contains("Authorization", answer.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
    }

    /// <summary>The keys of one channel (and of <see cref="Also"/>, the private one), as control would answer them.</summary>
    internal sealed class OneChannelKeys(string channel, ContentKey key) : IContentKeys
    {
        private int _lookups;

        public string? Also { get; init; }

        /// <summary>How many times the store was asked.</summary>
        public int Lookups => Volatile.Read(ref _lookups);

        public ValueTask<IReadOnlyList<ContentKey>> FindAsync(string name, IReadOnlyList<KeyId> keyIds, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _lookups);
            return ValueTask.FromResult<IReadOnlyList<ContentKey>>((name == channel || name == Also) && keyIds.Contains(key.Id) ? [key] : []);
        }
    }
}
