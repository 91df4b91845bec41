using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.WebRtc;

/// <summary>The unguessable ids and secrets of WHEP sessions, room participants and the green room, and their comparison.</summary>
internal static class RandomTokens
{
    /// <summary><paramref name="bytes"/> random bytes as base64url without padding (URL- and header-safe).</summary>
    public static string New(int bytes) => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>Whether a presented token is the expected one, in time that does not depend on where they differ.</summary>
    public static bool Same(string expected, string presented) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(presented));
}
