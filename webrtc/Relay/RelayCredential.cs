using System.Security.Cryptography;
using System.Text;

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

    private readonly byte[]? _hash;

    /// <summary>The shortest token taken, as control nodes require of it.</summary>
    public const int MinimumLength = 32;

    public RelayCredential(string? token)
    {
        Token = string.IsNullOrWhiteSpace(token) ? null : token.Trim();
        if (Token is { Length: < MinimumLength })
            throw new InvalidOperationException($"{ConfigurationKey} must be at least {MinimumLength} characters (openssl rand -hex 32).");
        _hash = Token is null ? null : SHA256.HashData(Encoding.UTF8.GetBytes(Token));
    }

    /// <summary>The token an origin node sends; null when this node has none.</summary>
    public string? Token { get; }

    public bool IsSet => _hash is not null;

    /// <summary>Whether an <c>Authorization</c> header carries the token (compared in constant time, as hashes).</summary>
    public bool Accepts(string authorization)
    {
        const string Bearer = "Bearer ";
        if (_hash is null || !authorization.StartsWith(Bearer, StringComparison.OrdinalIgnoreCase)) return false;
        byte[] presented = SHA256.HashData(Encoding.UTF8.GetBytes(authorization[Bearer.Length..].Trim()));
        return CryptographicOperations.FixedTimeEquals(presented, _hash);
    }
}
