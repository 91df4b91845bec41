using System.Buffers.Text;
using System.Security.Cryptography;

namespace Broadcast.WebRtc;

/// <summary>The unguessable ids and secrets of WHEP sessions, room participants and the green room
/// (compared with <c>BearerSecret.Same</c>).</summary>
internal static class RandomTokens
{
    /// <summary><paramref name="bytes"/> random bytes as base64url without padding (URL- and header-safe).</summary>
    public static string New(int bytes) => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(bytes));
}
