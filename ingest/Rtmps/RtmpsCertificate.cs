using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Broadcast.Ingest.Rtmps;

/// <summary>A certificate file could not be used; the message names the configuration key and the path.</summary>
public sealed class RtmpsCertificateException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The RTMPS server certificate as loaded from the files <see cref="RtmpsOptions"/> names: the leaf with its
/// private key and the chain after it, ready for <see cref="System.Net.Security.SslStream"/>.
/// </summary>
public sealed class RtmpsCertificate
{
    private const string CertificateKey = RtmpsOptions.SectionName + ":" + nameof(RtmpsOptions.CertificatePath);
    private const string KeyKey = RtmpsOptions.SectionName + ":" + nameof(RtmpsOptions.KeyPath);
    private const string PasswordKey = RtmpsOptions.SectionName + ":" + nameof(RtmpsOptions.CertificatePassword);

    private RtmpsCertificate(X509Certificate2 leaf, X509Certificate2Collection chain)
    {
        Leaf = leaf;
        Context = SslStreamCertificateContext.Create(leaf, chain, offline: true);
    }

    public X509Certificate2 Leaf { get; }

    public SslStreamCertificateContext Context { get; }

    public string Subject => Leaf.Subject;

    /// <summary>The files this certificate was read from (the key file too for a PEM pair).</summary>
    public static IReadOnlyList<string> Files(RtmpsOptions options) =>
        string.IsNullOrEmpty(options.KeyPath) ? [options.CertificatePath ?? ""] : [options.CertificatePath ?? "", options.KeyPath];

    /// <summary>Loads the certificate, or throws <see cref="RtmpsCertificateException"/> saying which key and file is wrong.</summary>
    public static RtmpsCertificate Load(RtmpsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.CertificatePath))
            throw new RtmpsCertificateException($"{RtmpsOptions.SectionName}:Port is {options.Port} but {CertificateKey} is not set: " +
                $"give a PEM certificate with {KeyKey}, or a PFX file alone.");
        string certificatePath = RequireFile(CertificateKey, options.CertificatePath);
        if (!string.IsNullOrWhiteSpace(options.KeyPath))
            return LoadPemPair(certificatePath, RequireFile(KeyKey, options.KeyPath), options.CertificatePassword);
        return LooksLikePem(certificatePath)
            ? LoadPemPair(certificatePath, certificatePath, options.CertificatePassword)
            : LoadPfx(certificatePath, options.CertificatePassword);
    }

    private static string RequireFile(string key, string path)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full)) throw new RtmpsCertificateException($"{key}: file '{full}' not found.");
        return full;
    }

    private static bool LooksLikePem(string path)
    {
        Span<byte> head = stackalloc byte[256];
        using var file = File.OpenRead(path);
        int read = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return head[..read].IndexOf("-----BEGIN "u8) >= 0;
    }

    private static RtmpsCertificate LoadPemPair(string certificatePath, string keyPath, string? password)
    {
        var all = new X509Certificate2Collection();
        try
        {
            all.ImportFromPemFile(certificatePath);
        }
        catch (CryptographicException ex)
        {
            throw new RtmpsCertificateException($"{CertificateKey}: '{certificatePath}' is not a readable PEM certificate: {ex.Message}", ex);
        }
        if (all.Count == 0)
            throw new RtmpsCertificateException($"{CertificateKey}: '{certificatePath}' holds no PEM certificate (-----BEGIN CERTIFICATE-----).");

        X509Certificate2 leaf;
        try
        {
            leaf = string.IsNullOrEmpty(password)
                ? X509Certificate2.CreateFromPemFile(certificatePath, keyPath)
                : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyPath);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            string key = keyPath == certificatePath ? CertificateKey : KeyKey;
            throw new RtmpsCertificateException($"{key}: '{keyPath}' holds no PEM private key matching the certificate in " +
                $"'{certificatePath}'{(string.IsNullOrEmpty(password) ? "" : $" (or {PasswordKey} is wrong)")}: {ex.Message}", ex);
        }
        return Complete(leaf, all, certificatePath);
    }

    private static RtmpsCertificate LoadPfx(string path, string? password)
    {
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password);
        }
        catch (CryptographicException ex)
        {
            throw new RtmpsCertificateException($"{CertificateKey}: '{path}' is neither a PEM certificate nor a PFX file that opens with " +
                $"{PasswordKey}: {ex.Message}", ex);
        }
        var leaf = all.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new RtmpsCertificateException($"{CertificateKey}: the PFX file '{path}' holds no certificate with a private key.");
        return Complete(leaf, all, path);
    }

    private static RtmpsCertificate Complete(X509Certificate2 leaf, X509Certificate2Collection all, string path)
    {
        if (!leaf.HasPrivateKey)
            throw new RtmpsCertificateException($"{CertificateKey}: '{path}' has no private key.");
        var chain = new X509Certificate2Collection();
        foreach (var certificate in all)
            if (certificate.Thumbprint != leaf.Thumbprint) chain.Add(certificate);
        try
        {
            return new RtmpsCertificate(leaf, chain);
        }
        catch (Exception ex) when (ex is CryptographicException or NotSupportedException)
        {
            throw new RtmpsCertificateException($"{CertificateKey}: '{path}' cannot serve TLS: {ex.Message}", ex);
        }
    }
}
