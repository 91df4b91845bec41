using System.Net.Sockets;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What an RTMP session runs on: the accepted socket wrapped in a stream (RTMPS: an authenticated TLS stream).
/// Owned by the connection's consumer, the RTMP code knows nothing of TLS.
/// </summary>
internal interface IRtmpTransport
{
    /// <summary>
    /// The stream the RTMP session runs on, owning <paramref name="socket"/>; or null when the connection was
    /// refused, in which case the transport has logged why and closed the socket. Never throws.
    /// </summary>
    ValueTask<Stream?> OpenAsync(Socket socket, long connectionId, string remoteEndPoint, CancellationToken stopping);
}
