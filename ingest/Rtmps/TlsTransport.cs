using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Broadcast.Ingest.Rtmp;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmps;

/// <summary>
/// RTMPS: authenticates TLS 1.2/1.3 as the server on an accepted socket, within the handshake timeout, and hands
/// the decrypted stream to the RTMP connection. The first byte is peeked first so a plain RTMP client (0x03) or
/// anything else that is not a TLS handshake record (0x16) is refused with a reason rather than a TLS error.
/// </summary>
internal sealed class TlsTransport(RtmpsCertificateSource certificates, TimeSpan handshakeTimeout, ILogger logger) : IRtmpTransport
{
    private const byte TlsHandshakeRecord = 0x16;

    public async ValueTask<Stream?> OpenAsync(Socket socket, long connectionId, string remoteEndPoint, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(handshakeTimeout);
        SslStream? tls = null;
        try
        {
            var first = new byte[1];
            int read = await socket.ReceiveAsync(first, SocketFlags.Peek, timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                RtmpLog.Closed(logger, connectionId, remoteEndPoint, 0);
                return Refuse(socket);
            }
            if (first[0] == HandshakeC0.Rtmp)
            {
                RtmpLog.PlainRtmpOnTlsPort(logger, connectionId, remoteEndPoint);
                return Refuse(socket);
            }
            if (first[0] != TlsHandshakeRecord)
            {
                RtmpLog.NotTls(logger, connectionId, remoteEndPoint, first[0]);
                return Refuse(socket);
            }

            tls = new SslStream(new NetworkStream(socket, ownsSocket: true), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificates.Current().Context,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                ClientCertificateRequired = false,
                CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                AllowRenegotiation = false,
            }, timeout.Token).ConfigureAwait(false);
            RtmpLog.TlsEstablished(logger, connectionId, remoteEndPoint, tls.SslProtocol, tls.NegotiatedCipherSuite);
            return tls;
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
            RtmpLog.TlsHandshakeFailed(logger, connectionId, remoteEndPoint, $"not completed within {handshakeTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is AuthenticationException or IOException or SocketException or ObjectDisposedException)
        {
            RtmpLog.TlsHandshakeFailed(logger, connectionId, remoteEndPoint, Describe(ex));
        }
        if (tls is not null) await tls.DisposeAsync().ConfigureAwait(false);
        return Refuse(socket);
    }

    private static Stream? Refuse(Socket socket)
    {
        socket.Dispose();
        return null;
    }

    /// <summary>The exception chain in one line: SslStream's own message is often "see inner exception".</summary>
    private static string Describe(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null && parts.Count < 4; e = e.InnerException) parts.Add(e.Message);
        return string.Join(": ", parts.Distinct());
    }
}
