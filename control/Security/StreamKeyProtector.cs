using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Control.Security;

/// <summary>
/// Encrypts stream keys at rest with AES-256-GCM under the server secret, so an admin can reveal a
/// key later while a copy of the database alone reveals nothing.
/// Layout: version (1 byte, 0x01) | nonce (12) | tag (16) | ciphertext. The channel id is the
/// associated data, so a ciphertext copied onto another row fails to decrypt.
/// </summary>
public sealed class StreamKeyProtector
{
    private const byte Version = 1;
    private const int NonceSize = 12; // AesGcm.NonceByteSizes.MaxSize; the size GCM is defined for (NIST SP 800-38D §5.2.1.1)
    private const int TagSize = 16;
    private const int HeaderSize = 1 + NonceSize + TagSize;

    private readonly byte[] _key;

    public StreamKeyProtector(byte[] key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length != 32)
        {
            throw new ArgumentException("The server secret must be 32 bytes (AES-256).", nameof(key));
        }

        _key = (byte[])key.Clone();
    }

    public byte[] Protect(string channelId, string streamKey)
    {
        var plaintext = Encoding.UTF8.GetBytes(streamKey);
        var output = new byte[HeaderSize + plaintext.Length];
        output[0] = Version;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(HeaderSize), output.AsSpan(1 + NonceSize, TagSize), Encoding.UTF8.GetBytes(channelId));
        return output;
    }

    /// <summary>Decrypts; throws <see cref="CryptographicException"/> when the secret or the channel id does not match.</summary>
    public string Unprotect(string channelId, ReadOnlySpan<byte> protectedKey)
    {
        if (protectedKey.Length < HeaderSize || protectedKey[0] != Version)
        {
            throw new CryptographicException("Unknown stream key ciphertext format.");
        }

        var plaintext = new byte[protectedKey.Length - HeaderSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(protectedKey.Slice(1, NonceSize), protectedKey[HeaderSize..], protectedKey.Slice(1 + NonceSize, TagSize), plaintext,
            Encoding.UTF8.GetBytes(channelId));
        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>
    /// The server secret: <c>Secrets:Key</c> (base64 of 32 bytes) when set, else the file at
    /// <c>Secrets:KeyPath</c>, generated on first start.
    /// </summary>
    public static byte[] LoadSecret(string? configuredKey, string keyPath)
    {
        var text = string.IsNullOrWhiteSpace(configuredKey)
            ? SecretFile.ReadOrCreate(keyPath, () => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), out _)
            : configuredKey.Trim();
        byte[] key;
        try
        {
            key = Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new InvalidOperationException("The server secret (Secrets:Key or Secrets:KeyPath) is not valid base64.");
        }

        return key.Length == 32
            ? key
            : throw new InvalidOperationException($"The server secret must decode to 32 bytes; it decodes to {key.Length}.");
    }
}
