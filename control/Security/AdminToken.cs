using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Security;

/// <summary>
/// The admin API's bearer token: <c>Admin:Token</c> when configured, otherwise generated once into
/// <c>Admin:TokenPath</c> (./data/admin-token, mode 600) and reused on every start.
/// </summary>
public sealed class AdminToken
{
    private readonly byte[] _hash;

    public AdminToken(string? configuredToken, string tokenPath)
    {
        if (string.IsNullOrWhiteSpace(configuredToken))
        {
            Value = SecretFile.ReadOrCreate(tokenPath, () => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), out var created);
            FilePath = Path.GetFullPath(tokenPath);
            Generated = created;
        }
        else
        {
            Value = configuredToken.Trim();
        }

        _hash = SHA256.HashData(Encoding.UTF8.GetBytes(Value));
    }

    public string Value { get; }

    /// <summary>Where the token lives when it was not configured; null when it came from configuration.</summary>
    public string? FilePath { get; }

    /// <summary>True when this start generated the token file.</summary>
    public bool Generated { get; }

    /// <summary>
    /// Compares in constant time. Both sides are hashed first so that neither the length nor any
    /// prefix of the real token shows in the timing.
    /// </summary>
    public bool Matches(ReadOnlySpan<char> candidate)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(candidate.ToArray());
        SHA256.HashData(bytes, hash);
        return CryptographicOperations.FixedTimeEquals(hash, _hash);
    }
}
