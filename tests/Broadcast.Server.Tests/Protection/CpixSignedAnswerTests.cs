using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Broadcast.Packager.Cmaf.Encryption;
using Broadcast.Protection.Cpix;
using Broadcast.TestSupport;

namespace Broadcast.Server.Tests.Protection;

/// <summary>
/// Signed CPIX answers (CPIX 2.3 §"Digital Signature", <see cref="CpixAnswerSignature"/>) from
/// <see cref="CpixKeyServerStandIn"/>, which signs them with .NET's SignedXml under Exclusive Canonical XML (as vendors'
/// Java and Go stacks do, where this node's requests use Canonical XML 1.0): with the key server's certificate set, an
/// answer signed as a whole by its key gives the broadcast its key; one unsigned, signed by another key, changed after
/// signing, signed with SHA-1 or signing only its key list refuses the broadcast saying which; a key slipped into the
/// signature after signing is never read; the certificate is checked at start.
/// </summary>
public sealed class CpixSignedAnswerTests : IAsyncLifetime
{
    private static readonly RSA KeyServerKey = RSA.Create(3072);
    private readonly TempDirectory _dir = new("cpix-answer-signature");
    private readonly CpixKeyProviderTests.CapturingLogger<CpixKeyProvider> _log = new();
    private CpixKeyServerStandIn _server = null!;
    private string _certificatePath = null!;
    private X509Certificate2 _certificate = null!;

