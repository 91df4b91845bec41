using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Xml;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// Signed CPIX requests (CPIX 2.3 §"Digital Signature", <see cref="CpixSigner"/>) against <see cref="CpixKeyServerStandIn"/>
/// with a trusted signer: a node with a signing key sends its request signed as a whole (one enveloped XMLDSIG signature,
/// the last child of cpix:CPIX, with CPIX's algorithms and the signer's certificate), which .NET's own verifier accepts and
/// the stand-in answers, and so does xmlsec1; a change to any signed byte breaks it; an unsigned request, or one signed by another key, is
/// refused by such a key server and refuses the broadcast with the key server's answer; the signing settings are
/// checked at start as the recipient's are.
/// </summary>
[Trait("Kind", "Component")]
public sealed class CpixSignedRequestTests : IAsyncLifetime
{
    private static readonly RSA SignerKey = RSA.Create(3072);
    private static readonly RSA RecipientKey = RSA.Create(2048);
    private readonly TempDirectory _dir = new("cpix-signer");
    private readonly CpixKeyProviderTests.CapturingLogger<CpixKeyProvider> _log = new();
    private CpixKeyServerStandIn _server = null!;
    private (string Certificate, string Key) _signer;
    private X509Certificate2 _signerCertificate = null!;

    public async Task InitializeAsync()
    {
        _server = await CpixKeyServerStandIn.StartAsync();
        _signer = CpixEncryptedAnswer.WritePems(_dir, SignerKey, "signer");
        _signerCertificate = X509Certificate2.CreateFromPem(File.ReadAllText(_signer.Certificate));
        _server.TrustedSigner = _signerCertificate;
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _signerCertificate.Dispose();
        _dir.Dispose();
    }

    private CpixOptions Options(bool signed = true) => new()
    {
        Url = _server.Url.ToString(),
        Systems = ["widevine", "playready"],
        SigningCertificatePath = signed ? _signer.Certificate : null,
        SigningPrivateKeyPath = signed ? _signer.Key : null,
    };

    [Fact]
    public async Task A_signed_request_carries_one_enveloped_signature_of_the_whole_document_with_cpix_s_algorithms()
    {
        using var provider = new CpixKeyProvider(Options(), _log);
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);

