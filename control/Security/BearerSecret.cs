using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Security;

/// <summary>
/// A bearer credential held as its SHA-256 and compared in constant time. Both sides are hashed first so that neither
/// the length nor any prefix of the real token shows in the timing.
/// </summary>
public sealed class BearerSecret
{
    private readonly byte[] _hash;

    public BearerSecret(string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(value);
        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(value));
    }

    public bool Matches(ReadOnlySpan<char> candidate)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(candidate.ToArray()), hash);
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }
}
