using System.Collections.Concurrent;
using System.Net;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broadcast.Control.Playback.Jwt;

/// <summary>What a good token grants: until when, and the platform's viewer id (<c>sub</c>) when it names one.</summary>
public readonly record struct PlaybackGrant(DateTimeOffset ExpiresAt, string? ViewerId);

/// <summary>
/// Playback JWTs signed by the platform (docs/integration.md, "JWT playback"), verified by Microsoft.IdentityModel's
/// <see cref="JsonWebTokenHandler"/>: RS256, ES256, ES384 or EdDSA (Ed25519, through <see cref="Ed25519SecurityKey"/>) only (RFC 8725 §3.1: no <c>none</c>, no HMAC, and a key verifies only its
/// own family), <c>aud</c> (and <c>iss</c> when configured), <c>exp</c> required and <c>nbf</c> honoured with
/// <c>Playback:Jwt:ClockSkewSeconds</c>. Then the claims of ours: <c>channel</c> (a slug, an array of slugs, or <c>*</c>), <c>ip</c>
/// (the one client address it plays from) and <c>sub</c> (the viewer, for chat). The request path does no I/O: the keys are in
/// memory and a token verified once is remembered (a capped table, emptied when the keys change), so the cookie a player sends with
/// every segment costs a lookup, not a signature check.
/// </summary>
public sealed class PlaybackJwtVerifier
{
    /// <summary>Verified tokens remembered at most (the table is emptied when full; only good tokens get in).</summary>
    public const int MaxRemembered = 10_000;

    /// <summary>Channels one token may name.</summary>
    public const int MaxChannels = 64;

    /// <summary>Longest <c>sub</c> taken as a viewer id.</summary>
    public const int MaxViewerIdLength = 256;

