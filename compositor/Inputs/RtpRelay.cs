using System.Net;
using System.Net.Sockets;

namespace Broadcast.Compositor.Inputs;

/// <summary>
/// A loopback UDP port this input holds for its whole life (the port a media server forwards a participant's RTP to),
/// relaying each datagram to wherever the current decoder listens (a port picked afresh for each ffmpeg run), or
/// dropping it while none does. Holding the port ourselves means no other process can take it between two ffmpeg runs;
/// counting what arrives tells a stalled sender from a stalled decoder. One receive buffer, reused, and the target kept
/// as a serialized address: nothing allocated per packet.
/// </summary>
internal sealed class RtpRelay : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Socket _out = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private volatile SocketAddress? _target;
    private long _received;

    public RtpRelay()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // Room for a burst (a keyframe is dozens of packets) while the decoder is busy.
        _socket.ReceiveBufferSize = 1 << 20;
        _out.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        _loop = Task.Run(RelayAsync);
    }

    /// <summary>The port RTP is sent to.</summary>
    public int Port { get; }

    /// <summary>Datagrams received so far.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Relays to <paramref name="port"/> on loopback from now on; 0 drops what arrives.</summary>
    public void RelayTo(int port) => _target = port == 0 ? null : new IPEndPoint(IPAddress.Loopback, port).Serialize();

    private async Task RelayAsync()
    {
        var buffer = new byte[2048];
        try
        {
            while (true)
            {
                int n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
                Interlocked.Increment(ref _received);
                if (_target is { } target)
                {
                    // A decoder not yet bound (or gone) refuses: that datagram is lost, as it would be on the wire.
                    try { await _out.SendToAsync(buffer.AsMemory(0, n), SocketFlags.None, target, _stop.Token).ConfigureAwait(false); }
                    catch (SocketException) { }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _out.Dispose();
        try { _loop.Wait(TimeSpan.FromSeconds(2)); }
        catch (AggregateException) { }
        _stop.Dispose();
    }
}
