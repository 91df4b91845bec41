using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Playback.Jwt;

/// <summary>
/// <c>Playback:Jwt:*</c>: private channels also accept JWTs the platform signs (docs/integration.md, "JWT playback"). Off unless
/// <see cref="JwksUrl"/> or <see cref="PublicKeys"/> is set; then <see cref="Audience"/> is required.
/// </summary>
public sealed record PlaybackJwtOptions
{
    public const string Section = "Playback:Jwt";

    /// <summary>The algorithms a playback JWT may be signed with (RFC 7518 §3.1, RFC 8037 §3.1 for EdDSA over Ed25519).</summary>
    public static IReadOnlyList<string> Algorithms { get; } = ["RS256", "ES256", "ES384", Ed25519SecurityKey.Algorithm];

    /// <summary>The platform's JWKS (RFC 7517 §5), fetched through the outbound URL policy; null when keys are configured only.</summary>
    public Uri? JwksUrl { get; init; }

    /// <summary>Public keys in PEM (SubjectPublicKeyInfo) or as one JWK (JSON), beside or instead of the JWKS.</summary>
    public IReadOnlyList<string> PublicKeys { get; init; } = [];

    /// <summary>The <c>iss</c> a token must carry; null accepts any issuer.</summary>
    public string? Issuer { get; init; }

    /// <summary>The <c>aud</c> a token must carry (required when JWT playback is on).</summary>
    public string Audience { get; init; } = "";

    /// <summary>Leeway on <c>exp</c> and <c>nbf</c> for clocks that disagree a little.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the JWKS is fetched again when nothing asks for it sooner.</summary>
    public TimeSpan JwksRefresh { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The least time between two fetches asked by tokens whose <c>kid</c> is unknown, so a flood of random kids costs
    /// the platform one request per interval.</summary>
    public TimeSpan JwksMinRefresh { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The whole fetch (connect, headers and body) ends after this.</summary>
    public TimeSpan JwksTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>A JWKS body larger than this is refused (the keys in force stay).</summary>
    public int JwksMaxBytes { get; init; } = 64 * 1024;

    /// <summary>At most this many keys are taken from a JWKS or from configuration.</summary>
    public const int MaxKeys = 32;

    /// <summary>A token longer than this is refused before it is parsed.</summary>
    public const int MaxTokenLength = 8192;

    public bool Enabled => JwksUrl is not null || PublicKeys.Count > 0;

    /// <summary>Reads <c>Playback:Jwt:*</c>; a bad value throws at startup with the key's name.</summary>
    public static PlaybackJwtOptions From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        Uri? jwks = null;
        if (section["JwksUrl"] is { Length: > 0 } url)
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out jwks) || (jwks.Scheme != Uri.UriSchemeHttps && jwks.Scheme != Uri.UriSchemeHttp))
                throw new InvalidOperationException($"{Section}:JwksUrl must be an absolute http(s) URL, not '{url}'.");
        }

        var keys = new List<string>();
        if (section["PublicKeys"] is { Length: > 0 } single) keys.Add(single);
        foreach (var child in section.GetSection("PublicKeys").GetChildren())
            if (child.Value is { Length: > 0 } v) keys.Add(v);
        if (keys.Count > MaxKeys) throw new InvalidOperationException($"{Section}:PublicKeys holds more than {MaxKeys} keys.");

        var options = new PlaybackJwtOptions
        {
            JwksUrl = jwks,
            PublicKeys = keys,
            Issuer = section["Issuer"] is { Length: > 0 } issuer ? issuer : null,
            Audience = section["Audience"] ?? "",
            ClockSkew = Seconds(section, "ClockSkewSeconds", 30, 0, 300),
            JwksRefresh = Seconds(section, "JwksRefreshSeconds", 300, 10, 86_400),
            JwksMinRefresh = Seconds(section, "JwksMinRefreshSeconds", 30, 1, 3600),
            JwksTimeout = Seconds(section, "JwksTimeoutSeconds", 5, 1, 60),
            JwksMaxBytes = (int)Number(section, "JwksMaxBytes", 64 * 1024, 1024, 1024 * 1024),
        };
        if (options.Enabled && options.Audience.Length == 0)
            throw new InvalidOperationException($"{Section}:Audience is required when {Section}:JwksUrl or {Section}:PublicKeys is set: " +
                "a token signed for another of the platform's services must not open a stream.");
        return options;
    }

    private static TimeSpan Seconds(IConfigurationSection section, string key, int fallback, int min, int max)
        => TimeSpan.FromSeconds(Number(section, key, fallback, min, max));

    private static long Number(IConfigurationSection section, string key, long fallback, long min, long max)
    {
        if (section[key] is not { Length: > 0 } text) return fallback;
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long value) || value < min || value > max)
            throw new InvalidOperationException($"{Section}:{key} must be a whole number from {min} to {max}, not '{text}'.");
        return value;
    }
}
