using System.Net.Sockets;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// Lets a publisher's blocking reads (<see cref="Broadcast.Media.BlockingReadPump"/>) wake only once
/// <see cref="Bytes"/> have arrived, or after <see cref="Milliseconds"/> with whatever has: Linux tcp_recvmsg returns
/// the bytes it has when the receive timeout ends (SO_RCVLOWAT + SO_RCVTIMEO); a timeout with none at all is an
/// <see cref="IsIdleTimeout"/> error the pump reads past. An encoder sends a chunk of at most a few KB per write and
/// each woke the reader: at 2.5 Mb/s over a hundred wake-ups a second per publisher, with this about fifty, for at
/// most 20 ms more delay on the way in. Only for a plain socket read through <see cref="NetworkStream"/> (a TLS
/// stream cannot resume after a failed read), and only once media flows: the command exchange before a publish stays
/// at one round trip per message.
/// </summary>
internal static class ReceiveCoalescing
{
    public const int Bytes = 16 * 1024;

    public const int Milliseconds = 20;

    public static void Apply(Socket socket)
    {
        socket.ReceiveTimeout = Milliseconds;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveLowWater, Bytes);
    }

    /// <summary>How <see cref="NetworkStream"/> reports a receive timeout with nothing read.</summary>
    public static bool IsIdleTimeout(IOException error) => error.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut };
}
