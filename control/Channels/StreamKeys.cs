using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Channels;

/// <summary>
/// Stream keys: <c>live_</c> + 128 random bits as 26 lowercase base32 characters (RFC 4648 §6 alphabet,
/// no padding). URL-safe, case-insensitive-safe for storage paths, and easy to read aloud.
/// </summary>
public static class StreamKeys
{
    public const string Prefix = "live_";
    public const int RandomBytes = 16;
    public const int EncodedLength = 26; // ceil(128 / 5)
    public const int Length = 31; // Prefix.Length + EncodedLength

    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    public static string Generate()
    {
        Span<byte> random = stackalloc byte[RandomBytes];
        RandomNumberGenerator.Fill(random);
        return Prefix + Base32(random);
    }

    /// <summary>SHA-256 of the key's UTF-8 bytes: the only form the lookup index stores.</summary>
    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>True for strings shaped like a key; anything else is rejected before touching the database.</summary>
    public static bool IsWellFormed(string? key)
    {
        if (key is null || key.Length != Length || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in key.AsSpan(Prefix.Length))
        {
            if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Shows the last four characters only, enough to tell keys apart in a list.</summary>
    public static string Mask(string? key)
        => key is { Length: Length }
            ? Prefix + new string('*', EncodedLength - 4) + key[^4..]
            : Prefix + new string('*', EncodedLength);

    internal static string Base32(ReadOnlySpan<byte> data)
    {
        var output = new StringBuilder((data.Length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                output.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }

        if (bits > 0)
        {
            output.Append(Alphabet[(buffer << (5 - bits)) & 31]);
        }

        return output.ToString();
    }
}
