using System.Net;
using System.Net.Sockets;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Rtp;

/// <summary>
/// One viewer's end of the loopback RTP link to its NoSIP handle: our RTP socket on port P (the port in our answer; Janus
/// connects its sockets to it, so packets must come from exactly there) and P+1 for the RTCP Janus sends back (bound so
/// it never meets a closed port; receiver reports and keyframe requests are not read: the WebRTC rung's short GOP and the
/// source's own keyframes bring pictures, see README). Audio and video both leave from P.
/// </summary>
public sealed class RtpViewer : IDisposable
{
    private readonly Socket _rtp;
    private readonly Socket _rtcp;
    private SocketAddress? _video;
    private SocketAddress? _audio;
    private byte _videoPayloadType;
    private byte _audioPayloadType;
    private long _dropped;

    private RtpViewer(Socket rtp, Socket rtcp)
    {
        _rtp = rtp;
        _rtcp = rtcp;
        Port = ((IPEndPoint)rtp.LocalEndPoint!).Port;
    }

    /// <summary>Our RTP port (P); RTCP is P+1.</summary>
    public int Port { get; }

    /// <summary>Packets not sent because the socket's buffer was full: the viewer's link fell behind, it never holds others up.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Binds an even/odd-agnostic pair P, P+1 on 127.0.0.1 (RTCP on the next port, as Janus assumes).</summary>
    public static RtpViewer Bind()
    {
        for (int attempt = 0; ; attempt++)
        {
            var rtp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                rtp.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                int port = ((IPEndPoint)rtp.LocalEndPoint!).Port;
                if (port < IPEndPoint.MaxPort)
                {
                    var rtcp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = 4096 };
                    try
                    {
                        rtcp.Bind(new IPEndPoint(IPAddress.Loopback, port + 1));
                        rtp.Blocking = false;
                        return new RtpViewer(rtp, rtcp);
                    }
                    catch (SocketException) when (attempt < 50)
                    {
                        rtcp.Dispose();
                    }
                }
            }
            catch (SocketException) when (attempt < 50)
            {
            }

            rtp.Dispose();
        }
    }

    /// <summary>Where the negotiated media goes from now on.</summary>
    public void Connect(NoSipMediaPlan plan)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var address = IPAddress.Parse(plan.JanusAddress);
        _videoPayloadType = (byte)plan.VideoPayloadType;
        _audioPayloadType = (byte)Math.Max(0, plan.AudioPayloadType);
        _video = new IPEndPoint(address, plan.VideoPort).Serialize();
        if (plan.HasAudio) _audio = new IPEndPoint(address, plan.AudioPort).Serialize();
    }

    /// <summary>
    /// Sends one RTP packet of ours: its payload type byte is set to this viewer's (the marker bit kept), the rest is
    /// sent as it is (Janus rewrites SSRC, sequence numbers and timestamps into the viewer's own continuous stream).
    /// Never blocks: a full socket buffer drops the packet.
    /// </summary>
    public void Send(Span<byte> packet, bool video)
    {
        var to = video ? _video : _audio;
        if (to is null) return;
        packet[1] = (byte)((packet[1] & 0x80) | (video ? _videoPayloadType : _audioPayloadType));
        try
        {
            _rtp.SendTo(packet, SocketFlags.None, to);
        }
        catch (SocketException)
        {
            // WouldBlock (buffer full) or a refused port while Janus tears the handle down: this packet is lost to this viewer only.
            Interlocked.Increment(ref _dropped);
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _rtp.Dispose();
        _rtcp.Dispose();
    }
}
