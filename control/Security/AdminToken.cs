using System.Security.Cryptography;
using Broadcast.Network;

namespace Broadcast.Control.Security;

/// <summary>
/// The admin API's bearer token: <c>Admin:Token</c> when configured, otherwise generated once into
/// <c>Admin:TokenPath</c> (./data/admin-token, mode 600) and reused on every start.
/// </summary>
public sealed class AdminToken
{
    private readonly BearerSecret _secret;

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

        _secret = new BearerSecret(Value);
    }

    public string Value { get; }

    /// <summary>Where the token lives when it was not configured; null when it came from configuration.</summary>
    public string? FilePath { get; }

    /// <summary>True when this start generated the token file.</summary>
    public bool Generated { get; }

    /// <summary>Compares in constant time (<see cref="BearerSecret"/>).</summary>
    public bool Matches(ReadOnlySpan<char> candidate) => _secret.Matches(candidate);
}
