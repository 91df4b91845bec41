using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Playback;

/// <summary>Why a token was refused. Logged and tested; a viewer sees the same 403 for every one of them.</summary>
public enum PlaybackTokenResult
{
    Valid,
    Malformed,
    Expired,
    UnknownKey,
    BadSignature,

    /// <summary>The stream is no private channel this node knows, so there is no channel for the token to belong to.</summary>
    UnknownChannel,

    /// <summary>A JWT whose <c>nbf</c> is still ahead.</summary>
    NotYetValid,

    /// <summary>A JWT for another audience or issuer.</summary>
    WrongAudience,

    /// <summary>A JWT that does not name this channel (nor <c>*</c>).</summary>
    WrongChannel,

    /// <summary>A JWT bound (<c>ip</c>) to another client address, or presented where the address is not known.</summary>
    WrongClient,

    /// <summary>A JWT signed with an algorithm not taken (<c>none</c>, HMAC…) or not its key's.</summary>
    BadAlgorithm,
}

/// <summary>
/// A signed playback token: <c>{keyId}.{expires}.{mac}</c>, URL-safe without escaping, in the style of
/// CloudFront's and Akamai's path-scoped tokens. <c>expires</c> is Unix seconds (decimal, no sign, no leading
/// zero); <c>mac</c> is base64url (no padding) of HMAC-SHA256 under the key named by <c>keyId</c> over
/// <c>"bpt2\n" + scope + "\n" + channelId + "\n" + expires + "\n" + keyId</c>, where the scope is the stream's path
/// prefix <c>/live/{stream}/</c> and the channel id is the id of the channel that held the slug when the token was
/// signed. Neither is in the token: the verifier rebuilds the scope from the request path and takes the channel id
/// from its list of private channels, so a token works for every object under that prefix (master, media playlists,
/// MPD, init and media segments of every rendition) of that one channel, for no other stream, and not for a later
/// channel that takes the slug of a deleted one. The token is valid while now &lt; expires.
/// </summary>
/// <remarks>
/// "bpt1" tokens (signed over the scope alone, before channel ids were bound) no longer verify: a slug freed by a
/// deleted channel could otherwise be opened with its old tokens.
/// </remarks>
public static class PlaybackToken
{
    public const int MaxKeyIdLength = 16;
    public const int MacLength = 43; // base64url of 32 bytes, no padding
    public const int MaxExpiryDigits = 11; // Unix seconds up to year 5138
    public const int MaxLength = MaxKeyIdLength + 1 + MaxExpiryDigits + 1 + MacLength;
    private const string Domain = "bpt2";

    /// <summary>The path prefix a token for <paramref name="stream"/> covers.</summary>
    public static string ScopeOf(string stream) => "/live/" + stream + "/";

    /// <summary>
    /// Signs a token for <paramref name="stream"/> (a channel slug) of the channel <paramref name="channelId"/>, valid
    /// until <paramref name="expiresUnixSeconds"/>.
    /// </summary>
    public static string Sign(string stream, string channelId, long expiresUnixSeconds, PlaybackSigningKey key)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(expiresUnixSeconds);
        string expires = expiresUnixSeconds.ToString(CultureInfo.InvariantCulture);
        if (expires.Length > MaxExpiryDigits)
        {
            throw new ArgumentOutOfRangeException(nameof(expiresUnixSeconds));
        }

