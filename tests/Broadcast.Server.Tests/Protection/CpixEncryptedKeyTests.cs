using System.Security.Cryptography;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Packager.Live;
using Broadcast.Protection;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// Encrypted content keys (CPIX 2.3 §5.3.2, §8.1) against <see cref="CpixKeyServerStandIn"/>: a node with a recipient
/// key names its certificate in the request and takes the key the stand-in encrypted to it; each broken part of an
/// encrypted answer refuses the broadcast saying which, with no key material; the recipient settings are checked at start.
/// </summary>
public sealed class CpixEncryptedKeyTests : IAsyncLifetime
{
    private static readonly RSA RecipientKey = RSA.Create(2048);
    private readonly TempDirectory _dir = new("cpix-recipient");
    private readonly CpixKeyProviderTests.CapturingLogger<CpixKeyProvider> _log = new();
    private CpixKeyServerStandIn _server = null!;
    private (string Certificate, string Key) _pems;

    public async Task InitializeAsync()
    {
        _server = await CpixKeyServerStandIn.StartAsync();
        _pems = CpixEncryptedAnswer.WritePems(_dir, RecipientKey);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _dir.Dispose();
    }

    private CpixOptions Options() => new()
    {
        Url = _server.Url.ToString(),
        Systems = ["widevine", "playready"],
        RecipientCertificatePath = _pems.Certificate,
        RecipientPrivateKeyPath = _pems.Key,
    };

    [Fact]
    public async Task The_request_names_the_certificate_and_the_encrypted_key_is_taken()
    {
        using var provider = new CpixKeyProvider(Options(), _log);
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);

