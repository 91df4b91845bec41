using System.Net;
using System.Text;
using System.Text.Json;
using Broadcast.Control.Channels;
using Broadcast.Control.Playback;
using Broadcast.Control.Playback.Jwt;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Broadcast.Control.Tests.Playback;

/// <summary>
/// Platform JWTs for private playback: the refused ones (a case table the fuzz entry seeds from) and the accepted RS256, ES256 and
/// ES384 ones, the claims of ours (channel, ip, sub), and the door beside our own tokens in <see cref="PlaybackAccessService"/>.
/// </summary>
public sealed class PlaybackJwtTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 29, 12, 0, 0, TimeSpan.Zero);
    internal static readonly PlaybackJwtSigner Signer = new();
    private static readonly IPAddress Viewer = IPAddress.Parse("203.0.113.7");

    internal static PlaybackJwtOptions Options(params string[] keys) => new()
    {
        PublicKeys = keys.Length > 0 ? keys : [.. new SecurityKey[] { Signer.Rsa, Signer.P256, Signer.P384 }
            .Select(k => JsonSerializer.Serialize(PlaybackJwtSigner.PublicJwk(k))), JsonSerializer.Serialize(Signer.Ed25519Jwk())],
        Audience = PlaybackJwtSigner.Audience,
        Issuer = PlaybackJwtSigner.Issuer,
        ClockSkew = TimeSpan.FromSeconds(30),
    };

    private static Dictionary<string, object> Claims(object channel) => new() { ["channel"] = channel, ["sub"] = "viewer-42" };

    private static string Rs256(object channel, DateTime? expires = null, DateTime? notBefore = null, string audience = PlaybackJwtSigner.Audience)
        => PlaybackJwtSigner.Sign(Signer.Rsa, SecurityAlgorithms.RsaSha256, Claims(channel), expires ?? Now.UtcDateTime.AddMinutes(10), notBefore,
            audience);

    /// <summary>Each refused token and why; the strings seed the fuzz entry. The library reports an algorithm it refuses (none, HS256,
    /// a key of another family) and a token it cannot read as a signature failure.</summary>
    public static TheoryData<string, string, PlaybackTokenResult> Refused()
    {
        var now = Now.UtcDateTime;
        var payload = new Dictionary<string, object>
        {
            ["channel"] = "members", ["aud"] = PlaybackJwtSigner.Audience, ["iss"] = PlaybackJwtSigner.Issuer,
            ["exp"] = Now.AddMinutes(10).ToUnixTimeSeconds(),
        };
        string good = Rs256("members");
        string[] parts = good.Split('.');
        var tamperedPayload = new Dictionary<string, object>(payload) { ["channel"] = "*" };
        byte[] rsaPublicPem = Encoding.ASCII.GetBytes(Signer.Rsa.Rsa.ExportSubjectPublicKeyInfoPem());
        string eddsa = Signer.SignEdDsa(Claims("members"), now.AddMinutes(10));
        string[] edParts = eddsa.Split('.');
        return new TheoryData<string, string, PlaybackTokenResult>
        {
            { "expired", Rs256("members", expires: now.AddMinutes(-2)), PlaybackTokenResult.Expired },
            { "not yet valid", Rs256("members", notBefore: now.AddMinutes(2)), PlaybackTokenResult.NotYetValid },
            { "wrong audience", Rs256("members", audience: "another-service"), PlaybackTokenResult.WrongAudience },
            { "wrong issuer", PlaybackJwtSigner.Sign(Signer.Rsa, "RS256", Claims("members"), now.AddMinutes(10), issuer: "https://evil.example"),
                PlaybackTokenResult.WrongAudience },
            { "wrong channel", Rs256("other"), PlaybackTokenResult.WrongChannel },
            { "no channel claim", PlaybackJwtSigner.Sign(Signer.Rsa, "RS256", new Dictionary<string, object> { ["sub"] = "x" }, now.AddMinutes(10)),
                PlaybackTokenResult.Malformed },
            { "alg none", PlaybackJwtSigner.Forge(new { alg = "none", typ = "JWT" }, payload, []) , PlaybackTokenResult.BadSignature },
            { "HS256 with the public key as secret", PlaybackJwtSigner.ForgeHmac(new { alg = "HS256", typ = "JWT", kid = "rsa-1" }, payload, rsaPublicPem),
                PlaybackTokenResult.BadSignature },
            { "ES256 header on the RSA key", PlaybackJwtSigner.Forge(new { alg = "ES256", kid = "rsa-1" }, payload, new byte[64]), PlaybackTokenResult.BadSignature },
            { "tampered payload", parts[0] + "." + PlaybackJwtSigner.Part(JsonSerializer.SerializeToUtf8Bytes(tamperedPayload)) + "." + parts[2],
                PlaybackTokenResult.BadSignature },
            { "tampered signature", parts[0] + "." + parts[1] + "." + (parts[2][0] == 'A' ? "B" : "A") + parts[2][1..], PlaybackTokenResult.BadSignature },
            { "unknown kid", PlaybackJwtSigner.Sign(new RsaSecurityKey(System.Security.Cryptography.RSA.Create(2048)) { KeyId = "rsa-9" }, "RS256",
                Claims("members"), now.AddMinutes(10)), PlaybackTokenResult.UnknownKey },
            { "bound to another address", PlaybackJwtSigner.Sign(Signer.P256, "ES256",
                new Dictionary<string, object> { ["channel"] = "members", ["ip"] = "198.51.100.1" }, now.AddMinutes(10)), PlaybackTokenResult.WrongClient },
            { "not a JWT", "eyJhbGciOiJSUzI1NiJ9.not-base64!.x", PlaybackTokenResult.BadSignature },
            { "EdDSA expired", Signer.SignEdDsa(Claims("members"), now.AddMinutes(-2)), PlaybackTokenResult.Expired },
            { "EdDSA tampered payload", edParts[0] + "." + PlaybackJwtSigner.Part(JsonSerializer.SerializeToUtf8Bytes(tamperedPayload)) + "." + edParts[2],
                PlaybackTokenResult.BadSignature },
            { "EdDSA signature of another key", Signer.SignEdDsa(Claims("members"), now.AddMinutes(10)).Split('.')[0] + "." + edParts[1] + "."
                + PlaybackJwtSigner.Part(new byte[64]), PlaybackTokenResult.BadSignature },
            { "EdDSA header on the RSA key", PlaybackJwtSigner.Forge(new { alg = "EdDSA", kid = "rsa-1" }, payload, new byte[64]),
                PlaybackTokenResult.BadSignature },
            { "RS256 header on the Ed25519 key", PlaybackJwtSigner.Forge(new { alg = "RS256", kid = PlaybackJwtSigner.Ed25519Kid }, payload, new byte[256]),
                PlaybackTokenResult.BadSignature },
            { "header only", "eyJhbGciOiJSUzI1NiJ9eyJ0eXAiOiJKV1QifQ..", PlaybackTokenResult.BadSignature },
        };
    }

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refused_tokens(string why, string token, PlaybackTokenResult expected)
    {
        var verifier = new PlaybackJwtVerifier(Options(), new ManualClock(Now));
        var result = verifier.Verify("members", token, Viewer, out var grant);
        Assert.True(result != PlaybackTokenResult.Valid, why);
        Assert.Equal(expected, result);
        Assert.Equal(default, grant);
    }

    [Theory]
    [InlineData("RS256")]
    [InlineData("ES256")]
    [InlineData("ES384")]
    [InlineData("EdDSA")]
    public void Accepted_tokens_grant_until_exp_with_the_viewer_id(string algorithm)
    {
        var clock = new ManualClock(Now);
        var verifier = new PlaybackJwtVerifier(Options(), clock);
        var claims = new Dictionary<string, object> { ["channel"] = new[] { "members", "other" }, ["sub"] = "v-1", ["ip"] = Viewer.ToString() };
        string token = algorithm == "EdDSA"
            ? Signer.SignEdDsa(claims, Now.UtcDateTime.AddMinutes(10), Now.UtcDateTime.AddSeconds(10))
            : PlaybackJwtSigner.Sign(algorithm switch { "RS256" => Signer.Rsa, "ES256" => Signer.P256, _ => Signer.P384 }, algorithm, claims,
                Now.UtcDateTime.AddMinutes(10), Now.UtcDateTime.AddSeconds(10));

        Assert.True(PlaybackJwtVerifier.LooksLikeJwt(token));
        // nbf ten seconds ahead is within the skew; the token is bound to the viewer's address (an IPv4-mapped form is the same).
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("members", token, Viewer, out var grant));
        Assert.Equal(Now.AddMinutes(10), grant.ExpiresAt);
        Assert.Equal("v-1", grant.ViewerId);
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("other", token, Viewer.MapToIPv6(), out _));
        Assert.Equal(PlaybackTokenResult.WrongChannel, verifier.Verify("third", token, Viewer, out _));
        Assert.Equal(PlaybackTokenResult.WrongClient, verifier.Verify("members", token, IPAddress.Parse("203.0.113.8"), out _));
        Assert.Equal(PlaybackTokenResult.WrongClient, verifier.Verify("members", token, null, out _));

        // Remembered, but exp is checked on every use.
        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(31));
        Assert.Equal(PlaybackTokenResult.Expired, verifier.Verify("members", token, Viewer, out _));
    }

    [Fact]
    public void A_wildcard_channel_and_a_pem_key_without_kid()
    {
        var verifier = new PlaybackJwtVerifier(Options(Signer.P384.ECDsa.ExportSubjectPublicKeyInfoPem()), new ManualClock(Now));
        var key = new ECDsaSecurityKey(Signer.P384.ECDsa);
        string token = PlaybackJwtSigner.Sign(key, "ES384", new Dictionary<string, object> { ["channel"] = "*" }, Now.UtcDateTime.AddMinutes(1));
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("anything", token, null, out var grant));
        Assert.Null(grant.ViewerId);
    }

    [Fact]
    public void An_ed25519_pem_key_without_kid_verifies_eddsa_and_only_eddsa()
    {
        var verifier = new PlaybackJwtVerifier(Options(Signer.Ed25519Pem()), new ManualClock(Now));
        string token = Signer.SignEdDsa(new Dictionary<string, object> { ["channel"] = "members" }, Now.UtcDateTime.AddMinutes(1), kid: null);
        Assert.Equal(PlaybackTokenResult.Valid, verifier.Verify("members", token, null, out _));
        // The same key as an OKP JWK naming another algorithm is refused at once: RFC 8725 §3.1, one key, one algorithm.
        var jwk = Signer.Ed25519Jwk();
        jwk["alg"] = "ES256";
        Assert.Contains("alg 'ES256' does not fit a Ed25519 key", Assert.Throws<InvalidOperationException>(
            () => new PlaybackJwtVerifier(Options(JsonSerializer.Serialize(jwk)), new ManualClock(Now))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_jwks_takes_ed25519_keys_and_skips_x25519_ones()
    {
        var okp = Signer.Ed25519Jwk("ed-jwks");
        var x25519 = new Dictionary<string, string> { ["kty"] = "OKP", ["crv"] = "X25519", ["kid"] = "dh-1", ["x"] = okp["x"] };
        string jwks = JsonSerializer.Serialize(new { keys = new object[] { PlaybackJwtSigner.PublicJwk(Signer.Rsa), okp, x25519 } });
        var skipped = new List<string>();
        var keys = PlaybackJwtKeySet.ParseJwks(jwks, skipped);
        Assert.Equal(["rsa-1", "ed-jwks"], keys.Select(k => k.KeyId));
        Assert.Equal(PlaybackJwtKeyFamily.Ed25519, keys[1].Family);
        Assert.True(keys[1].Verifies("EdDSA"));
        Assert.False(keys[1].Verifies("ES256"));
        Assert.Equal(["dh-1: curve 'X25519' is not Ed25519"], skipped);
    }

    [Theory]
    [InlineData("""{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}""", "X25519")]
    [InlineData("""{"kty":"OKP","crv":"Ed448","x":"X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"}""", "Ed448")]
    [InlineData("""{"kty":"OKP","crv":"Ed25519","x":"AAAA"}""", "32 bytes")]
    [InlineData("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----", "neither RSA")]
    public void Unusable_okp_keys_are_named_at_startup(string key, string why)
    {
        var e = Assert.Throws<InvalidOperationException>(() => new PlaybackJwtVerifier(Options(key.Replace("\\n", "\n", StringComparison.Ordinal)),
            TimeProvider.System));
        Assert.Contains(why, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_configuration_stops_startup_with_the_key_name()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new PlaybackJwtVerifier(Options("not a key"), TimeProvider.System));
        Assert.Contains("Playback:Jwt:PublicKeys:0", e.Message, StringComparison.Ordinal);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Playback:Jwt:JwksUrl"] = "https://platform.example/jwks.json",
        }).Build();
        Assert.Contains("Playback:Jwt:Audience", Assert.Throws<InvalidOperationException>(() => PlaybackJwtOptions.From(config)).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Private_channels_take_a_jwt_beside_their_own_tokens()
    {
        await using var host = await ControlApiHost.StartAsync("0123456789abcdef0123456789abcdef", new Dictionary<string, string?>
        {
            ["Playback:Jwt:PublicKeys:0"] = JsonSerializer.Serialize(PlaybackJwtSigner.PublicJwk(Signer.P256)),
            ["Playback:Jwt:Audience"] = PlaybackJwtSigner.Audience,
        });
        var channels = host.App.Services.GetRequiredService<ChannelService>();
        var playback = host.App.Services.GetRequiredService<PlaybackAccessService>();
        var members = (await channels.CreateAsync(new ChannelSpec("Members"))).Channel;
        var open = (await channels.CreateAsync(new ChannelSpec("Open"))).Channel;
        Assert.True(await playback.SetPrivateAsync(members.Id, true));
        string jwt = PlaybackJwtSigner.Sign(Signer.P256, "ES256", new Dictionary<string, object> { ["channel"] = "*", ["sub"] = "v-7" },
            DateTime.UtcNow.AddMinutes(5));

        Assert.Equal(PlaybackTokenResult.Valid, playback.Verify(members.Slug, jwt, null, out var grant));
        Assert.Equal("v-7", grant.ViewerId);
        Assert.Equal(PlaybackTokenResult.Valid, playback.Verify(members.Slug, jwt, out _));
        // A wildcard opens private channels only: a public slug is no private channel here.
        Assert.Equal(PlaybackTokenResult.UnknownChannel, playback.Verify(open.Slug, jwt, null, out _));
        // Our own tokens keep working.
        var minted = await playback.MintAsync(members, TimeSpan.FromMinutes(5));
        Assert.Equal(PlaybackTokenResult.Valid, playback.Verify(members.Slug, minted.Token, out _));
    }
}