        Span<byte> mac = stackalloc byte[32];
        ComputeMac(key.Secret, stream, channelId, expires, key.Id, mac);
        return string.Concat(key.Id, ".", expires, ".", Base64Url.EncodeToString(mac));
    }

    /// <summary>
    /// Checks <paramref name="token"/> for <paramref name="stream"/> of the channel <paramref name="channelId"/> at
    /// <paramref name="nowUnixSeconds"/>. The parser is strict: exactly three dot-separated fields, an id of
    /// [A-Za-z0-9_-], a decimal expiry, a 43-character MAC. The MAC is compared in constant time, and it is checked
    /// before the expiry so that an attacker learns nothing about a forged token's expiry from the answer (which is the
    /// same 403 anyway).
    /// </summary>
    public static PlaybackTokenResult Verify(ReadOnlySpan<char> token, ReadOnlySpan<char> stream, ReadOnlySpan<char> channelId, long nowUnixSeconds,
        PlaybackKeyRing keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        if (!TryParse(token, out ReadOnlySpan<char> keyId, out ReadOnlySpan<char> expires, out long expiresAt, out ReadOnlySpan<char> macText))
        {
            return PlaybackTokenResult.Malformed;
        }

        Span<byte> presented = stackalloc byte[32];
        if (!TryDecodeMac(macText, presented))
        {
            return PlaybackTokenResult.Malformed;
        }

        // One spelling per MAC: the last character's two spare bits must be zero (a decoder may ignore them).
        Span<char> canonical = stackalloc char[MacLength];
        if (!Base64Url.TryEncodeToChars(presented, canonical, out int written) || written != MacLength || !canonical.SequenceEqual(macText))
        {
            return PlaybackTokenResult.Malformed;
        }

        PlaybackSigningKey? key = keys.Find(keyId);
        if (key is null)
        {
            return PlaybackTokenResult.UnknownKey;
        }

        if (channelId.IsEmpty)
        {
            return PlaybackTokenResult.BadSignature;
        }

        Span<byte> expected = stackalloc byte[32];
        ComputeMac(key.Secret, stream, channelId, expires, keyId, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, presented))
        {
            return PlaybackTokenResult.BadSignature;
        }

        return nowUnixSeconds < expiresAt ? PlaybackTokenResult.Valid : PlaybackTokenResult.Expired;
    }

    /// <summary>
    /// Decodes a MAC of <see cref="MacLength"/> base64url characters; false when it is not one. TryDecodeFromChars
    /// returns false only for a short destination and throws for bad input (e.g. a last character whose spare bits are
    /// set, which a forger gets by changing one character): anyone can send that, so it must be a refusal, not a 500.
    /// </summary>
    private static bool TryDecodeMac(ReadOnlySpan<char> macText, Span<byte> presented)
    {
        try
        {
            return Base64Url.TryDecodeFromChars(macText, presented, out int macBytes) && macBytes == 32;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Splits a token into its fields; false for anything that is not exactly the documented shape.</summary>
    public static bool TryParse(ReadOnlySpan<char> token, out ReadOnlySpan<char> keyId, out ReadOnlySpan<char> expiresText, out long expires,
        out ReadOnlySpan<char> mac)
    {
        keyId = expiresText = mac = default;
        expires = 0;
        if (token.Length > MaxLength)
        {
            return false;
        }

        int first = token.IndexOf('.');
        if (first <= 0 || first > MaxKeyIdLength)
        {
            return false;
        }

        keyId = token[..first];
        ReadOnlySpan<char> rest = token[(first + 1)..];
        int second = rest.IndexOf('.');
        if (second <= 0 || second > MaxExpiryDigits)
        {
            return false;
        }

        expiresText = rest[..second];
        mac = rest[(second + 1)..];
        if (!IsKeyId(keyId) || mac.Length != MacLength || !IsBase64Url(mac) || expiresText[0] == '0')
        {
            return false;
        }

        foreach (char c in expiresText)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            expires = (expires * 10) + (c - '0');
        }

        return true;
    }

    /// <summary>A key id: 1–16 characters of [A-Za-z0-9_-].</summary>
    public static bool IsKeyId(ReadOnlySpan<char> id)
    {
        if (id.IsEmpty || id.Length > MaxKeyIdLength)
        {
            return false;
        }

        return IsBase64Url(id);
    }

    private static bool IsBase64Url(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static void ComputeMac(ReadOnlySpan<byte> secret, ReadOnlySpan<char> stream, ReadOnlySpan<char> channelId, ReadOnlySpan<char> expires,
        ReadOnlySpan<char> keyId, Span<byte> destination)
    {
        // "bpt2\n/live/{stream}/\n{channelId}\n{expires}\n{keyId}"; a stream name and a channel id are at most a few
        // hundred characters.
        int length = Domain.Length + 1 + 6 + Encoding.UTF8.GetByteCount(stream) + 1 + 1 + Encoding.UTF8.GetByteCount(channelId) + 1
            + expires.Length + 1 + keyId.Length;
        byte[]? rented = null;
        Span<byte> message = length <= 512 ? stackalloc byte[512] : (rented = new byte[length]);
        int n = 0;
        n += Encoding.ASCII.GetBytes(Domain, message[n..]);
        message[n++] = (byte)'\n';
        n += Encoding.ASCII.GetBytes("/live/", message[n..]);
        n += Encoding.UTF8.GetBytes(stream, message[n..]);
        message[n++] = (byte)'/';
        message[n++] = (byte)'\n';
        n += Encoding.UTF8.GetBytes(channelId, message[n..]);
        message[n++] = (byte)'\n';
        n += Encoding.ASCII.GetBytes(expires, message[n..]);
        message[n++] = (byte)'\n';
        n += Encoding.ASCII.GetBytes(keyId, message[n..]);
        HMACSHA256.HashData(secret, message[..n], destination);
        if (rented is not null)
        {
            CryptographicOperations.ZeroMemory(rented);
        }
    }
}
