using System.Security.Cryptography.X509Certificates;
using Broadcast.Ingest.Rtmps;
using Broadcast.Ingest.Tests.Rtmp;
using Broadcast.TestSupport;

namespace Broadcast.Ingest.Tests.Rtmps;

/// <summary>Loading the RTMPS certificate from the configured files: PEM pair, PFX, and every way it goes wrong.</summary>
public sealed class RtmpsCertificateTests : IDisposable
{
    private readonly TempDirectory _dir = new("rtmps-cert");
    private readonly X509Certificate2 _certificate = TestCertificates.CreateSelfSigned("rtmps-a");

    public void Dispose()
    {
        _certificate.Dispose();
        _dir.Dispose();
    }

    private static RtmpsOptions Options(string? certificate, string? key = null, string? password = null) =>
        new() { Port = 1936, CertificatePath = certificate, KeyPath = key, CertificatePassword = password };

    private static string LoadError(RtmpsOptions options) => Assert.Throws<RtmpsCertificateException>(() => RtmpsCertificate.Load(options)).Message;

    [Fact]
    public void Pem_pair_loads_with_its_private_key()
    {
        var (cert, key) = TestCertificates.WritePem(_certificate, _dir.Path);
        var loaded = RtmpsCertificate.Load(Options(cert, key));
        Assert.Equal(_certificate.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
        Assert.Equal("CN=rtmps-a", loaded.Subject);
    }

    [Fact]
    public void Pem_file_holding_certificate_and_key_loads_alone()
    {
        var (cert, key) = TestCertificates.WritePem(_certificate, _dir.Path);
        string both = _dir.Combine("both.pem");
        File.WriteAllText(both, File.ReadAllText(cert) + "\n" + File.ReadAllText(key));
        var loaded = RtmpsCertificate.Load(Options(both));
        Assert.Equal(_certificate.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Theory]
    [InlineData("s3cret")]
    [InlineData(null)]
    public void Pfx_loads_with_its_password(string? password)
    {
        string pfx = TestCertificates.WritePfx(_certificate, _dir.Path, password);
        var loaded = RtmpsCertificate.Load(Options(pfx, password: password));
        Assert.Equal(_certificate.Thumbprint, loaded.Leaf.Thumbprint);
        Assert.True(loaded.Leaf.HasPrivateKey);
    }

    [Fact]
    public void Pfx_with_a_wrong_password_names_the_path_and_the_password_key()
    {
        string pfx = TestCertificates.WritePfx(_certificate, _dir.Path, "right");
        string message = LoadError(Options(pfx, password: "wrong"));
        Assert.Contains("Rtmps:CertificatePath", message);
        Assert.Contains("Rtmps:CertificatePassword", message);
        Assert.Contains(pfx, message);
    }

    [Fact]
    public void No_certificate_configured_says_which_key_to_set()
    {
        string message = LoadError(Options(null));
        Assert.Contains("Rtmps:CertificatePath is not set", message);
    }

    [Fact]
    public void Missing_certificate_file_names_the_key_and_path()
    {
        string path = _dir.Combine("nope.crt");
        string message = LoadError(Options(path, _dir.Combine("nope.key")));
        Assert.Contains("Rtmps:CertificatePath", message);
        Assert.Contains(path, message);
        Assert.Contains("not found", message);
    }

    [Fact]
    public void Missing_key_file_names_the_key_and_path()
    {
        var (cert, _) = TestCertificates.WritePem(_certificate, _dir.Path);
        string path = _dir.Combine("nope.key");
        string message = LoadError(Options(cert, path));
        Assert.Contains("Rtmps:KeyPath", message);
        Assert.Contains(path, message);
    }

    public static TheoryData<string, byte[]> GarbageCertificates => new()
    {
        { "random bytes", Enumerable.Range(0, 700).Select(i => (byte)(i * 37 + 11)).ToArray() },
        { "empty file", [] },
        { "PEM armour around garbage", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"u8.ToArray() },
        { "PEM with only a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"u8.ToArray() },
    };

    [Theory]
    [MemberData(nameof(GarbageCertificates))]
    public void Garbage_certificate_file_names_the_key_and_path(string name, byte[] content)
    {
        string path = _dir.Combine("garbage.crt");
        File.WriteAllBytes(path, content);
        string message = LoadError(Options(path));
        Assert.True(message.Contains("Rtmps:CertificatePath", StringComparison.Ordinal) && message.Contains(path, StringComparison.Ordinal), $"{name}: {message}");
    }

    [Fact]
    public void Garbage_key_file_names_the_key_and_path()
    {
        var (cert, _) = TestCertificates.WritePem(_certificate, _dir.Path);
        string key = _dir.Combine("garbage.key");
        File.WriteAllText(key, "this is not a key\n");
        string message = LoadError(Options(cert, key));
        Assert.Contains("Rtmps:KeyPath", message);
        Assert.Contains(key, message);
    }

    [Fact]
    public void Key_of_another_certificate_is_refused_as_a_mismatch()
    {
        using var other = TestCertificates.CreateSelfSigned("rtmps-b");
        var (cert, _) = TestCertificates.WritePem(_certificate, _dir.Path, "a");
        var (_, otherKey) = TestCertificates.WritePem(other, _dir.Path, "b");
        string message = LoadError(Options(cert, otherKey));
        Assert.Contains("Rtmps:KeyPath", message);
        Assert.Contains("matching the certificate", message);
        Assert.Contains(otherKey, message);
    }

    [Fact]
    public void Source_reloads_a_replaced_certificate_and_keeps_the_old_one_while_the_new_file_is_bad()
    {
        var logs = new CapturingLoggerProvider();
        var (cert, key) = TestCertificates.WritePem(_certificate, _dir.Path);
        var source = new RtmpsCertificateSource(Options(cert, key), logs);
        Assert.Equal(_certificate.Thumbprint, source.Load().Leaf.Thumbprint);
        Assert.Same(source.Current(), source.Current());

        // A half-written renewal: the certificate file is garbage for now. The old certificate stays, logged once.
        File.WriteAllText(cert, "-----BEGIN CERTIFICATE-----\ntruncated");
        Touch(cert, 1);
        Assert.Equal(_certificate.Thumbprint, source.Current().Leaf.Thumbprint);
        Assert.Equal(_certificate.Thumbprint, source.Current().Leaf.Thumbprint);
        var failed = Assert.Single(logs.Entries, e => e.EventId == 1026);
        Assert.Contains("Rtmps:CertificatePath", failed.Message);
        Assert.Contains("CN=rtmps-a", failed.Message);

        // The renewal completes: the next connection gets the new certificate without a restart.
        using var renewed = TestCertificates.CreateSelfSigned("rtmps-renewed");
        TestCertificates.WritePem(renewed, _dir.Path);
        Touch(cert, 2);
        Touch(key, 2);
        Assert.Equal(renewed.Thumbprint, source.Current().Leaf.Thumbprint);
        Assert.Contains(logs.Entries, e => e.EventId == 1025 && e.Message.Contains("CN=rtmps-renewed", StringComparison.Ordinal));
    }

    [Fact]
    public void Expired_certificate_loads_with_a_warning()
    {
        using var expired = TestCertificates.CreateSelfSigned("rtmps-old", DateTimeOffset.UtcNow.AddDays(-60), DateTimeOffset.UtcNow.AddDays(-30));
        var (cert, key) = TestCertificates.WritePem(expired, _dir.Path);
        var logs = new CapturingLoggerProvider();
        new RtmpsCertificateSource(Options(cert, key), logs).Load();
        Assert.Contains(logs.Entries, e => e.EventId == 1027 && e.Message.Contains("CN=rtmps-old", StringComparison.Ordinal));
    }

    /// <summary>Moves a file's timestamp forward: some file systems keep whole seconds, and a test rewrites within one.</summary>
    private static void Touch(string path, int minutes) => File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(minutes));
}
