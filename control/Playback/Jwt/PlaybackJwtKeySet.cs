using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Broadcast.Control.Playback.Jwt;

/// <summary>One verification key: the key, its <c>kid</c> (null for a PEM key) and what it may verify.</summary>
public sealed record PlaybackJwtKey(SecurityKey Key, string? KeyId, string? Algorithm, PlaybackJwtKeyFamily Family)
{
    /// <summary>RFC 8725 §3.1: a key verifies one family of algorithms only (an RSA key never RS256's HMAC twin, HS256), and only
    /// the algorithm its JWK names when it names one.</summary>
    public bool Verifies(string algorithm) =>
        (Algorithm is null || Algorithm == algorithm) && (algorithm, Family) switch
        {
            ("RS256", PlaybackJwtKeyFamily.Rsa) => true,
            ("ES256", PlaybackJwtKeyFamily.P256) => true,
            ("ES384", PlaybackJwtKeyFamily.P384) => true,
            (Ed25519SecurityKey.Algorithm, PlaybackJwtKeyFamily.Ed25519) => true,
            _ => false,
        };
}

public enum PlaybackJwtKeyFamily
{
    Rsa,
    P256,
    P384,

    /// <summary>RFC 8037: EdDSA over Ed25519 (<see cref="Ed25519SecurityKey"/>).</summary>
    Ed25519,
}

/// <summary>
/// The keys in force: configured ones and the JWKS's, looked up by <c>kid</c>. Immutable; the verifier swaps a whole set. Parsing
/// is Microsoft.IdentityModel's (<see cref="JsonWebKeySet"/>, <see cref="JsonWebKey"/>) and the platform's PEM readers.
/// </summary>
public sealed class PlaybackJwtKeySet
{
    public static PlaybackJwtKeySet Empty { get; } = new([], 0);

    private readonly FrozenDictionary<string, PlaybackJwtKey> _byId;

    public PlaybackJwtKeySet(IReadOnlyList<PlaybackJwtKey> keys, long generation)
    {
        ArgumentNullException.ThrowIfNull(keys);
        Keys = keys;
        Generation = generation;
        _byId = keys.Where(k => k.KeyId is not null).GroupBy(k => k.KeyId!, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        WithoutId = keys.Where(k => k.KeyId is null).ToArray();
    }

    public IReadOnlyList<PlaybackJwtKey> Keys { get; }

    /// <summary>Bumped on every change, so what was verified under an older set is verified again.</summary>
    public long Generation { get; }

    /// <summary>Configured PEM keys: tried for a token without <c>kid</c>, or whose <c>kid</c> names no key.</summary>
    public IReadOnlyList<PlaybackJwtKey> WithoutId { get; }

    public PlaybackJwtKey? Find(string keyId) => _byId.GetValueOrDefault(keyId);

    public PlaybackJwtKeySet With(IReadOnlyList<PlaybackJwtKey> keys) => new(keys, Generation + 1);

    /// <summary>
    /// The signing keys of a JWKS document (RSA of at least 2048 bits, EC P-256 or P-384, OKP Ed25519; <c>use</c> absent or <c>sig</c>);
    /// other keys (symmetric <c>oct</c>, X25519, encryption keys) are skipped and named in <paramref name="skipped"/>. Throws
    /// <see cref="FormatException"/> for a document that is not a JWKS, or holds more than <see cref="PlaybackJwtOptions.MaxKeys"/> keys.
    /// </summary>
    public static List<PlaybackJwtKey> ParseJwks(string json, List<string> skipped)
    {
        ArgumentNullException.ThrowIfNull(skipped);
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(json);
        }
        catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new FormatException("the JWKS is not a JSON Web Key Set: " + e.Message, e);
        }

        if (set.Keys.Count > PlaybackJwtOptions.MaxKeys) throw new FormatException($"the JWKS holds {set.Keys.Count} keys, more than {PlaybackJwtOptions.MaxKeys}");
        var keys = new List<PlaybackJwtKey>(set.Keys.Count);
        foreach (var jwk in set.Keys)
        {
            if (FromJwk(jwk, out string? why) is { } key) keys.Add(key);
            else skipped.Add($"{jwk.Kid ?? "(no kid)"}: {why}");
        }

