using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Broadcast.WebRtc.Rtp;

/// <summary>
/// Receives a channel's RTP from its ffmpeg on one loopback socket (video and audio told apart by payload type, RTCP
/// skipped, RFC 5761 §4) and sends every packet on to each viewer. One thread, one pooled buffer, no allocation per
/// packet; the viewer list is an immutable array swapped on join and leave. Sending never blocks (see
/// <see cref="RtpViewer.Send"/>), so a slow viewer loses its own packets and nobody else's. The video since the latest
/// keyframe is kept (<see cref="RtpKeyframeCache"/>): a viewer whose WebRTC connection just came up is sent it first
/// (<see cref="Replay"/>), so its first picture does not wait for the stream's next keyframe.
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
    private readonly RtpKeyframeCache _keyframe = new();
    private readonly ConcurrentQueue<RtpViewer> _replays = new();
    private readonly byte[] _replayCopy = GC.AllocateUninitializedArray<byte>(MaxPacket);
    private RtpViewer[] _viewers = [];
    private long _packets;
    private long _replayed;
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

    /// <summary>Video packets held since the latest keyframe now (read from another thread: a moment's value).</summary>
    public int KeyframePackets => _keyframe.Count;

    /// <summary>Viewers that were sent the video since the latest keyframe when they connected.</summary>
    public long Replayed => Interlocked.Read(ref _replayed);

    /// <summary>
    /// Sends <paramref name="viewer"/> the video since the latest keyframe, ahead of the next packet: its connection just
    /// came up, and the packets it was sent before were lost on the way (Janus had no DTLS to send them on).
    /// </summary>
    public void Replay(RtpViewer viewer) => _replays.Enqueue(viewer);

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
            if (video) SendKeyframeAndKeep(packet);
            foreach (var viewer in Volatile.Read(ref _viewers)) viewer.Send(packet, video);
        }
    }

    /// <summary>
    /// Keeps this packet, then replays to the viewers that asked since the last one every kept packet but this one, which
    /// every viewer is sent next (when this packet starts a keyframe, that is nothing: they get the keyframe live). On the
    /// fan-out's thread, so a viewer's packets stay in order.
    /// </summary>
    private void SendKeyframeAndKeep(Span<byte> packet)
    {
        _keyframe.Add(packet);
        int before = _keyframe.Count - 1;
        while (_replays.TryDequeue(out var viewer))
        {
            if (before <= 0) continue;
            // Send rewrites the payload type byte in place: each cached packet is copied out first.
            var copy = _replayCopy.AsSpan();
            for (int i = 0; i < before; i++)
            {
                var cached = _keyframe[i];
                cached.CopyTo(copy);
                viewer.Send(copy[..cached.Length], video: true);
            }

            Interlocked.Increment(ref _replayed);
        }
    }

    public void Dispose()
    {
        _stopped = true;
        _input.Dispose();
        _thread.Join(TimeSpan.FromSeconds(2));
    }
}
