using Broadcast.Ingest.Rtmp;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmps;

/// <summary>
/// The current RTMPS certificate. Each new connection asks <see cref="Current"/>, which compares the files'
/// timestamps and sizes with those last loaded and reloads on a change: a renewed certificate (certbot, a
/// secret mount) takes effect without a restart. A file that changed but does not load (still being written,
/// or wrong) leaves the previous certificate in use and logs why, once per change.
/// </summary>
public sealed class RtmpsCertificateSource
{
    private readonly RtmpsOptions _options;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private RtmpsCertificate? _current;
    private string _loadedStamp = "";
    private string _failedStamp = "";

    public RtmpsCertificateSource(RtmpsOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
    }

    /// <summary>Loads the certificate at start-up; throws <see cref="RtmpsCertificateException"/> naming the key and path.</summary>
    public RtmpsCertificate Load()
    {
        lock (_gate)
        {
            string stamp = Stamp();
            _current = RtmpsCertificate.Load(_options);
            _loadedStamp = stamp;
            _failedStamp = "";
            WarnIfNotValidNow(_current);
            return _current;
        }
    }

    /// <summary>The certificate for a new connection, reloaded first when its files changed.</summary>
    public RtmpsCertificate Current()
    {
        lock (_gate)
        {
            var current = _current ?? throw new InvalidOperationException("Load the RTMPS certificate before serving connections.");
            string stamp = Stamp();
            if (stamp == _loadedStamp || stamp == _failedStamp) return current;
            try
            {
                _current = RtmpsCertificate.Load(_options);
                _loadedStamp = stamp;
                _failedStamp = "";
                RtmpLog.CertificateReloaded(_logger, Path.GetFullPath(_options.CertificatePath!), _current.Subject,
                    _current.Leaf.NotAfter.ToUniversalTime());
                WarnIfNotValidNow(_current);
                return _current;
            }
            catch (RtmpsCertificateException ex)
            {
                _failedStamp = stamp;
                RtmpLog.CertificateReloadFailed(_logger, current.Subject, current.Leaf.NotAfter.ToUniversalTime(), ex.Message);
                return current;
            }
        }
    }

    private string Stamp() =>
        string.Join('|', RtmpsCertificate.Files(_options).Select(path =>
        {
            var file = new FileInfo(path);
            return file.Exists ? $"{file.LastWriteTimeUtc.Ticks}:{file.Length}" : "missing";
        }));

    private void WarnIfNotValidNow(RtmpsCertificate certificate)
    {
        var now = DateTime.UtcNow;
        var (from, to) = (certificate.Leaf.NotBefore.ToUniversalTime(), certificate.Leaf.NotAfter.ToUniversalTime());
        if (now < from || now > to) RtmpLog.CertificateNotValidNow(_logger, certificate.Subject, from, to);
    }
}
