namespace Broadcast.Ingest.Rtmps;

/// <summary>
/// RTMPS ingest settings, bound from the "Rtmps" configuration section. Everything else (limits, timeouts,
/// stream keys) is the RTMP ingest's: RTMPS is the same publish flow inside TLS.
/// </summary>
public sealed class RtmpsOptions
{
    public const string SectionName = "Rtmps";

    /// <summary>TCP port (1936 or 443 are usual); null or 0 leaves RTMPS off.</summary>
    public int? Port { get; set; }

    /// <summary>Address to bind; null takes Rtmp:BindAddress.</summary>
    public string? BindAddress { get; set; }

    /// <summary>A PEM certificate (with its chain after it) when <see cref="KeyPath"/> is set; otherwise a PFX (PKCS#12)
    /// file or a PEM file holding both certificate and key.</summary>
    public string? CertificatePath { get; set; }

    /// <summary>The PEM private key of <see cref="CertificatePath"/>.</summary>
    public string? KeyPath { get; set; }

    /// <summary>Password of the PFX file or of an encrypted PEM key; null when there is none.</summary>
    public string? CertificatePassword { get; set; }

    public bool Enabled => Port is > 0;
}
