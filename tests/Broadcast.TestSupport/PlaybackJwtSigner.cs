using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;
using Org.BouncyCastle.Security;

namespace Broadcast.TestSupport;

/// <summary>
/// The platform's side in tests (unit and end to end): keys (RSA, P-256, P-384, Ed25519), their JWKS and tokens signed with
/// Microsoft.IdentityModel; EdDSA tokens, which that library cannot sign, with BouncyCastle's Ed25519 (<see cref="SignEdDsa"/>).
/// </summary>
public sealed class PlaybackJwtSigner
{
    public const string Audience = "broadcast-playback";
    public const string Issuer = "https://platform.example";

    public PlaybackJwtSigner(string rsaKid = "rsa-1", string p256Kid = "ec-256", string p384Kid = "ec-384")
    {
        Rsa = new RsaSecurityKey(RSA.Create(2048)) { KeyId = rsaKid };
        P256 = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP256)) { KeyId = p256Kid };
        P384 = new ECDsaSecurityKey(ECDsa.Create(ECCurve.NamedCurves.nistP384)) { KeyId = p384Kid };
        Ed25519 = new Ed25519PrivateKeyParameters(new SecureRandom());
    }

    public const string Ed25519Kid = "ed-1";

    /// <summary>The platform's Ed25519 signing key (RFC 8037).</summary>
    public Ed25519PrivateKeyParameters Ed25519 { get; }

    /// <summary>The Ed25519 public key as an OKP JWK (RFC 8037 §2).</summary>
    public Dictionary<string, string> Ed25519Jwk(string kid = Ed25519Kid) => new()
    {
        ["kty"] = "OKP", ["crv"] = "Ed25519", ["kid"] = kid, ["use"] = "sig", ["x"] = Part(Ed25519.GeneratePublicKey().GetEncoded()),
    };

    /// <summary>The Ed25519 public key as a PEM SubjectPublicKeyInfo (RFC 8410).</summary>
    public string Ed25519Pem()
    {
        byte[] spki = Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(Ed25519.GeneratePublicKey()).GetDerEncoded();
        return PemEncoding.WriteString("PUBLIC KEY", spki);
    }

    /// <summary>
    /// An EdDSA token (RFC 8037 §3.1) over these claims with the standard ones (aud, iss, exp, nbf) added as <see cref="Sign"/> adds them:
    /// the header and payload JSON, then BouncyCastle's Ed25519 signature over their base64url parts.
    /// </summary>
    public string SignEdDsa(IDictionary<string, object> claims, DateTime expires, DateTime? notBefore = null, string? kid = Ed25519Kid,
        string audience = Audience, string issuer = Issuer)
    {
        var payload = new Dictionary<string, object>(claims) { ["aud"] = audience, ["iss"] = issuer,
            ["exp"] = new DateTimeOffset(expires, TimeSpan.Zero).ToUnixTimeSeconds() };
        if (notBefore is { } nbf) payload["nbf"] = new DateTimeOffset(nbf, TimeSpan.Zero).ToUnixTimeSeconds();
        var header = kid is null ? new Dictionary<string, string> { ["alg"] = "EdDSA", ["typ"] = "JWT" }
            : new Dictionary<string, string> { ["alg"] = "EdDSA", ["typ"] = "JWT", ["kid"] = kid };
        string signingInput = Part(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Part(JsonSerializer.SerializeToUtf8Bytes(payload));
        var signer = new Ed25519Signer();
        signer.Init(true, Ed25519);
        byte[] input = Encoding.ASCII.GetBytes(signingInput);
        signer.BlockUpdate(input, 0, input.Length);
        return signingInput + "." + Part(signer.GenerateSignature());
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
