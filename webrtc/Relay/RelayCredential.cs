using Broadcast.Network;

namespace Broadcast.WebRtc.Relay;

/// <summary>
/// The credential between nodes for real-time relay feeds: the node token (<c>Playback:NodeToken</c>) origin-only nodes
/// already hold to read private playback from a control node. An ingest node accepts it on its feed endpoint; an origin
/// node sends it. Whoever holds it can already mint a playback token for any channel, so the feed opens no media it could
/// not already play.
/// </summary>
public sealed class RelayCredential
{
    public const string ConfigurationKey = "Playback:NodeToken";

    private readonly BearerSecret? _secret;

    /// <summary>The shortest token taken, as control nodes require of it.</summary>
    public const int MinimumLength = 32;

    public RelayCredential(string? token)
    {
        Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        if (Token is { Length: < MinimumLength })
            throw new InvalidOperationException($"{ConfigurationKey} must be at least {MinimumLength} characters (openssl rand -hex 32).");
        _secret = Token is null ? null : new BearerSecret(Token);
    }

    /// <summary>The token an origin node sends; null when this node has none.</summary>
    public string? Token { get; }

    public bool IsSet => _secret is not null;

    /// <summary>Whether an <c>Authorization</c> header carries the token (compared in constant time, as hashes).</summary>
    public bool Accepts(string authorization) => _secret?.MatchesAuthorization(authorization) ?? false;
}
