using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>What part of an encrypted answer <see cref="CpixEncryptedAnswer.Encrypt"/> breaks.</summary>
public enum EncryptedBreakage
{
    None,
    WrongMac,
    NoMac,
    ShortMac,
    OtherCertificate,
    WrongRsaKey,
    UnknownKeyAlgorithm,
    UnknownDocumentKeyAlgorithm,
    UnknownMacAlgorithm,
    UnknownWrapAlgorithm,
    ShortDocumentKey,
    PartialBlock,
    BadPadding,
    LongKey,
}

/// <summary>
/// Test-only: a CPIX answer's keys encrypted as a key server does (CPIX 2.3 §5.3.2, §8.1; PSKC RFC 6030 §6.1): a fresh
/// 32-byte document key and 64-byte MAC key, each RSA-OAEP (SHA-1) encrypted to the recipient's certificate in a
/// DeliveryData naming it; each content key as a 16-byte IV then its AES-256-CBC/PKCS#7 ciphertext, with the
/// HMAC-SHA512 of both as its ValueMAC. Also the recipient's certificate and key, as PEM files.
/// </summary>
public static class CpixEncryptedAnswer
{
    private static readonly XNamespace Cpix = CpixRequest.CpixNamespace;
    private static readonly XNamespace Pskc = CpixRequest.PskcNamespace;
    private static readonly XNamespace Ds = CpixRequest.DsNamespace;
    private static readonly XNamespace Enc = CpixRequest.EncNamespace;
    private const string Aes256Cbc = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
    private const string RsaOaep = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
    private const string HmacSha512 = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512";
    private const string Unknown = "http://www.w3.org/2001/04/xmlenc#aes128-cbc";

