using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// A certificate and its RSA private key from two PEM files, as this node's CPIX roles take them (the recipient of
/// encrypted keys, <see cref="CpixRecipient"/>; the signer of requests, <see cref="CpixSigner"/>). A wrong file is an
/// <see cref="InvalidOperationException"/> naming the setting, never quoting the key.
/// </summary>
internal static class CpixKeyPair
{
    /// <summary>The least RSA key size taken (CPIX 2.3 §"Mandatory Algorithms" recommends 3072 bits).</summary>
    public const int MinKeyBits = 2048;

    /// <summary>Loads and checks both files: the certificate's key RSA of at least <see cref="MinKeyBits"/> bits, and the
    /// private key its pair. Returns the certificate's DER and the private key (the caller's to dispose).</summary>
    /// <param name="why">Why the key must be RSA, for the message when it is not.</param>
    public static (byte[] Certificate, RSA PrivateKey) Load(string certificatePath, string privateKeyPath,
        string certificateSetting, string keySetting, string why)
    {
        using var certificate = LoadCertificate(certificatePath, certificateSetting, why);
        string privateKeyPem = Read(privateKeyPath, keySetting);
        using (var publicKey = certificate.GetRSAPublicKey()!)
        {
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
                    throw new InvalidOperationException($"{keySetting}: '{privateKeyPath}' is not an unencrypted PEM RSA private key", e);
                }
                var ours = privateKey.ExportParameters(false);
                var theirs = publicKey.ExportParameters(false);
                if (!ours.Modulus.AsSpan().SequenceEqual(theirs.Modulus) || !ours.Exponent.AsSpan().SequenceEqual(theirs.Exponent))
                    throw new InvalidOperationException($"{keySetting}: the private key is not the one of the certificate in {certificateSetting}");
                return (certificate.RawData, privateKey);
            }
            catch
            {
                privateKey.Dispose();
                throw;
            }
        }
    }

    /// <summary>Loads and checks a PEM certificate alone: its key RSA of at least <see cref="MinKeyBits"/> bits (the
    /// caller's to dispose). Also the key server's, whose answers' signatures it verifies (<see cref="CpixAnswerSignature"/>).</summary>
    public static X509Certificate2 LoadCertificate(string certificatePath, string certificateSetting, string why)
    {
        string certificatePem = Read(certificatePath, certificateSetting);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new InvalidOperationException($"{certificateSetting}: '{certificatePath}' is not a PEM certificate ({e.GetType().Name})", e);
        }
        try
        {
            using var publicKey = certificate.GetRSAPublicKey();
            if (publicKey is null) throw new InvalidOperationException($"{certificateSetting}: the certificate's key is not RSA ({why})");
            if (publicKey.KeySize < MinKeyBits)
                throw new InvalidOperationException($"{certificateSetting}: the certificate's RSA key is {publicKey.KeySize} bits, under {MinKeyBits}");
            return certificate;
        }
        catch
        {
            certificate.Dispose();
            throw;
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
}
