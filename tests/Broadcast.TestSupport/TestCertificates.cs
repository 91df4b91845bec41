using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broadcast.TestSupport;

/// <summary>Self-signed TLS server certificates made in-test (ECDSA P-256, for 127.0.0.1 and localhost), written as PEM or PFX.</summary>
public static class TestCertificates
{
    public static X509Certificate2 CreateSelfSigned(string commonName = "broadcast-test", DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        var start = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        return request.CreateSelfSigned(start, notAfter ?? start.AddDays(30));
    }

    /// <summary>Writes <c>{name}.crt</c> and <c>{name}.key</c> (PKCS#8) into <paramref name="directory"/>.</summary>
    public static (string CertificatePath, string KeyPath) WritePem(X509Certificate2 certificate, string directory, string name = "server")
    {
        string certificatePath = Path.Combine(directory, name + ".crt");
        string keyPath = Path.Combine(directory, name + ".key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("Not an ECDSA certificate with its key.");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Writes <c>{name}.pfx</c> into <paramref name="directory"/>.</summary>
    public static string WritePfx(X509Certificate2 certificate, string directory, string? password, string name = "server")
    {
        string path = Path.Combine(directory, name + ".pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pkcs12, password));
        return path;
    }

    /// <summary>Server switches turning RTMPS on at <paramref name="port"/> with a fresh PEM pair written into <paramref name="directory"/>.</summary>
    public static IReadOnlyList<string> RtmpsServerArguments(int port, string directory)
    {
        using var certificate = CreateSelfSigned("broadcast-rtmps-test");
        var (certificatePath, keyPath) = WritePem(certificate, directory, "rtmps");
        return [$"--Rtmps:Port={port.ToString(System.Globalization.CultureInfo.InvariantCulture)}", $"--Rtmps:CertificatePath={certificatePath}", $"--Rtmps:KeyPath={keyPath}"];
    }
}
