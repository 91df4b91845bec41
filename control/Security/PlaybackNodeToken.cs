using Broadcast.Network;

namespace Broadcast.Control.Security;

/// <summary>
/// <c>Playback:NodeToken</c>: the credential an origin-only node presents to read the private-channel list and the
/// playback verification keys (<c>GET /api/playback/access</c>) and nothing else, so a compromised origin is not an
/// admin. Unset, no node can read them (a single node, or nodes that share the database, need none).
/// </summary>
public sealed class PlaybackNodeToken
{
    public const string ConfigurationKey = "Playback:NodeToken";

    /// <summary>The shortest token accepted, as for <c>Admin:Token</c>: 32 characters, 128 bits of randomness as hex.</summary>
    public const int MinLength = ControlSettings.MinAdminTokenLength;

    private readonly BearerSecret? _secret;

    private PlaybackNodeToken(BearerSecret? secret) => _secret = secret;

    public static PlaybackNodeToken None { get; } = new(null);

    public bool IsConfigured => _secret is not null;

    /// <summary>
    /// The configured node token, or <see cref="None"/>. A short token, or one equal to the admin token (which would make
    /// every origin an admin again), is refused at start-up with how to make a good one.
    /// </summary>
    public static PlaybackNodeToken From(string? configured, string? adminToken)
    {
        var token = string.IsNullOrWhiteSpace(configured) ? null : configured.Trim();
        if (token is null) return None;
        if (token.Length < MinLength)
        {
            throw new InvalidOperationException(
                $"{ConfigurationKey} has {token.Length} characters; it must be at least {MinLength} random characters " +
                "(e.g. `openssl rand -hex 32`).");
        }

        if (string.Equals(token, adminToken?.Trim(), StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"{ConfigurationKey} equals Admin:Token: origin nodes would hold the admin token again. Generate a separate one " +
                "(openssl rand -hex 32).");
        }

        return new PlaybackNodeToken(new BearerSecret(token));
    }

    public bool Matches(ReadOnlySpan<char> candidate) => _secret is not null && _secret.Matches(candidate);
}
