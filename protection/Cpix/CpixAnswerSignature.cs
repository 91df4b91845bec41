using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;
using System.Xml;

namespace Broadcast.Protection.Cpix;

/// <summary>
/// The key server's signature on its answers, checked when <c>Protection:Cpix:KeyServerCertificatePath</c> names its
/// certificate (CPIX 2.3 §"Digital Signature": a recipient that expects a signature refuses a document whose signature is
/// missing or does not verify). What it takes is what <see cref="CpixSigner"/> sends: one enveloped XML Signature that is a
/// child of <c>cpix:CPIX</c>, with one <c>Reference</c> of <c>URI=""</c> (the whole document), RSASSA-PKCS1-v1_5 over a
/// SHA-256 or stronger digest, and verifying with that certificate's key (the signature's own KeyInfo is not trusted).
/// CPIX also lets a document sign single lists by their <c>id</c>; a key server that does only that is refused, because
/// this node reads the keys and pssh of the whole answer. The enveloped-signature transform leaves the signature element
/// out of what is signed, so the answer read afterwards is the document without it (<see cref="Verify"/>'s result): a
/// <c>cpix:ContentKey</c> slipped into <c>ds:Object</c> after signing is never read. Any fault is a
/// <see cref="CpixRefusedException"/> naming it.
/// </summary>
public sealed class CpixAnswerSignature : IDisposable
{
    /// <summary>RSASSA-PKCS1-v1_5 with SHA-256, SHA-384 and SHA-512 (RFC 6931 §2.3.2–2.3.3); never SHA-1.</summary>
    private static readonly string[] SignatureMethods =
    [
        SignedXml.XmlDsigRSASHA256Url, SignedXml.XmlDsigRSASHA384Url, SignedXml.XmlDsigRSASHA512Url,
    ];

    private static readonly string[] DigestMethods =
    [
        SignedXml.XmlDsigSHA256Url, SignedXml.XmlDsigSHA384Url, SignedXml.XmlDsigSHA512Url,
    ];

    private readonly X509Certificate2 _certificate;

    private CpixAnswerSignature(X509Certificate2 certificate) => _certificate = certificate;

    /// <summary>Loads and checks the key server's certificate: PEM, its key RSA of at least <see cref="CpixKeyPair.MinKeyBits"/> bits.</summary>
    public static CpixAnswerSignature Load(string certificatePath)
    {
        const string setting = CpixOptions.Section + ":" + nameof(CpixOptions.KeyServerCertificatePath);
        var certificate = CpixKeyPair.LoadCertificate(certificatePath, setting, "CPIX signatures are RSASSA-PKCS1-v1_5");
        return new CpixAnswerSignature(certificate);
    }

    /// <summary>
    /// The answer without its signature, once the signature is found to be the key server's over the whole document;
    /// refused otherwise. The answer is read once with CpixAnswer's caps (no DTD, no resolution, <see cref="CpixAnswer.MaxDepth"/>)
    /// before the signature's canonicalization, which walks the tree, ever sees it.
    /// </summary>
    public byte[] Verify(byte[] answer)
    {
        ArgumentNullException.ThrowIfNull(answer);
        var document = Load(answer);
        var root = document.DocumentElement!;
        if (root.LocalName != "CPIX" || root.NamespaceURI != CpixRequest.CpixNamespace)
            throw new CpixRefusedException("the answer is not a CPIX document (its root is not cpix:CPIX in urn:dashif:org:cpix)");
        var signatures = root.ChildNodes.OfType<XmlElement>()
            .Where(e => e.LocalName == "Signature" && e.NamespaceURI == CpixRequest.DsNamespace).ToList();
        if (signatures.Count != 1)
            throw new CpixRefusedException($"the answer carries {signatures.Count} signatures of the whole document, expected 1 " +
                $"({CpixOptions.Section}:{nameof(CpixOptions.KeyServerCertificatePath)} is set)");

        var signed = new SignedXml(document);
        try
        {
            signed.LoadXml(signatures[0]);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or XmlException)
        {
            throw new CpixRefusedException($"the answer's signature cannot be read: {e.Message}", e);
        }
        var info = signed.SignedInfo!;
        if (!SignatureMethods.Contains(info.SignatureMethod, StringComparer.Ordinal))
            throw new CpixRefusedException($"the answer is signed with {Shown(info.SignatureMethod)}; taken: RSASSA-PKCS1-v1_5 with SHA-256, SHA-384 or SHA-512");
        if (info.References.Count != 1 || info.References[0] is not Reference { Uri: "" } whole)
            throw new CpixRefusedException("the answer's signature does not sign the whole document (one Reference with URI=\"\")");
        if (!DigestMethods.Contains(whole.DigestMethod, StringComparer.Ordinal))
            throw new CpixRefusedException($"the answer's signature digests with {Shown(whole.DigestMethod)}; taken: SHA-256, SHA-384 or SHA-512");
        bool enveloped = false;
        for (int i = 0; i < whole.TransformChain.Count; i++) enveloped |= whole.TransformChain[i] is XmlDsigEnvelopedSignatureTransform;
        if (!enveloped)
            throw new CpixRefusedException("the answer's signature is not enveloped (no enveloped-signature transform)");

        bool verified;
        try
        {
            // The configured certificate's key, whatever the signature's KeyInfo names; the chain is the operator's choice.
            verified = signed.CheckSignature(_certificate, verifySignatureOnly: true);
        }
        catch (Exception e) when (e is CryptographicException or FormatException or XmlException)
        {
            throw new CpixRefusedException($"the answer's signature cannot be checked: {e.Message}", e);
        }
        if (!verified)
            throw new CpixRefusedException($"the answer's signature does not verify with the key server's certificate " +
                $"({CpixOptions.Section}:{nameof(CpixOptions.KeyServerCertificatePath)})");

        root.RemoveChild(signatures[0]);
        using var body = new MemoryStream(answer.Length);
        using (var writer = XmlWriter.Create(body, new XmlWriterSettings { Encoding = new UTF8Encoding(false), Indent = false }))
            document.Save(writer);
        return body.ToArray();
    }

    /// <summary>An algorithm URI as a refusal shows it: at most 100 characters, so an answer cannot fill the log.</summary>
    private static string Shown(string? uri) =>
        uri is null ? "no algorithm" : $"'{(uri.Length > 100 ? uri[..100] + "…" : uri)}'";

    private static XmlDocument Load(byte[] answer)
    {
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersFromEntities = 0,
            MaxCharactersInDocument = Math.Max(1, answer.Length),
            CloseInput = true,
        };
        try
        {
            // Depth first, with a reader that keeps nothing: SignedXml's canonicalization recurses over the tree.
            using (var reader = XmlReader.Create(new MemoryStream(answer, writable: false), settings))
            {
                while (reader.Read())
                    if (reader.Depth > CpixAnswer.MaxDepth) throw new CpixRefusedException($"the answer nests deeper than {CpixAnswer.MaxDepth} elements");
            }
            // Whitespace kept: it is part of what was signed.
            var document = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
            using (var reader = XmlReader.Create(new MemoryStream(answer, writable: false), settings)) document.Load(reader);
            return document;
        }
        catch (XmlException e)
        {
            throw new CpixRefusedException($"the answer is not well-formed XML: {e.Message}", e);
        }
    }

    public void Dispose() => _certificate.Dispose();
}