    private readonly PlaybackJwtOptions _options;
    private readonly PlaybackJwks? _jwks;
    private readonly TimeProvider _time;
    private readonly PlaybackJwtKeySet _configured;
    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = PlaybackJwtOptions.MaxTokenLength };
    private readonly TokenValidationParameters _parameters;
    private readonly ConcurrentDictionary<string, Verified> _verified = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Verified>.AlternateLookup<ReadOnlySpan<char>> _verifiedBySpan;

    public PlaybackJwtVerifier(PlaybackJwtOptions options, TimeProvider time, PlaybackJwks? jwks = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _jwks = options.JwksUrl is null ? null : jwks;
        var configured = new List<PlaybackJwtKey>();
        for (int i = 0; i < options.PublicKeys.Count; i++)
        {
            try
            {
                configured.Add(PlaybackJwtKeySet.ParseConfigured(options.PublicKeys[i]));
            }
            catch (FormatException e)
            {
                throw new InvalidOperationException($"{PlaybackJwtOptions.Section}:PublicKeys:{i} is not usable: {e.Message}", e);
            }
        }

        _configured = new PlaybackJwtKeySet(configured, 0);
        _verifiedBySpan = _verified.GetAlternateLookup<ReadOnlySpan<char>>();
        _parameters = new TokenValidationParameters
        {
            ValidateAudience = true,
            ValidAudience = options.Audience,
            ValidateIssuer = options.Issuer is not null,
            ValidIssuer = options.Issuer,
            // exp and nbf are checked in Verified.Check on every use, on this service's clock (the library reads the system clock).
            ValidateLifetime = false,
            RequireSignedTokens = true,
            TryAllIssuerSigningKeys = false,
            ValidateIssuerSigningKey = false,
            IssuerSigningKeyResolver = ResolveKeys,
            AlgorithmValidator = IsAllowed,
            SaveSigninToken = false,
        };
    }

    public bool Enabled => _options.Enabled;

    /// <summary>
    /// Whether <paramref name="token"/> has a JWT's shape (three dot-separated parts, the header longer than any key id of our own
    /// tokens): the door it goes through. Our own tokens begin with a key id of at most 16 characters; a JWT header is at least 20.
    /// </summary>
    public static bool LooksLikeJwt(ReadOnlySpan<char> token)
    {
        int first = token.IndexOf('.');
        return first > PlaybackToken.MaxKeyIdLength && token[(first + 1)..].IndexOf('.') >= 0;
    }

    /// <summary>
    /// Checks a JWT for <paramref name="stream"/> (a private channel's slug) from <paramref name="client"/> (null when the caller
    /// does not know it: then a token bound to an address is refused).
    /// </summary>
    public PlaybackTokenResult Verify(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, IPAddress? client, out PlaybackGrant grant)
    {
        grant = default;
        if (!Enabled) return PlaybackTokenResult.UnknownKey;
        if (token.IsEmpty || token.Length > PlaybackJwtOptions.MaxTokenLength) return PlaybackTokenResult.Malformed;
        long generation = _jwks?.Keys.Generation ?? 0;
        if (!_verifiedBySpan.TryGetValue(token, out Verified? verified) || verified.Generation != generation)
        {
            PlaybackTokenResult result = Validate(token.ToString(), generation, out verified);
            if (result != PlaybackTokenResult.Valid) return result;
            if (_verified.Count >= MaxRemembered) _verified.Clear();
            _verified[verified!.Token] = verified;
        }

        return verified!.Check(stream, client, _time.GetUtcNow(), _options.ClockSkew, out grant);
    }

    private PlaybackTokenResult Validate(string token, long generation, out Verified? verified)
    {
        verified = null;
        // No ConfigurationManager is set, so validation completes without awaiting anything: the keys are in memory.
        TokenValidationResult result = _handler.ValidateTokenAsync(token, _parameters).GetAwaiter().GetResult();
        if (!result.IsValid)
        {
            return result.Exception switch
            {
                SecurityTokenSignatureKeyNotFoundException => PlaybackTokenResult.UnknownKey,
                SecurityTokenInvalidAlgorithmException => PlaybackTokenResult.BadAlgorithm,
                SecurityTokenInvalidSignatureException => PlaybackTokenResult.BadSignature,
                SecurityTokenExpiredException => PlaybackTokenResult.Expired,
                SecurityTokenNotYetValidException => PlaybackTokenResult.NotYetValid,
                SecurityTokenInvalidAudienceException or SecurityTokenInvalidIssuerException => PlaybackTokenResult.WrongAudience,
                SecurityTokenMalformedException or SecurityTokenNoExpirationException => PlaybackTokenResult.Malformed,
                _ => PlaybackTokenResult.BadSignature,
            };
        }

        if (result.SecurityToken is not JsonWebToken jwt) return PlaybackTokenResult.Malformed;
        if (!TryChannels(jwt, out string[]? channels)) return PlaybackTokenResult.Malformed;
        IPAddress? address = null;
        if (jwt.TryGetPayloadValue("ip", out string? ip) && (ip is null || !IPAddress.TryParse(ip, out address)))
            return PlaybackTokenResult.Malformed;
        string? viewer = jwt.Subject is { Length: > 0 and <= MaxViewerIdLength } subject ? subject : null;
        if (!jwt.TryGetPayloadValue("exp", out long _)) return PlaybackTokenResult.Malformed;
        var expires = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero);
        DateTimeOffset? notBefore = jwt.TryGetPayloadValue("nbf", out long _) ? new DateTimeOffset(jwt.ValidFrom, TimeSpan.Zero) : null;
        verified = new Verified(token, generation, channels!, expires, notBefore, address, viewer);
        return PlaybackTokenResult.Valid;
    }

    private static bool TryChannels(JsonWebToken jwt, out string[]? channels)
    {
        channels = null;
        if (jwt.TryGetPayloadValue("channel", out string[]? many) && many is { Length: > 0 and <= MaxChannels }
            && many.All(c => c is { Length: > 0 }))
        {
            channels = many;
            return true;
        }

        // An array reads as its JSON text through the string accessor: a slug never starts with '['.
        if (jwt.TryGetPayloadValue("channel", out string? one) && one is { Length: > 0 } && one[0] != '[')
        {
            channels = [one];
            return true;
        }

        return false;
    }

    // The token's kid picks one key; a kid that names none (or no kid) tries the configured PEM keys, and asks for the JWKS again.
    private IEnumerable<SecurityKey> ResolveKeys(string token, SecurityToken securityToken, string kid, TokenValidationParameters parameters)
    {
        if (!string.IsNullOrEmpty(kid))
        {
            if ((_jwks?.Keys.Find(kid) ?? _configured.Find(kid)) is { } key) return [key.Key];
            _jwks?.RequestRefresh(kid);
        }

        return _configured.WithoutId.Select(k => k.Key);
    }

    private bool IsAllowed(string algorithm, SecurityKey key, SecurityToken token, TokenValidationParameters parameters)
    {
        if (!PlaybackJwtOptions.Algorithms.Contains(algorithm)) return false;
        var described = _configured.Keys.FirstOrDefault(k => ReferenceEquals(k.Key, key))
            ?? _jwks?.Keys.Keys.FirstOrDefault(k => ReferenceEquals(k.Key, key));
        return described is not null && described.Verifies(algorithm);
    }

    private sealed record Verified(string Token, long Generation, string[] Channels, DateTimeOffset Expires, DateTimeOffset? NotBefore,
        IPAddress? Client, string? Viewer)
    {
        public PlaybackTokenResult Check(ReadOnlySpan<char> stream, IPAddress? client, DateTimeOffset now, TimeSpan skew, out PlaybackGrant grant)
        {
            grant = default;
            if (now >= Expires + skew) return PlaybackTokenResult.Expired;
            if (NotBefore is { } nbf && now < nbf - skew) return PlaybackTokenResult.NotYetValid;
            bool named = false;
            foreach (string c in Channels)
            {
                if (c == "*" || stream.SequenceEqual(c))
                {
                    named = true;
                    break;
                }
            }

            if (!named) return PlaybackTokenResult.WrongChannel;
            if (Client is not null && (client is null || !Same(Client, client))) return PlaybackTokenResult.WrongClient;
            grant = new PlaybackGrant(Expires, Viewer);
            return PlaybackTokenResult.Valid;
        }

        private static bool Same(IPAddress a, IPAddress b)
            => (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a).Equals(b.IsIPv4MappedToIPv6 ? b.MapToIPv4() : b);
    }
}
