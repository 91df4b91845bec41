using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>RTMPS ingest log events, ids 1020-1039 of the RTMP ingest range, stable for alerting.</summary>
internal static partial class RtmpLog
{
    [LoggerMessage(EventId = 1020, Level = LogLevel.Information,
        Message = "RTMPS ingest listening on {EndPoint} with certificate {Subject} (expires {NotAfter:u})")]
    public static partial void RtmpsListening(ILogger logger, string endPoint, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning,
        Message = "RTMPS connection {ConnectionId} from {RemoteEndPoint} refused: plain RTMP (first byte 0x03) on the RTMPS port; " +
            "the encoder must publish to rtmps://, or to rtmp:// on the RTMP port")]
    public static partial void PlainRtmpOnTlsPort(ILogger logger, long connectionId, string remoteEndPoint);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning,
        Message = "RTMPS connection {ConnectionId} from {RemoteEndPoint} refused: not a TLS handshake (first byte 0x{FirstByte:X2})")]
    public static partial void NotTls(ILogger logger, long connectionId, string remoteEndPoint, byte firstByte);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Warning,
        Message = "RTMPS connection {ConnectionId} from {RemoteEndPoint} closed: TLS handshake failed: {Reason}")]
    public static partial void TlsHandshakeFailed(ILogger logger, long connectionId, string remoteEndPoint, string reason);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Debug,
        Message = "RTMPS connection {ConnectionId} from {RemoteEndPoint} TLS established ({Protocol}, {CipherSuite})")]
    public static partial void TlsEstablished(ILogger logger, long connectionId, string remoteEndPoint,
        System.Security.Authentication.SslProtocols protocol, System.Net.Security.TlsCipherSuite cipherSuite);

    [LoggerMessage(EventId = 1025, Level = LogLevel.Information, Message = "RTMPS certificate reloaded from {Path}: {Subject}, expires {NotAfter:u}")]
    public static partial void CertificateReloaded(ILogger logger, string path, string subject, DateTime notAfter);

    [LoggerMessage(EventId = 1026, Level = LogLevel.Error,
        Message = "RTMPS certificate file changed but cannot be loaded; keeping the previous certificate {Subject} (expires {NotAfter:u}): {Reason}")]
    public static partial void CertificateReloadFailed(ILogger logger, string subject, DateTime notAfter, string reason);

    [LoggerMessage(EventId = 1027, Level = LogLevel.Warning,
        Message = "RTMPS certificate {Subject} is valid from {NotBefore:u} to {NotAfter:u}: encoders that check certificates will refuse it")]
    public static partial void CertificateNotValidNow(ILogger logger, string subject, DateTime notBefore, DateTime notAfter);
}
