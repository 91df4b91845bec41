using System.Net.Sockets;
using Broadcast.Ingest.Rtmp.Receive;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// Ends a connection whose peer stopped taking part with a reset (SO_LINGER 0) rather than a FIN, while its socket still
/// holds bytes the peer never took. Closed gracefully, such a socket lingers in FIN_WAIT1 behind those bytes, retrying
/// for minutes to deliver them to a peer that does not read; and a peer that itself waits to send never learns that the
/// server has gone (one whose tiny receive buffer drops the segments that carry the server's acknowledgements stalls
/// so). nginx's <c>reset_timedout_connection</c> does the same for its timed-out connections. A peer that reads has
/// nothing unsent left, so it still gets every reply and a FIN.
/// </summary>
internal static class StalledPeerReset
{
    /// <summary>Linux only (SIOCOUTQNSD); elsewhere the close stays graceful.</summary>
    public static void ResetIfUnsent(Socket socket, ILogger logger, long connectionId, string remote)
    {
        int unsent = LinuxEpoll.UnsentBytes(socket);
        if (unsent <= 0) return;
        try
        {
            socket.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            return;
        }
        RtmpLog.StalledPeerReset(logger, connectionId, remote, unsent);
    }
}
