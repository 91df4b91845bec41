using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// Standard Webhooks signing (standardwebhooks.com, "Signature scheme"): the secret is <c>whsec_</c> and the base64 of
/// its key bytes; a request's <c>webhook-signature</c> is <c>v1,</c> and the base64 of HMAC-SHA256 over
/// <c>{webhook-id}.{webhook-timestamp}.{body}</c>, the timestamp in unix seconds. Any Standard Webhooks library verifies it.
/// </summary>
public static class WebhookSignature
{
    public const string SecretPrefix = "whsec_";

    /// <summary>Key bytes of a new secret: 32 (the spec asks for 24 to 64).</summary>
    public const int SecretBytes = 32;

    public static string NewSecret() => SecretPrefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(SecretBytes));

    /// <summary>The header value for <paramref name="body"/> sent as message <paramref name="messageId"/> at <paramref name="unixSeconds"/>.</summary>
    public static string Sign(string secret, string messageId, long unixSeconds, string body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!secret.StartsWith(SecretPrefix, StringComparison.Ordinal)) throw new ArgumentException("A webhook secret starts with whsec_.", nameof(secret));
        byte[] key = Convert.FromBase64String(secret[SecretPrefix.Length..]);
        byte[] mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{messageId}.{unixSeconds}.{body}"));
        return "v1," + Convert.ToBase64String(mac);
    }
}