        Assert.Null(_server.LastSignatureRefusal);
        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
        var request = Load(_server.LastRequest!);
        var root = request.DocumentElement!;
        var signature = Assert.IsType<XmlElement>(root.LastChild);
        Assert.Equal(("Signature", CpixRequest.DsNamespace), (signature.LocalName, signature.NamespaceURI));
        Assert.Single(root.ChildNodes.OfType<XmlElement>(), e => e.LocalName == "Signature");
        var ds = new XmlNamespaceManager(request.NameTable);
        ds.AddNamespace("ds", CpixRequest.DsNamespace);
        string Algorithm(string path) => signature.SelectSingleNode(path, ds)!.Attributes!["Algorithm"]!.Value;
        Assert.Equal(CpixSigner.SignatureMethod, Algorithm("ds:SignedInfo/ds:SignatureMethod"));
        Assert.Equal(SignedXml.XmlDsigCanonicalizationUrl, Algorithm("ds:SignedInfo/ds:CanonicalizationMethod"));
        var reference = (XmlElement)signature.SelectSingleNode("ds:SignedInfo/ds:Reference", ds)!;
        Assert.Equal("", reference.GetAttribute("URI"));
        Assert.Equal(CpixSigner.DigestMethod, Algorithm("ds:SignedInfo/ds:Reference/ds:DigestMethod"));
        Assert.Equal([SignedXml.XmlDsigEnvelopedSignatureTransformUrl, SignedXml.XmlDsigC14NTransformUrl],
            reference.SelectNodes("ds:Transforms/ds:Transform", ds)!.OfType<XmlElement>().Select(t => t.GetAttribute("Algorithm")));
        Assert.Equal(Convert.ToBase64String(_signerCertificate.RawData),
            signature.SelectSingleNode("ds:KeyInfo/ds:X509Data/ds:X509Certificate", ds)!.InnerText);
        Assert.True(Verifies(request, _signerCertificate));
        // The rest of the request is the unsigned one's.
        Assert.NotNull(root.SelectSingleNode("*[local-name()='ContentKeyList']/*[local-name()='ContentKey'][@kid='" + grant.Key.Id.ToUuidString() + "']"));
        Assert.Contains(_log.Events, e => e.Id == 9501);
    }

    [Fact]
    public async Task A_signed_request_with_a_recipient_certificate_keeps_the_two_apart()
    {
        var pems = CpixEncryptedAnswer.WritePems(_dir, RecipientKey, "recipient");
        var options = Options();
        (options.RecipientCertificatePath, options.RecipientPrivateKeyPath) = pems;
        using var provider = new CpixKeyProvider(options, _log);
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, null, default);

        // The key came encrypted to the recipient certificate, not to the signer's, which only the signature names.
        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
        using var recipient = X509Certificate2.CreateFromPem(File.ReadAllText(pems.Certificate));
        Assert.Equal(Convert.ToBase64String(recipient.RawData), _server.LastDeliveryCertificate);
        Assert.True(Verifies(Load(_server.LastRequest!), _signerCertificate));
    }

    [Theory]
    [InlineData("the KID", "kid=\"", "kid=\"0")]
    [InlineData("the content ID", "contentId=\"chan\"", "contentId=\"chan2\"")]
    [InlineData("the scheme", "commonEncryptionScheme=\"cbcs\"", "commonEncryptionScheme=\"cenc\"")]
    [InlineData("a DRM system", "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "9a04f079-9840-4286-ab92-e65be0885f95")]
    public void A_change_to_any_signed_part_breaks_the_signature(string what, string from, string to)
    {
        using var signer = CpixSigner.Load(_signer.Certificate, _signer.Key);
        byte[] unsigned = CpixRequest.Write("chan", KeyId.FromBytes(RandomNumberGenerator.GetBytes(16)), EncryptionScheme.Cbcs,
            [CpixOptions.Widevine]);
        string signed = System.Text.Encoding.UTF8.GetString(signer.Sign(unsigned));
        Assert.True(Verifies(Load(signed), _signerCertificate), "as signed");

        int at = signed.IndexOf(from, StringComparison.Ordinal);
        Assert.True(at >= 0, what);
        string changed = string.Concat(signed.AsSpan(0, at), to, signed.AsSpan(at + from.Length));
        Assert.False(Verifies(Load(changed), _signerCertificate), $"{what} changed");
    }

    /// <summary>
    /// Another implementation verifies it: xmlsec1 (the XML Security Library, libxml2 and OpenSSL, which SAML and
    /// key-server stacks outside .NET build on), with the signer's public key and only the whole-document reference allowed.
    /// </summary>
    [Fact]
    public async Task Xmlsec1_verifies_the_signed_request_and_refuses_a_changed_one()
    {
        using var signer = CpixSigner.Load(_signer.Certificate, _signer.Key);
        string signed = System.Text.Encoding.UTF8.GetString(signer.Sign(
            CpixRequest.Write("chan", KeyId.FromBytes(RandomNumberGenerator.GetBytes(16)), EncryptionScheme.Cbcs, [CpixOptions.Widevine, CpixOptions.FairPlay])));
        string good = _dir.Combine("signed.xml"), changed = _dir.Combine("changed.xml");
        await File.WriteAllTextAsync(good, signed);
        await File.WriteAllTextAsync(changed, signed.Replace("contentId=\"chan\"", "contentId=\"chan2\"", StringComparison.Ordinal));

        async Task<ProcessResult> VerifyAsync(string path) => await ExternalProcess.RunAsync("xmlsec1",
            ["--verify", "--pubkey-cert-pem", _signer.Certificate, "--enabled-reference-uris", "empty", path], TimeSpan.FromSeconds(60));
        var verified = await VerifyAsync(good);
        Assert.True(verified.ExitCode == 0, verified.OutputTail);
        Assert.Contains("OK", verified.OutputTail, StringComparison.Ordinal);
        var refused = await VerifyAsync(changed);
        Assert.True(refused.ExitCode != 0, refused.OutputTail);
    }

    [Fact]
    public async Task An_unsigned_request_to_a_key_server_that_wants_one_refuses_the_broadcast_with_its_answer()
    {
        using var provider = new CpixKeyProvider(Options(signed: false), _log);
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());

        Assert.Contains("the key server answered 403", refused.Message, StringComparison.Ordinal);
        Assert.Equal("0 document signatures, expected 1", _server.LastSignatureRefusal);
        Assert.Contains(_log.Events, e => e.Id == 9500 && e.Text.Contains("403", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_request_signed_by_another_key_is_refused()
    {
        using var another = RSA.Create(2048);
        var pems = CpixEncryptedAnswer.WritePems(_dir, another, "another-signer");
        var options = Options();
        (options.SigningCertificatePath, options.SigningPrivateKeyPath) = pems;
        using var provider = new CpixKeyProvider(options, _log);

        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains("403", refused.Message, StringComparison.Ordinal);
        Assert.Equal("the signature does not verify with the trusted certificate", _server.LastSignatureRefusal);
    }

    public static TheoryData<string, string> WrongSettings => new()
    {
        { "certificate alone", "SigningCertificatePath and Protection:Cpix:SigningPrivateKeyPath are set both or neither" },
        { "key alone", "both or neither" },
        { "missing key", "SigningPrivateKeyPath: '" },
        { "not a certificate", "SigningCertificatePath: '" },
        { "another key", "the private key is not the one of the certificate in Protection:Cpix:SigningCertificatePath" },
        { "1024 bits", "is 1024 bits, under 2048" },
    };

    [Theory]
    [MemberData(nameof(WrongSettings))]
    public void A_wrong_signing_setting_stops_the_start_saying_which(string wrong, string reason)
    {
        var options = Options();
        switch (wrong)
        {
            case "certificate alone": options.SigningPrivateKeyPath = null; break;
            case "key alone": options.SigningCertificatePath = " "; break;
            case "missing key": options.SigningPrivateKeyPath = _dir.Combine("absent.key"); break;
            case "not a certificate": options.SigningCertificatePath = options.SigningPrivateKeyPath; break;
            case "another key":
                using (var another = RSA.Create(2048)) options.SigningPrivateKeyPath = CpixEncryptedAnswer.WritePems(_dir, another, "other").Key;
                break;
            case "1024 bits":
                using (var small = RSA.Create(1024)) (options.SigningCertificatePath, options.SigningPrivateKeyPath) = CpixEncryptedAnswer.WritePems(_dir, small, "small-signer");
                break;
        }
        var refused = Assert.Throws<InvalidOperationException>(() => options.Validate());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", refused.Message, StringComparison.Ordinal);
    }

    private static XmlDocument Load(string text)
    {
        var xml = new XmlDocument { PreserveWhitespace = true, XmlResolver = null };
        xml.LoadXml(text);
        return xml;
    }

    /// <summary>.NET's own XMLDSIG verifier: the document's one signature over the whole of it, with the certificate's key.</summary>
    private static bool Verifies(XmlDocument document, X509Certificate2 certificate)
    {
        var signed = new SignedXml(document);
        signed.LoadXml((XmlElement)document.GetElementsByTagName("Signature", CpixRequest.DsNamespace)[0]!);
        return signed.CheckSignature(certificate, verifySignatureOnly: true);
    }
}
