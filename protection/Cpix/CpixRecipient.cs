using System.Security.Cryptography;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// This node as the recipient of a key server's encrypted keys (CPIX 2.3 §5.3.2 DeliveryDataList, §8.1): the certificate
/// sent in the request's <c>cpix:DeliveryKey</c>, to which the key server encrypts the document key and the MAC key, and the
/// RSA private key (at least 2048 bits) that decrypts them. Loaded from the PEM files of
/// <c>Protection:Cpix:RecipientCertificatePath</c> and <c>RecipientPrivateKeyPath</c>; a wrong file is an
/// <see cref="InvalidOperationException"/> naming the setting, never quoting the key.
/// </summary>
public sealed class CpixRecipient : IDisposable
{
    public const int MinKeyBits = CpixKeyPair.MinKeyBits;

    private readonly RSA _privateKey;

    /// <summary>The certificate's DER bytes, as the request carries them (base64 in <c>ds:X509Certificate</c>).</summary>
    public byte[] Certificate { get; }

    private CpixRecipient(byte[] certificate, RSA privateKey) => (Certificate, _privateKey) = (certificate, privateKey);

    /// <summary>Loads and checks both files: the certificate's key RSA of at least <see cref="MinKeyBits"/> bits, and the
    /// private key its pair.</summary>
    public static CpixRecipient Load(string certificatePath, string privateKeyPath)
    {
        var (certificate, privateKey) = CpixKeyPair.Load(certificatePath, privateKeyPath,
            CpixOptions.Section + ":RecipientCertificatePath", CpixOptions.Section + ":RecipientPrivateKeyPath",
            "the CPIX document key is RSA-OAEP encrypted");
        return new CpixRecipient(certificate, privateKey);
    }

    /// <summary>RSA-OAEP with SHA-1 and MGF1-SHA-1 (XML Encryption §5.4.2 rsa-oaep-mgf1p), as CPIX wraps the document key
    /// and the MAC key.</summary>
    internal byte[] Decrypt(byte[] wrapped) => _privateKey.Decrypt(wrapped, RSAEncryptionPadding.OaepSHA1);

    public void Dispose() => _privateKey.Dispose();
}
