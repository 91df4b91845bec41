using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broadcast.TestSupport;

/// <summary>The platform's side in tests (unit and end to end): keys (RSA, P-256, P-384), their JWKS and tokens signed with Microsoft.IdentityModel.</summary>
public sealed class PlaybackJwtSigner
{
    public const string Audience = "broadcast-playback";
    public const string Issuer = "https://platform.example";

    public PlaybackJwtSigner(string rsaKid = "rsa-1", string p256Kid = "ec-256", string p384Kid = "ec-384")
    {
        Rsa = new RsaSecurityKey(RSA.Create(2048)) { KeyId = rsaKid };
        P256 = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = p256Kid };
        P384 = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = p384Kid };
    }

    public RsaSecurityKey Rsa { get; }

    public ECDsaSecurityKey P256 { get; }

    public ECDsaSecurityKey P384 { get; }

    /// <summary>The public keys as a JWKS document.</summary>
    public string Jwks(params SecurityKey[] keys)
    {
        var list = (keys.Length == 0 ? new SecurityKey[] { Rsa, P256, P384 } : keys).Select(PublicJwk).ToList();
        return JsonSerializer.Serialize(new { keys = list });
    }

    public static Dictionary<string, string> PublicJwk(SecurityKey key)
    {
        var jwk = key switch
        {
            RsaSecurityKey r => JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(r.Rsa.ExportParameters(false)) { KeyId = r.KeyId }),
            ECDsaSecurityKey e => JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(PublicOnly(e.ECDsa)) { KeyId = e.KeyId }),
            _ => throw new ArgumentException("RSA or EC", nameof(key)),
        };
        var d = new Dictionary<string, string> { ["kty"] = jwk.Kty, ["kid"] = jwk.Kid, ["use"] = "sig" };
        if (jwk.Kty == "RSA")
        {
            d["n"] = jwk.N;
            d["e"] = jwk.E;
        }
        else
        {
            d["crv"] = jwk.Crv;
            d["x"] = jwk.X;
            d["y"] = jwk.Y;
        }

        return d;
    }

    private static ECDsa PublicOnly(ECDsa key)
    {
        var copy = ECDsa.Create();
        copy.ImportParameters(key.ExportParameters(false));
        return copy;
    }

    public static string Sign(SecurityKey key, string algorithm, IDictionary<string, object> claims, DateTime? expires = null, DateTime? notBefore = null,
        string audience = Audience, string issuer = Issuer)
    {
        var descriptor = new SecurityTokenDescriptor
        {
            Audience = audience,
            Issuer = issuer,
            Claims = claims,
            Expires = expires ?? DateTime.UtcNow.AddMinutes(10),
            NotBefore = notBefore,
            IssuedAt = (notBefore ?? DateTime.UtcNow).AddSeconds(-1),
            SigningCredentials = new SigningCredentials(key, algorithm),
        };
        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false }.CreateToken(descriptor);
    }

    /// <summary>A token an attacker puts together by hand: any header, any payload, any signature bytes.</summary>
    public static string Forge(object header, object payload, byte[] signature)
        => Part(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Part(JsonSerializer.SerializeToUtf8Bytes(payload)) + "." + Part(signature);

    /// <summary>HS256 over header.payload with <paramref name="secret"/> (the public key's bytes, in the classic confusion attack).</summary>
    public static string ForgeHmac(object header, object payload, byte[] secret)
    {
        string signingInput = Part(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Part(JsonSerializer.SerializeToUtf8Bytes(payload));
        return signingInput + "." + Part(HMACSHA256.HashData(secret, Encoding.ASCII.GetBytes(signingInput)));
    }

    public static string Part(byte[] bytes) => Base64Url.EncodeToString(bytes);
}
