using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

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
    public const int MinKeyBits = 2048;

    private readonly RSA _privateKey;

    /// <summary>The certificate's DER bytes, as the request carries them (base64 in <c>ds:X509Certificate</c>).</summary>
    public byte[] Certificate { get; }

    private CpixRecipient(byte[] certificate, RSA privateKey) => (Certificate, _privateKey) = (certificate, privateKey);

    /// <summary>Loads and checks both files: the certificate's key RSA of at least <see cref="MinKeyBits"/> bits, and the
    /// private key its pair.</summary>
    public static CpixRecipient Load(string certificatePath, string privateKeyPath)
    {
        const string cert = CpixOptions.Section + ":RecipientCertificatePath", key = CpixOptions.Section + ":RecipientPrivateKeyPath";
        string certificatePem = Read(certificatePath, cert), privateKeyPem = Read(privateKeyPath, key);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"{cert}: '{certificatePath}' is not a PEM certificate ({e.GetType().Name})", e);
        }
        using (certificate)
        using (var publicKey = certificate.GetRSAPublicKey())
        {
            if (publicKey is null) throw new InvalidOperationException($"{cert}: the certificate's key is not RSA (the CPIX document key is RSA-OAEP encrypted)");
            if (publicKey.KeySize < MinKeyBits)
                throw new InvalidOperationException($"{cert}: the certificate's RSA key is {publicKey.KeySize} bits, under {MinKeyBits}");
            var privateKey = RSA.Create();
            try
            {
                try
                {
                    privateKey.ImportFromPem(privateKeyPem);
                }
                catch (Exception e) when (e is ArgumentException or CryptographicException)
                {
                    // The exception's message is not repeated: it may quote the file.
                    throw new InvalidOperationException($"{key}: '{privateKeyPath}' is not an unencrypted PEM RSA private key", e);
                }
                var ours = privateKey.ExportParameters(false);
                var theirs = publicKey.ExportParameters(false);
                if (!ours.Modulus.AsSpan().SequenceEqual(theirs.Modulus) || !ours.Exponent.AsSpan().SequenceEqual(theirs.Exponent))
                    throw new InvalidOperationException($"{key}: the private key is not the one of the certificate in {cert}");
                return new CpixRecipient(certificate.RawData, privateKey);
            }
            catch
            {
                privateKey.Dispose();
                throw;
            }
        }
    }

    private static string Read(string path, string setting)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new InvalidOperationException($"{setting} is empty");
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException($"{setting}: '{path}' cannot be read ({e.GetType().Name})", e);
        }
    }

    /// <summary>RSA-OAEP with SHA-1 and MGF1-SHA-1 (XML Encryption §5.4.2 rsa-oaep-mgf1p), as CPIX wraps the document key
    /// and the MAC key.</summary>
    internal byte[] Decrypt(byte[] wrapped) => _privateKey.Decrypt(wrapped, RSAEncryptionPadding.OaepSHA1);

    public void Dispose() => _privateKey.Dispose();
}
