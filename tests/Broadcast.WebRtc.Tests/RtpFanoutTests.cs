using Broadcast.TestSupport;
using System.Net;
using System.Net.Sockets;
using Broadcast.WebRtc.Rtp;
using Broadcast.WebRtc.Sdp;

namespace Broadcast.WebRtc.Tests;

/// <summary>The fan-out on real loopback sockets: what a viewer's NoSIP leg receives, and that one viewer never holds another up.</summary>
public sealed class RtpFanoutTests
{
    [Fact]
    public async Task Every_viewer_gets_every_packet_with_its_own_payload_types_and_a_viewer_that_never_reads_holds_nobody_up()
    {
        using var fanout = new RtpFanout("test");
        using var fastVideo = Receiver();
        using var fastAudio = Receiver();
        using var stuck = Receiver(bufferBytes: 2048); // never read: its buffer fills after a few packets
        using var fast = RtpViewer.Bind();
        using var slow = RtpViewer.Bind();
        fast.Connect(new NoSipMediaPlan("127.0.0.1", PortOf(fastVideo), 108, PortOf(fastAudio), 111));
        slow.Connect(new NoSipMediaPlan("127.0.0.1", PortOf(stuck), 102, PortOf(stuck), 110));
        fanout.Add(slow);
        fanout.Add(fast);

        const int Pairs = 500;
        var videoReceived = Task.Run(() => Drain(fastVideo, Pairs));
        var audioReceived = Task.Run(() => Drain(fastAudio, Pairs));
        using (var ffmpeg = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            var to = new IPEndPoint(IPAddress.Loopback, fanout.Port);
            for (int i = 0; i < Pairs; i++)
            {
                ffmpeg.SendTo(Rtp(RtpFanout.VideoPayloadType, marker: i % 10 == 9, sequence: i), to);
                ffmpeg.SendTo(Rtp(RtpFanout.AudioPayloadType, marker: false, sequence: i), to);
                // An RTCP sender report from ffmpeg (payload type byte 200) on the same port: not relayed.
                if (i % 100 == 0) ffmpeg.SendTo(new byte[] { 0x80, 200, 0, 6, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0 }, to);
                // Paced a little, as a live stream is: the test is about the stuck viewer, not about overrunning loopback buffers.
                if (i % 50 == 49) await Task.Delay(5);
            }
        }

        var video = await videoReceived.WaitAsync(TimeSpan.FromSeconds(20));
        var audio = await audioReceived.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(Pairs, video.Count);
        Assert.Equal(Pairs, audio.Count);
        Assert.All(video, p => Assert.Equal(108, p[1] & 0x7F));
        Assert.All(audio, p => Assert.Equal(111, p[1] & 0x7F));
        Assert.Equal(Pairs / 10, video.Count(p => (p[1] & 0x80) != 0));
        Assert.Equal(Enumerable.Range(0, Pairs), video.Select(p => (p[2] << 8) | p[3]));
        Assert.Equal(2 * Pairs, fanout.Packets);

        // A viewer that left gets nothing more.
        fanout.Remove(fast);
        Assert.Equal(1, fanout.ViewerCount);
    }

    [Fact]
    public async Task A_viewer_that_connects_is_sent_the_video_since_the_latest_keyframe_before_the_next_packet()
    {
        using var fanout = new RtpFanout("test");
        using var video = Receiver();
        using var audio = Receiver();
        using var viewer = RtpViewer.Bind();
        viewer.Connect(new NoSipMediaPlan("127.0.0.1", PortOf(video), 108, PortOf(audio), 111));
        using var ffmpeg = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        var to = new IPEndPoint(IPAddress.Loopback, fanout.Port);
        // A P slice before the keyframe, then a keyframe (SPS, PPS, IDR in two FU-A fragments) and two P slices.
        byte[][] sent =
        [
            RtpKeyframeCacheTests.Rtp(0, [0x41, 0x9A], sequence: 1),
            RtpKeyframeCacheTests.Rtp(3000, [0x67, 0x42], sequence: 2), RtpKeyframeCacheTests.Rtp(3000, [0x68, 0xCE], sequence: 3),
            RtpKeyframeCacheTests.Rtp(3000, [0x7C, 0x85, 0x01], sequence: 4), RtpKeyframeCacheTests.Rtp(3000, [0x7C, 0x45, 0x02], sequence: 5),
            RtpKeyframeCacheTests.Rtp(6000, [0x41, 0x9A], sequence: 6), RtpKeyframeCacheTests.Rtp(9000, [0x41, 0x9B], sequence: 7),
        ];
        foreach (var packet in sent) ffmpeg.SendTo(packet, to);
        await WaitFor.ConditionAsync(() => fanout.Packets == sent.Length, TimeSpan.FromSeconds(20), "the fan-out to receive every packet");

        // The viewer joins now and its connection comes up: the next packet brings the cached keyframe and what followed first.
        fanout.Add(viewer);
        fanout.Replay(viewer);
        ffmpeg.SendTo(RtpKeyframeCacheTests.Rtp(12000, [0x41, 0x9C], sequence: 8), to);
        var received = await Task.Run(() => Drain(video, 7)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal([2, 3, 4, 5, 6, 7, 8], received.Select(p => (p[2] << 8) | p[3]));
        Assert.All(received, p => Assert.Equal(108, p[1] & 0x7F));
        Assert.Equal(1, fanout.Replayed);

        // A viewer whose connection comes up just as a keyframe starts gets that keyframe live, not the old one again.
        fanout.Replay(viewer);
        ffmpeg.SendTo(RtpKeyframeCacheTests.Rtp(15000, [0x67, 0x42], sequence: 9), to);
        var next = await Task.Run(() => Drain(video, 1)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(9, (next[0][2] << 8) | next[0][3]);
        Assert.Equal(1, fanout.Replayed);
    }

    private static List<byte[]> Drain(Socket socket, int count)
    {
        var packets = new List<byte[]>();
        var buffer = new byte[2048];
        socket.ReceiveTimeout = 15_000;
        while (packets.Count < count)
        {
            int n = socket.Receive(buffer);
            packets.Add(buffer[..n]);
        }

        return packets;
    }

    private static byte[] Rtp(int payloadType, bool marker, int sequence)
    {
        var packet = new byte[200];
        packet[0] = 0x80;
        packet[1] = (byte)((marker ? 0x80 : 0) | payloadType);
        packet[2] = (byte)(sequence >> 8);
        packet[3] = (byte)sequence;
        return packet;
    }

    private static Socket Receiver(int bufferBytes = 1 << 20)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp) { ReceiveBufferSize = bufferBytes };
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return socket;
    }

    private static int PortOf(Socket socket) => ((IPEndPoint)socket.LocalEndPoint!).Port;
}
