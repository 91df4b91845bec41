using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Network;

/// <summary>
/// A bearer credential held as its SHA-256 and compared in constant time. Both sides are hashed first so that neither
/// the length nor any prefix of the real token shows in the timing. The one comparison for every shared secret a caller
/// presents: the admin token, the playback node token (control's API and the real-time relay feeds), <c>Metrics:Token</c>.
/// </summary>
public sealed class BearerSecret
{
    private readonly byte[] _hash;

    public BearerSecret(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    /// <summary>Whether an <c>Authorization</c> header value is <c>Bearer {this secret}</c> (the scheme's case ignored, RFC 9110 §11.1).</summary>
    public bool MatchesAuthorization(string? authorization)
    {
        const string Scheme = "Bearer ";
        return authorization is not null && authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            && Matches(authorization.AsSpan(Scheme.Length).Trim());
    }

    public bool Matches(ReadOnlySpan<char> candidate)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(candidate.ToArray()), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }

    /// <summary>
    /// Whether <paramref name="presented"/> is <paramref name="expected"/>, compared as a held secret is: for the secrets
    /// made per session or per guest (a WHEP session's id, a participant's token, a knock's secret, a grant) that are not
    /// worth keeping hashed.
    /// </summary>
    public static bool Same(string expected, string presented)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(presented);
        Span<byte> left = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> right = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), left);
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), right);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }
}
