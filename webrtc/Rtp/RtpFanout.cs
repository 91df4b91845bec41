using System.Net;
using System.Net.Sockets;

namespace Broadcast.WebRtc.Rtp;

/// <summary>
/// Receives a channel's RTP from its ffmpeg on one loopback socket (video and audio told apart by payload type, RTCP
/// skipped, RFC 5761 §4) and sends every packet on to each viewer. One thread, one pooled buffer, no allocation per
/// packet; the viewer list is an immutable array swapped on join and leave. Sending never blocks (see
/// <see cref="RtpViewer.Send"/>), so a slow viewer loses its own packets and nobody else's.
/// </summary>
public sealed class RtpFanout : IDisposable
{
    /// <summary>The payload types our ffmpeg writes (dynamic range, RFC 3551 §3); each viewer gets its own on the way out.</summary>
    public const int VideoPayloadType = 96;
    public const int AudioPayloadType = 97;

    private const int MaxPacket = 2048;

    private readonly Socket _input = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Thread _thread;
    private readonly Lock _gate = new();
    private RtpViewer[] _viewers = [];
    private long _packets;
    private volatile bool _stopped;

    public RtpFanout(string name)
    {
        _input.ReceiveBufferSize = 1 << 20;
        _input.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_input.LocalEndPoint!).Port;
        _thread = new Thread(Run) { IsBackground = true, Name = $"rtp-fanout {name}" };
        _thread.Start();
    }

    /// <summary>The loopback port ffmpeg sends its RTP (and RTCP) to.</summary>
    public int Port { get; }

    /// <summary>RTP packets received from ffmpeg so far.</summary>
    public long Packets => Interlocked.Read(ref _packets);

    public int ViewerCount => Volatile.Read(ref _viewers).Length;

    public void Add(RtpViewer viewer)
    {
        lock (_gate) _viewers = [.. _viewers, viewer];
    }

    public void Remove(RtpViewer viewer)
    {
        lock (_gate) _viewers = _viewers.Where(v => v != viewer).ToArray();
    }

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(MaxPacket, pinned: true);
        var from = new SocketAddress(AddressFamily.InterNetwork);
        while (!_stopped)
        {
            int length;
            try
            {
                length = _input.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException) when (!_stopped)
            {
                continue; // an ICMP error surfaced on the socket: nothing to do with the next datagram
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (length < 12 || buffer[0] >> 6 != 2) continue; // not RTP version 2
            int type = buffer[1] & 0x7F;
            bool video = type == VideoPayloadType;
            if (!video && type != AudioPayloadType) continue; // RTCP (192-223 in the whole byte) or stray
            Interlocked.Increment(ref _packets);
            var packet = buffer.AsSpan(0, length);
            foreach (var viewer in Volatile.Read(ref _viewers)) viewer.Send(packet, video);
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _input.Dispose();
        _thread.Join(TimeSpan.FromSeconds(2));
    }
}
