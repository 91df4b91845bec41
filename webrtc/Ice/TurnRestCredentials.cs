using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// Time-limited TURN credentials from a secret shared with the TURN server, as "A REST API For Access To TURN Services"
/// (draft-uberti-behave-turn-rest-00 §2.2) defines them and coturn checks them (<c>use-auth-secret</c>,
/// <c>static-auth-secret</c>): the username is the expiry in Unix seconds, a colon and an opaque user id; the password is
/// base64(HMAC-SHA1(secret, username)). The TURN server needs no call from us: it recomputes the password from the
/// username and refuses one whose expiry has passed, so a credential handed to a browser is worth nothing after it.
/// </summary>
public static class TurnRestCredentials
{
    /// <summary>The credentials for <paramref name="userId"/> that work until <paramref name="expires"/>.</summary>
    /// <param name="userId">An opaque id for the TURN server's log (what the credential is for); characters other than letters, digits, '.',
    /// '_' and '-' become '_'.</param>
    public static (string Username, string Password) Issue(string secret, string userId, DateTimeOffset expires)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        // The colon separates the expiry from the id (coturn reads the number before the first colon).
        var id = new StringBuilder(userId.Length);
        foreach (char c in userId) id.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_');
        string username = string.Create(CultureInfo.InvariantCulture, $"{expires.ToUnixTimeSeconds()}:{id}");
        byte[] mac = HMACSHA1.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(username));
        return (username, Convert.ToBase64String(mac));
    }
}