        byte[] key = _server.KeyFor("chan", grant.Key.Id);
        Assert.Equal(new ContentKey(grant.Key.Id, key), grant.Key);
        Assert.All(grant.Systems, s => Assert.Equal(CpixKeyServerStandIn.PsshFor(s.SystemId, grant.Key.Id), s.Pssh.ToArray()));
        Assert.Equal(2, BroadcastProtection.From(EncryptionScheme.Cbcs, grant).SystemHeaders.Count);
        using var certificate = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPem(File.ReadAllText(_pems.Certificate));
        Assert.Equal(Convert.ToBase64String(certificate.RawData), _server.LastDeliveryCertificate);
        Assert.Contains("<cpix:DeliveryDataList><cpix:DeliveryData><cpix:DeliveryKey><ds:X509Data><ds:X509Certificate>", _server.LastRequest,
            StringComparison.Ordinal);
        // The request's DeliveryDataList comes before its ContentKeyList (CPIX 2.3 XSD CPIXType).
        Assert.True(_server.LastRequest!.IndexOf("DeliveryDataList", StringComparison.Ordinal) < _server.LastRequest.IndexOf("ContentKeyList", StringComparison.Ordinal));
        // A continued broadcast gets the same key again, encrypted anew.
        Assert.Equal(grant.Key, (await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, grant.Key.Id, default)).Key);
        foreach (var e in _log.Events)
        {
            Assert.DoesNotContain(Convert.ToBase64String(key), e.Text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToHexString(key), e.Text, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("PRIVATE KEY", e.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_plain_key_is_still_taken_when_a_recipient_key_is_configured()
    {
        _server.AnswerPlain = true;
        using var provider = new CpixKeyProvider(Options(), _log);
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, null, default);
        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
    }

    [Theory]
    [InlineData(EncryptedBreakage.WrongMac, "pskc:ValueMAC does not match")]
    [InlineData(EncryptedBreakage.NoMac, "has no pskc:ValueMAC")]
    [InlineData(EncryptedBreakage.ShortMac, "is 32 bytes, not 64")]
    [InlineData(EncryptedBreakage.OtherCertificate, "none of the answer's 2 cpix:DeliveryData is for this node's certificate")]
    [InlineData(EncryptedBreakage.WrongRsaKey, "the document key could not be decrypted with this node's private key")]
    [InlineData(EncryptedBreakage.UnknownKeyAlgorithm, "the key's enc:EncryptionMethod is the unknown algorithm")]
    [InlineData(EncryptedBreakage.UnknownDocumentKeyAlgorithm, "the cpix:DocumentKey's Algorithm is the unknown algorithm")]
    [InlineData(EncryptedBreakage.UnknownMacAlgorithm, "the cpix:MACMethod's Algorithm is the unknown algorithm")]
    [InlineData(EncryptedBreakage.UnknownWrapAlgorithm, "the document key's enc:EncryptionMethod is the unknown algorithm")]
    [InlineData(EncryptedBreakage.ShortDocumentKey, "the document key is 16 bytes, not 32")]
    [InlineData(EncryptedBreakage.PartialBlock, "not a 16-byte IV followed by whole AES blocks")]
    [InlineData(EncryptedBreakage.BadPadding, "padding is not PKCS#7")]
    [InlineData(EncryptedBreakage.LongKey, "the decrypted key is 32 bytes, not 16")]
    public async Task A_broken_encrypted_answer_refuses_the_broadcast_saying_why(EncryptedBreakage breakage, string reason)
    {
        _server.Breakage = breakage;
        using var provider = new CpixKeyProvider(Options(), _log);
        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        var logged = Assert.Single(_log.Events, e => e.Id == 9500);
        Assert.Contains(reason, logged.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(_log.Events, e => e.Id == 9501);
    }

    public static TheoryData<string, string> WrongSettings => new()
    {
        { "certificate alone", "both or neither" },
        { "key alone", "both or neither" },
        { "missing certificate", "RecipientCertificatePath: '" },
        { "missing key", "RecipientPrivateKeyPath: '" },
        { "not a certificate", "is not a PEM certificate" },
        { "not a key", "is not an unencrypted PEM RSA private key" },
        { "not RSA", "the certificate's key is not RSA" },
        { "another key", "the private key is not the one of the certificate" },
        { "1024 bits", "is 1024 bits, under 2048" },
    };

    [Theory]
    [MemberData(nameof(WrongSettings))]
    public void A_wrong_recipient_setting_stops_the_start_saying_which(string wrong, string reason)
    {
        var options = Options();
        switch (wrong)
        {
            case "certificate alone": options.RecipientPrivateKeyPath = null; break;
            case "key alone": options.RecipientCertificatePath = " "; break;
            case "missing certificate": options.RecipientCertificatePath = _dir.Combine("absent.crt"); break;
            case "missing key": options.RecipientPrivateKeyPath = _dir.Combine("absent.key"); break;
            case "not a certificate": options.RecipientCertificatePath = options.RecipientPrivateKeyPath; break;
            case "not a key": options.RecipientPrivateKeyPath = options.RecipientCertificatePath; break;
            case "not RSA":
                using (var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256))
                {
                    using var certificate = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=ec", ec, HashAlgorithmName.SHA256)
                        .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
                    options.RecipientCertificatePath = _dir.Combine("ec.crt");
                    File.WriteAllText(options.RecipientCertificatePath, certificate.ExportCertificatePem());
                }
                break;
            case "another key":
                using (var another = RSA.Create(2048)) options.RecipientPrivateKeyPath = CpixEncryptedAnswer.WritePems(_dir, another, "another").Key;
                break;
            case "1024 bits":
                using (var small = RSA.Create(1024)) (options.RecipientCertificatePath, options.RecipientPrivateKeyPath) = CpixEncryptedAnswer.WritePems(_dir, small, "small");
                break;
        }
        var refused = Assert.Throws<InvalidOperationException>(() => options.Validate());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MII", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_with_a_wrong_recipient_key_does_not_start()
    {
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Protection:Cpix:Url"] = _server.Url.ToString(),
            ["Protection:Cpix:RecipientCertificatePath"] = _pems.Certificate,
            ["Protection:Cpix:RecipientPrivateKeyPath"] = _dir.Combine("absent.key"),
        }).Build();
        var refused = Assert.Throws<InvalidOperationException>(() => new ServiceCollection().AddChannelProtection(settings));
        Assert.Contains("Protection:Cpix:RecipientPrivateKeyPath", refused.Message, StringComparison.Ordinal);
    }
}