        return keys;
    }

    /// <summary>A configured key: PEM (<c>-----BEGIN PUBLIC KEY-----</c>) or one JWK. Throws <see cref="FormatException"/> saying why not.</summary>
    public static PlaybackJwtKey ParseConfigured(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string trimmed = text.Trim();
        if (trimmed.StartsWith('{'))
        {
            JsonWebKey jwk;
            try
            {
                jwk = new JsonWebKey(trimmed);
            }
            catch (Exception e) when (e is ArgumentException or System.Text.Json.JsonException)
            {
                throw new FormatException("not a JWK: " + e.Message, e);
            }

            return FromJwk(jwk, out string? why) ?? throw new FormatException(why);
        }

        if (!trimmed.StartsWith("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
            throw new FormatException("neither a PEM public key (-----BEGIN PUBLIC KEY-----) nor a JWK");
        // A PEM holds one algorithm's key; which one is read from the SubjectPublicKeyInfo.
        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(trimmed);
            if (rsa.KeySize < 2048) throw new FormatException($"an RSA key of {rsa.KeySize} bits; at least 2048 are needed");
            return new PlaybackJwtKey(new RsaSecurityKey(rsa), null, null, PlaybackJwtKeyFamily.Rsa);
        }
        catch (ArgumentException)
        {
            // Not RSA: an EC key, perhaps.
        }
        catch (CryptographicException)
        {
        }

        try
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(trimmed);
            var family = ec.KeySize switch
            {
                256 => PlaybackJwtKeyFamily.P256,
                384 => PlaybackJwtKeyFamily.P384,
                _ => throw new FormatException($"an EC key of {ec.KeySize} bits; P-256 (ES256) or P-384 (ES384) are taken"),
            };
            return new PlaybackJwtKey(new ECDsaSecurityKey(ec), null, null, family);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            if (Ed25519Pem(trimmed) is { } ed) return new PlaybackJwtKey(ed, null, null, PlaybackJwtKeyFamily.Ed25519);
            throw new FormatException("a PEM public key that is neither RSA, EC P-256/P-384 nor Ed25519: " + e.Message, e);
        }
    }

    private static Ed25519SecurityKey? Ed25519Pem(string pem)
    {
        var fields = PemEncoding.Find(pem);
        if (pem[fields.Label] is not "PUBLIC KEY") return null;
        byte[] der = new byte[fields.DecodedDataLength];
        return Convert.TryFromBase64Chars(pem[fields.Base64Data], der, out int written) && written == der.Length
            ? Ed25519SecurityKey.FromSubjectPublicKeyInfo(der)
            : null;
    }

    private static PlaybackJwtKey? FromJwk(JsonWebKey jwk, out string? why)
    {
        var key = KeyOf(jwk, out why);
        // RFC 8725 §3.1: an alg the key cannot verify (ES256 on an RSA or Ed25519 key) is a mistake said at once, not a key that verifies nothing.
        if (key is { Algorithm: { } alg } && !key.Verifies(alg))
        {
            why = $"alg '{alg}' does not fit a {key.Family} key";
            return null;
        }

        return key;
    }

    private static PlaybackJwtKey? KeyOf(JsonWebKey jwk, out string? why)
    {
        why = null;
        if (jwk.Use is { Length: > 0 } use && use != "sig")
        {
            why = $"use '{use}' is not sig";
            return null;
        }

        string? alg = jwk.Alg is { Length: > 0 } a ? a : null;
        if (alg is not null && !PlaybackJwtOptions.Algorithms.Contains(alg))
        {
            why = $"alg '{alg}' is not one of {string.Join(", ", PlaybackJwtOptions.Algorithms)}";
            return null;
        }

        string? kid = jwk.Kid is { Length: > 0 } k ? k : null;
        switch (jwk.Kty)
        {
            case JsonWebAlgorithmsKeyTypes.RSA when jwk.N is { Length: > 0 } && jwk.E is { Length: > 0 }:
                if (jwk.KeySize < 2048)
                {
                    why = $"an RSA key of {jwk.KeySize} bits; at least 2048 are needed";
                    return null;
                }

                return new PlaybackJwtKey(jwk, kid, alg, PlaybackJwtKeyFamily.Rsa);
            case JsonWebAlgorithmsKeyTypes.EllipticCurve when jwk.X is { Length: > 0 } && jwk.Y is { Length: > 0 }:
                if (jwk.Crv == JsonWebKeyECTypes.P256) return new PlaybackJwtKey(jwk, kid, alg, PlaybackJwtKeyFamily.P256);
                if (jwk.Crv == JsonWebKeyECTypes.P384) return new PlaybackJwtKey(jwk, kid, alg, PlaybackJwtKeyFamily.P384);
                why = $"curve '{jwk.Crv}' is not P-256 or P-384";
                return null;
            case "OKP" when jwk.X is { Length: > 0 }:
                if (jwk.Crv != "Ed25519")
                {
                    why = $"curve '{jwk.Crv}' is not Ed25519";
                    return null;
                }

                try
                {
                    return new PlaybackJwtKey(new Ed25519SecurityKey(Base64UrlEncoder.DecodeBytes(jwk.X)) { KeyId = kid }, kid, alg,
                        PlaybackJwtKeyFamily.Ed25519);
                }
                catch (FormatException e)
                {
                    why = e.Message;
                    return null;
                }

            default:
                why = $"key type '{jwk.Kty}' is not an RSA, EC or OKP public key (symmetric keys are not taken)";
                return null;
        }
    }
}
