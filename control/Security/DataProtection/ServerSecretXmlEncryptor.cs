using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Control.Security.DataProtection;

/// <summary>
/// Encrypts Data Protection keys at rest with AES-256-GCM under a key derived from the server secret (<c>Secrets:Key</c>),
/// so a copy of the database alone reveals no key that signs sessions or antiforgery tokens. Every node that shares the
/// key ring needs the same server secret (as it does for stream keys).
/// </summary>
public sealed class DataProtectionKeyCipher
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    // Bound to this purpose: the same server secret encrypts stream keys and signing keys under their own keys.
    private static readonly byte[] Info = Encoding.ASCII.GetBytes("broadcast/data-protection-keys/v1");
    private static readonly byte[] AssociatedData = Encoding.ASCII.GetBytes("data_protection_keys");

    private readonly byte[] _key;

    public DataProtectionKeyCipher(byte[] serverSecret)
    {
        ArgumentNullException.ThrowIfNull(serverSecret);
        if (serverSecret.Length != 32) throw new ArgumentException("The server secret must be 32 bytes.", nameof(serverSecret));
        _key = HKDF.DeriveKey(HashAlgorithmName.SHA256, serverSecret, 32, salt: [], info: Info);
    }

    /// <summary>nonce (12) | tag (16) | ciphertext.</summary>
    public byte[] Encrypt(ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = output.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(_key, TagSize);
        aes.Encrypt(nonce, plaintext, output.AsSpan(NonceSize + TagSize), output.AsSpan(NonceSize, TagSize), AssociatedData);
        return output;
    }

    /// <summary>Throws <see cref="CryptographicException"/> when the server secret differs or the bytes were altered.</summary>
    public byte[] Decrypt(ReadOnlySpan<byte> sealedBytes)
    {
        if (sealedBytes.Length < NonceSize + TagSize) throw new CryptographicException("The encrypted Data Protection key is truncated.");
        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(_key, TagSize);
        aes.Decrypt(sealedBytes[..NonceSize], sealedBytes[(NonceSize + TagSize)..], sealedBytes.Slice(NonceSize, TagSize), plaintext, AssociatedData);
        return plaintext;
    }
}

/// <summary>Wraps each key's secret element as <c>&lt;serverSecretEncrypted&gt;base64&lt;/serverSecretEncrypted&gt;</c>.</summary>
public sealed class ServerSecretXmlEncryptor(DataProtectionKeyCipher cipher) : IXmlEncryptor
{
    internal const string ElementName = "serverSecretEncrypted";

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        try
        {
            var element = new XElement(ElementName, Convert.ToBase64String(cipher.Encrypt(plaintext)));
            return new EncryptedXmlInfo(element, typeof(ServerSecretXmlDecryptor));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}

/// <summary>
/// The other half of <see cref="ServerSecretXmlEncryptor"/>; Data Protection creates it by type name from the stored XML,
/// with the application's services.
/// </summary>
public sealed class ServerSecretXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    private readonly DataProtectionKeyCipher _cipher = services.GetRequiredService<DataProtectionKeyCipher>();

    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        if (encryptedElement.Name.LocalName != ServerSecretXmlEncryptor.ElementName)
            throw new CryptographicException($"Expected a <{ServerSecretXmlEncryptor.ElementName}> element, " +
                $"found <{encryptedElement.Name.LocalName}>.");
        byte[] plaintext;
        try
        {
            plaintext = _cipher.Decrypt(Convert.FromBase64String(encryptedElement.Value));
        }
        catch (FormatException e)
        {
            throw new CryptographicException("The encrypted Data Protection key is not base64.", e);
        }

        try
        {
            return XElement.Parse(Encoding.UTF8.GetString(plaintext));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