    /// <summary>A self-signed certificate of <paramref name="key"/>.</summary>
    public static X509Certificate2 Certificate(RSA key, string name = "CN=broadcast-node") =>
        new CertificateRequest(name, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

    /// <summary>A recipient's certificate and private key as PEM files in <paramref name="dir"/>: (certificate, key).</summary>
    public static (string Certificate, string Key) WritePems(TempDirectory dir, RSA key, string name = "recipient")
    {
        using var certificate = Certificate(key);
        string certificatePath = dir.Combine(name + ".crt"), keyPath = dir.Combine(name + ".key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Replaces each ContentKey's Data of <paramref name="answer"/> by its key (<paramref name="keyFor"/>)
    /// encrypted to <paramref name="certificate"/> (DER), and puts the DeliveryDataList first, as <paramref name="breakage"/> breaks it.</summary>
    public static void Encrypt(XDocument answer, byte[] certificate, Func<KeyId, byte[]> keyFor, EncryptedBreakage breakage = EncryptedBreakage.None)
    {
        var root = answer.Root!;
        root.Elements(Cpix + "DeliveryDataList").Remove();
        root.SetAttributeValue(XNamespace.Xmlns + "ds", Ds.NamespaceName);
        root.SetAttributeValue(XNamespace.Xmlns + "enc", Enc.NamespaceName);
        byte[] documentKey = RandomNumberGenerator.GetBytes(breakage == EncryptedBreakage.ShortDocumentKey ? 16 : 32);
        byte[] macKey = RandomNumberGenerator.GetBytes(64);
        using var other = RSA.Create(2048);
        using var recipient = X509CertificateLoader.LoadCertificate(certificate);
        using var theirs = recipient.GetRSAPublicKey()!;
        var wrapTo = breakage == EncryptedBreakage.WrongRsaKey ? other : theirs;
        byte[] named = breakage == EncryptedBreakage.OtherCertificate ? Certificate(other, "CN=another-node").RawData : certificate;
        string wrap = breakage == EncryptedBreakage.UnknownWrapAlgorithm ? "http://www.w3.org/2001/04/xmlenc#rsa-1_5" : RsaOaep;
        root.AddFirst(new XElement(Cpix + "DeliveryDataList",
            // A DeliveryData for someone else first: the reader must pick the one naming its certificate.
            new XElement(Cpix + "DeliveryData", new XElement(Cpix + "DeliveryKey",
                new XElement(Ds + "X509Data", new XElement(Ds + "X509Certificate", Convert.ToBase64String(Certificate(other, "CN=elsewhere").RawData))))),
            new XElement(Cpix + "DeliveryData",
                new XElement(Cpix + "DeliveryKey", new XElement(Ds + "X509Data", new XElement(Ds + "X509Certificate", Convert.ToBase64String(named)))),
                new XElement(Cpix + "DocumentKey",
                    new XAttribute("Algorithm", breakage == EncryptedBreakage.UnknownDocumentKeyAlgorithm ? Unknown : Aes256Cbc),
                    new XElement(Cpix + "Data", new XElement(Pskc + "Secret", new XElement(Pskc + "EncryptedValue",
                        Encrypted(wrap, wrapTo.Encrypt(documentKey, RSAEncryptionPadding.OaepSHA1)))))),
                // CPIX 2.3 XSD MACMethodType: Key is a pskc:EncryptedDataType, its EncryptionMethod and CipherData directly in it.
                new XElement(Cpix + "MACMethod",
                    new XAttribute("Algorithm", breakage == EncryptedBreakage.UnknownMacAlgorithm ? "http://www.w3.org/2000/09/xmldsig#hmac-sha1" : HmacSha512),
                    new XElement(Cpix + "Key", Encrypted(wrap, wrapTo.Encrypt(macKey, RSAEncryptionPadding.OaepSHA1)))),
                new XElement(Cpix + "Description", "stand-in"))));
        foreach (var contentKey in root.Descendants(Cpix + "ContentKey").Where(k => k.Element(Cpix + "Data") is not null))
        {
            var kid = KeyId.FromBytes(Convert.FromHexString(contentKey.Attribute("kid")!.Value.Replace("-", "", StringComparison.Ordinal)));
            byte[] key = keyFor(kid), iv = RandomNumberGenerator.GetBytes(16);
            using var aes = Aes.Create();
            aes.Key = documentKey;
            byte[] sealedKey = breakage switch
            {
                // Whole blocks whose last byte, 0, is no PKCS#7 padding.
                EncryptedBreakage.BadPadding => aes.EncryptCbc((byte[])[.. key, .. new byte[16]], iv, PaddingMode.None),
                EncryptedBreakage.LongKey => aes.EncryptCbc((byte[])[.. key, .. key], iv),
                _ => aes.EncryptCbc(key, iv),
            };
            byte[] cipher = [.. iv, .. sealedKey];
            if (breakage == EncryptedBreakage.PartialBlock) cipher = cipher[..^5];
            byte[] mac = HMACSHA512.HashData(macKey, cipher);
            if (breakage == EncryptedBreakage.WrongMac) mac[7] ^= 0x20;
            if (breakage == EncryptedBreakage.ShortMac) mac = mac[..32];
            var secret = new XElement(Pskc + "Secret", new XElement(Pskc + "EncryptedValue",
                Encrypted(breakage == EncryptedBreakage.UnknownKeyAlgorithm ? Unknown : Aes256Cbc, cipher)));
            if (breakage != EncryptedBreakage.NoMac) secret.Add(new XElement(Pskc + "ValueMAC", Convert.ToBase64String(mac)));
            contentKey.Elements(Cpix + "Data").Remove();
            contentKey.Add(new XElement(Cpix + "Data", secret));
        }
    }

    private static XElement[] Encrypted(string algorithm, byte[] cipher) =>
    [
        new XElement(Enc + "EncryptionMethod", new XAttribute("Algorithm", algorithm)),
        new XElement(Enc + "CipherData", new XElement(Enc + "CipherValue", Convert.ToBase64String(cipher))),
    ];
}
