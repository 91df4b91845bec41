using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// An answer signed by another implementation: xmlsec1 (the XML Security Library on libxml2 and OpenSSL, which key-server
/// and SAML stacks outside .NET build on) fills in a whole-document signature template on the stand-in's answer, and
/// <see cref="CpixAnswerSignature"/> takes it and refuses it once a key byte is changed.
/// </summary>
[Trait("Kind", "Component")]
public sealed class CpixSignedAnswerXmlsecTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("cpix-answer-xmlsec");
    private CpixKeyServerStandIn _server = null!;

    public async Task InitializeAsync() => _server = await CpixKeyServerStandIn.StartAsync();

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>CPIX's algorithms (RSA with SHA-512 over SHA-512 digests) with Exclusive Canonical XML, values left for xmlsec1.</summary>
    private const string Template =
        "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>" +
        "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>" +
        "<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha512\"/>" +
        "<ds:Reference URI=\"\"><ds:Transforms>" +
        "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>" +
        "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>" +
        "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha512\"/><ds:DigestValue/></ds:Reference>" +
        "</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>";

    [Fact]
    public async Task An_answer_signed_by_xmlsec1_is_taken_and_refused_once_changed()
    {
        using var rsa = RSA.Create(3072);
        var (certificatePath, keyPath) = CpixEncryptedAnswer.WritePems(_dir, rsa, "xmlsec-key-server");
        var kid = KeyId.FromBytes(RandomNumberGenerator.GetBytes(16));
        using var http = new HttpClient();
        using var body = new ByteArrayContent(CpixRequest.Write("chan", kid, EncryptionScheme.Cbcs, [CpixOptions.Widevine]));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
        using var response = await http.PostAsync(_server.Url, body);
        string answer = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, answer);

        string template = _dir.Combine("template.xml"), signedPath = _dir.Combine("signed.xml");
        await File.WriteAllTextAsync(template, answer.Replace("</cpix:CPIX>", Template + "</cpix:CPIX>", StringComparison.Ordinal));
        var signing = await ExternalProcess.RunAsync("xmlsec1",
            ["--sign", "--privkey-pem", $"{keyPath},{certificatePath}", "--output", signedPath, template], TimeSpan.FromSeconds(60));
        Assert.True(signing.ExitCode == 0, signing.OutputTail);
        byte[] signed = await File.ReadAllBytesAsync(signedPath);

        using var check = CpixAnswerSignature.Load(certificatePath);
        var keys = CpixAnswer.Read(check.Verify(signed), kid, EncryptionScheme.Cbcs, [CpixOptions.Widevine]);
        Assert.Equal(new ContentKey(kid, _server.KeyFor("chan", kid)), keys.Key);

        string key = Convert.ToBase64String(_server.KeyFor("chan", kid)), other = Convert.ToBase64String(CpixKeyServerStandIn.SlippedKey);
        string changed = Encoding.UTF8.GetString(signed).Replace(key, other, StringComparison.Ordinal);
        Assert.NotEqual(Encoding.UTF8.GetString(signed), changed);
        var refused = Assert.Throws<CpixRefusedException>(() => check.Verify(Encoding.UTF8.GetBytes(changed)));
        Assert.StartsWith("the answer's signature does not verify", refused.Message, StringComparison.Ordinal);
    }
}
