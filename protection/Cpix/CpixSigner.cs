using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Xml;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// This node as the signer of its CPIX requests, so a key server can tell them from anyone's (CPIX 2.3 §"Digital
/// Signature": the document may be signed as a whole; a recipient should refuse one whose expected signature is missing
/// or does not verify). The signature is XML Signature's (XMLDSIG 1.1, through .NET's <see cref="SignedXml"/>): enveloped,
/// the last child of <c>cpix:CPIX</c> (the XSD's place for <c>ds:Signature</c>, after every list), one reference to the
/// whole document (<c>URI=""</c> with the enveloped-signature transform), and the signer's X.509 certificate in its
/// KeyInfo, as CPIX requires of every signature. Algorithms are CPIX's mandatory ones (RSASSA-PKCS1-v1_5 with SHA-512,
/// SHA-512 digests) but for canonicalization: CPIX names Canonical XML 1.1, which .NET does not implement, so this signs
/// with Canonical XML 1.0 (comments omitted), as .NET CPIX libraries do. The two give the same bytes for a document with
/// no <c>xml:id</c>, <c>xml:base</c> or other <c>xml:</c> attributes (C14N 1.1 §2.4 changes only how those are
/// inherited), which a request of <see cref="CpixRequest"/> never has. Loaded from the PEM files of
/// <c>Protection:Cpix:SigningCertificatePath</c> and <c>SigningPrivateKeyPath</c>.
/// </summary>
public sealed class CpixSigner : IDisposable
{
    /// <summary>The signature method: RSASSA-PKCS1-v1_5 with SHA-512 (RFC 6931 §2.3.3).</summary>
    public const string SignatureMethod = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512";

    /// <summary>The digest method: SHA-512 (XML Encryption §5.7.4).</summary>
    public const string DigestMethod = "http://www.w3.org/2001/04/xmlenc#sha512";

    private readonly RSA _privateKey;
    private readonly X509Certificate2 _certificate;

    private CpixSigner(byte[] certificate, RSA privateKey)
    {
        _certificate = X509CertificateLoader.LoadCertificate(certificate);
        _privateKey = privateKey;
    }

    /// <summary>The certificate's DER bytes, as the signature's KeyInfo carries them.</summary>
    public byte[] Certificate => _certificate.RawData;

    /// <summary>Loads and checks both files: the certificate's key RSA of at least <see cref="CpixKeyPair.MinKeyBits"/> bits,
    /// and the private key its pair.</summary>
    public static CpixSigner Load(string certificatePath, string privateKeyPath)
    {
        var (certificate, privateKey) = CpixKeyPair.Load(certificatePath, privateKeyPath,
            CpixOptions.Section + ":SigningCertificatePath", CpixOptions.Section + ":SigningPrivateKeyPath",
            "CPIX signatures are RSASSA-PKCS1-v1_5");
        return new CpixSigner(certificate, privateKey);
    }

    /// <summary>The request <paramref name="document"/> (UTF-8, as <see cref="CpixRequest.Write"/> makes it) with its
    /// signature appended to the root.</summary>
    public byte[] Sign(byte[] document)
    {
        ArgumentNullException.ThrowIfNull(document);
        // Whitespace kept: it is part of what is signed, and the bytes sent must be the bytes digested.
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null };
        using (var reader = XmlReader.Create(new MemoryStream(document, writable: false), settings)) xml.Load(reader);

        var signed = new SignedXml(xml) { SigningKey = _privateKey };
        signed.SignedInfo!.CanonicalizationMethod = SignedXml.XmlDsigCanonicalizationUrl;
        signed.SignedInfo.SignatureMethod = SignatureMethod;
        var whole = new Reference { Uri = "", DigestMethod = DigestMethod };
        whole.AddTransform(new XmlDsigEnvelopedSignatureTransform());
        whole.AddTransform(new XmlDsigC14NTransform());
        signed.AddReference(whole);
        var keyInfo = new KeyInfo();
        keyInfo.AddClause(new KeyInfoX509Data(_certificate));
        signed.KeyInfo = keyInfo;
        signed.ComputeSignature();
        xml.DocumentElement!.AppendChild(xml.ImportNode(signed.GetXml(), deep: true));

        using var body = new MemoryStream();
        using (var writer = XmlWriter.Create(body, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = false }))
            xml.Save(writer);
        return body.ToArray();
    }

    public void Dispose()
    {
        _privateKey.Dispose();
        _certificate.Dispose();
    }
}
