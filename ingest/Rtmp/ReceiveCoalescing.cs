using System.Net.Sockets;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// Lets a publisher's blocking reads (<see cref="Broadcast.Media.BlockingReadPump"/>) wake only once
/// <see cref="Bytes"/> have arrived, or after a window (<c>Rtmp:ReceiveCoalescingMilliseconds</c>, by default
/// <see cref="DefaultMilliseconds"/>) with whatever has: Linux tcp_recvmsg returns
/// the bytes it has when the receive timeout ends (SO_RCVLOWAT + SO_RCVTIMEO); a timeout with none at all is an
/// <see cref="IsIdleTimeout"/> error the pump reads past. An encoder sends a chunk of at most a few KB per write and
/// each woke the reader: at 2.5 Mb/s over a hundred wake-ups a second per publisher, with a 20 ms window about fifty,
/// for at most 20 ms more delay on the way in (a 50 ms window: about twenty, and 13 % less server CPU on average at 20
/// publishers, bench/RESULTS.md). 0 turns it off. Only for a plain socket read through <see cref="NetworkStream"/> (a TLS
/// stream cannot resume after a failed read), and only once media flows: the command exchange before a publish stays
/// at one round trip per message.
/// </summary>
internal static class ReceiveCoalescing
{
    public const int Bytes = 16 * 1024;

    public const int DefaultMilliseconds = 20;

    /// <summary>The longest window an operator may set: beyond it the delay reaches what low-latency viewers notice.</summary>
    public const int MaxMilliseconds = 200;

    /// <summary>
    /// Coalesces <paramref name="socket"/>'s reads within <paramref name="milliseconds"/>; 0 leaves it as it is (a low-water
    /// mark with no timeout would hold a small message until 16 KB came).
    /// </summary>
    public static void Apply(Socket socket, int milliseconds)
    {
        if (milliseconds <= 0) return;
        socket.ReceiveTimeout = milliseconds;
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReceiveLowWater, Bytes);
    }

    /// <summary>
    /// A plain socket's stream whose coalescing the reading thread switches on itself, before its next read once
    /// <see cref="Request"/>ed. Never from another thread while a read blocks: that read began without a timeout, and
    /// Linux wakes a blocked reader only once the new low-water mark is reached (tcp_data_ready checks sk_rcvlowat), so
    /// a small message after it (an FCUnpublish with no media before it) would wait for 16 KB or the connection's end.
    /// </summary>
    public sealed class SocketStream(Socket socket, int milliseconds) : NetworkStream(socket, ownsSocket: true)
    {
        private volatile bool _requested;
        private bool _applied;

        /// <summary>Coalesce from the next read on (Linux only; elsewhere, or with a window of 0, nothing changes).</summary>
        public void Request() => _requested = OperatingSystem.IsLinux();

        public override int Read(Span<byte> buffer)
        {
            ApplyIfRequested();
            return base.Read(buffer);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            ApplyIfRequested();
            return base.Read(buffer, offset, count);
        }

        private void ApplyIfRequested()
        {
            if (!_requested || _applied) return;
            _applied = true;
            Apply(Socket, milliseconds);
        }
    }

    /// <summary>How <see cref="NetworkStream"/> reports a receive timeout with nothing read.</summary>
    public static bool IsIdleTimeout(IOException error) => error.InnerException is SocketException { SocketErrorCode: SocketError.TimedOut };
}