    public async Task InitializeAsync()
    {
        _server = await CpixKeyServerStandIn.StartAsync();
        _certificatePath = CpixEncryptedAnswer.WritePems(_dir, KeyServerKey, "key-server").Certificate;
        _certificate = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(_certificatePath));
        _server.AnswerSigner = (KeyServerKey, _certificate);
    }

    public async Task DisposeAsync()
    {
        await _server.DisposeAsync();
        _certificate.Dispose();
        _dir.Dispose();
    }

    private CpixKeyProvider Provider(string? certificatePath = null) => new(new CpixOptions
    {
        Url = _server.Url.ToString(),
        Systems = ["widevine", "playready"],
        KeyServerCertificatePath = certificatePath ?? _certificatePath,
    }, _log);

    [Fact]
    public async Task An_answer_signed_as_a_whole_by_the_key_server_gives_the_key_and_pssh()
    {
        using var provider = Provider();
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);

        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
        Assert.Equal([CpixOptions.Widevine, CpixOptions.PlayReady], grant.Systems.Select(s => s.SystemId));
        Assert.Contains("<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\">", _server.LastAnswer, StringComparison.Ordinal);
        Assert.Contains(_log.Events, e => e.Id == 9501);
    }

    [Fact]
    public async Task A_key_slipped_into_the_signature_after_signing_is_never_read()
    {
        _server.AnswerSigning = AnswerSigning.KeySlippedIn;
        using var provider = Provider();
        var grant = await provider.KeyForAsync("chan", EncryptionScheme.Cenc, null, default);

        Assert.Contains(Convert.ToBase64String(CpixKeyServerStandIn.SlippedKey), _server.LastAnswer, StringComparison.Ordinal);
        Assert.Equal(new ContentKey(grant.Key.Id, _server.KeyFor("chan", grant.Key.Id)), grant.Key);
    }

    public static TheoryData<string, string> Refusals => new()
    {
        { "unsigned", "the answer carries 0 signatures of the whole document, expected 1 (Protection:Cpix:KeyServerCertificatePath is set)" },
        { "another key", "the answer's signature does not verify with the key server's certificate (Protection:Cpix:KeyServerCertificatePath)" },
        { nameof(AnswerSigning.ChangedAfter), "the answer's signature does not verify with the key server's certificate (Protection:Cpix:KeyServerCertificatePath)" },
        { nameof(AnswerSigning.Sha1), "the answer is signed with 'http://www.w3.org/2000/09/xmldsig#rsa-sha1'; taken: RSASSA-PKCS1-v1_5 with SHA-256, SHA-384 or SHA-512" },
        { nameof(AnswerSigning.ListOnly), "the answer's signature does not sign the whole document (one Reference with URI=\"\")" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task An_answer_not_signed_as_a_whole_by_the_key_server_refuses_the_broadcast_saying_why(string answer, string reason)
    {
        using var another = RSA.Create(2048);
        switch (answer)
        {
            case "unsigned": _server.AnswerSigner = null; break;
            case "another key": _server.AnswerSigner = (another, CpixEncryptedAnswer.Certificate(another, "CN=someone-else")); break;
            default: _server.AnswerSigning = Enum.Parse<AnswerSigning>(answer); break;
        }
        using var provider = Provider();

        var refused = await Assert.ThrowsAsync<CpixRefusedException>(() => provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default).AsTask());
        Assert.Equal(reason, refused.Message);
        Assert.Contains(_log.Events, e => e.Id == 9500 && e.Text.Contains(reason, StringComparison.Ordinal));
        Assert.DoesNotContain(_log.Events, e => e.Id == 9501);
    }

    [Fact]
    public void Malformed_deep_and_foreign_answers_are_refused_before_any_signature_is_computed()
    {
        using var check = CpixAnswerSignature.Load(_certificatePath);
        string deep = "<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\">" + string.Concat(Enumerable.Repeat("<a>", 50_000))
            + string.Concat(Enumerable.Repeat("</a>", 50_000)) + "</cpix:CPIX>";
        var cases = new (string Answer, string Reason)[]
        {
            ("", "the answer is not well-formed XML"),
            ("<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\">", "the answer is not well-formed XML"),
            ("<!DOCTYPE x [<!ENTITY e \"e\">]><cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\"/>", "the answer is not well-formed XML"),
            (deep, $"the answer nests deeper than {CpixAnswer.MaxDepth} elements"),
            ("<CPIX/>", "the answer is not a CPIX document"),
            ("<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\"><ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/></cpix:CPIX>",
                "the answer's signature cannot be read"),
        };
        foreach (var (answer, reason) in cases)
        {
            var refused = Assert.Throws<CpixRefusedException>(() => check.Verify(Encoding.UTF8.GetBytes(answer)));
            Assert.StartsWith(reason, refused.Message, StringComparison.Ordinal);
        }
    }

    /// <summary>Fuzz entry: a signed answer truncated, mutated and spliced is only ever refused, or verified unchanged.</summary>
    [Fact]
    public async Task Truncated_and_mutated_signed_answers_are_only_ever_refused()
    {
        using (var provider = Provider()) await provider.KeyForAsync("chan", EncryptionScheme.Cbcs, null, default);
        byte[] good = Encoding.UTF8.GetBytes(_server.LastAnswer!);
        using var check = CpixAnswerSignature.Load(_certificatePath);
        byte[] unsigned = check.Verify(good);
        var random = new Random(2026);
        int refused = 0, verified = 0;
        for (int i = 0; i < 1500; i++)
        {
            byte[] bytes = good.ToArray();
            switch (i % 3)
            {
                case 0: bytes = bytes[..random.Next(bytes.Length)]; break;
                case 1:
                    for (int m = random.Next(1, 4); m > 0; m--) bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                    break;
                default:
                    int from = random.Next(bytes.Length), to = random.Next(bytes.Length), length = random.Next(1, 64);
                    length = Math.Min(length, Math.Min(bytes.Length - from, bytes.Length - to));
                    Array.Copy(good, from, bytes, to, length);
                    break;
            }
            try
            {
                byte[] read = check.Verify(bytes);
                // What verifies is the signed document: a mutation outside the signed bytes (whitespace in the signature's
                // base64, say) may verify, but what is read is then the same answer.
                Assert.Equal(unsigned, read);
                verified++;
            }
            catch (CpixRefusedException)
            {
                refused++;
            }
        }
        Assert.True(refused > 1000, $"{refused} refused, {verified} verified");
    }

    public static TheoryData<string, string> WrongCertificates => new()
    {
        { "missing", "KeyServerCertificatePath: '" },
        { "empty", "Protection:Cpix:KeyServerCertificatePath is empty" },
        { "a private key", "is not a PEM certificate" },
        { "1024 bits", "is 1024 bits, under 2048" },
    };

    [Theory]
    [MemberData(nameof(WrongCertificates))]
    public void A_wrong_key_server_certificate_stops_the_start_saying_which(string wrong, string reason)
    {
        var options = new CpixOptions { Url = _server.Url.ToString() };
        switch (wrong)
        {
            case "missing": options.KeyServerCertificatePath = _dir.Combine("absent.pem"); break;
            case "empty": options.KeyServerCertificatePath = " "; break;
            case "a private key": options.KeyServerCertificatePath = CpixEncryptedAnswer.WritePems(_dir, KeyServerKey, "as-key").Key; break;
            case "1024 bits":
                using (var small = RSA.Create(1024)) options.KeyServerCertificatePath = CpixEncryptedAnswer.WritePems(_dir, small, "small").Certificate;
                break;
        }
        var refused = Assert.Throws<InvalidOperationException>(() => options.Validate());
        Assert.Contains(reason, refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("PRIVATE KEY", refused.Message, StringComparison.Ordinal);
    }
}
