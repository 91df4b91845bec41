using Broadcast.Ingest.Rtmp;
using Broadcast.Ingest.Rtmp.Client;

namespace Broadcast.Ingest.Tests.Restream;

public class RtmpClientHandshakeTests
{
    [Fact]
    public void Client_hello_carries_a_scheme_0_digest_the_server_side_recognises()
    {
        var hello = new byte[RtmpClientHandshake.ClientHelloLength];
        RtmpClientHandshake.WriteClientHello(hello, 1234);
        Assert.Equal(3, hello[0]);
        Assert.Equal(HandshakeDigestScheme.Offset8, HandshakeDigest.DetectClientScheme(hello.AsSpan(1), out _));
    }

    [Fact]
    public void C2_answers_a_digest_S1_with_a_signature_the_server_can_verify()
    {
        var hello = new byte[RtmpClientHandshake.ClientHelloLength];
        RtmpClientHandshake.WriteClientHello(hello, 1);
        var serverHello = new byte[HandshakeResponder.ServerHelloLength];
        Assert.Equal(HandshakeResponder.Result.Ok, HandshakeResponder.TryRespond(hello, serverHello, 2, out _));
        var c2 = new byte[HandshakePacket.Length];
        Assert.True(RtmpClientHandshake.TryWriteClientResponse(serverHello, c2, out var scheme, out var error), error);
        Assert.Equal(HandshakeDigestScheme.Offset8, scheme);
        var s1 = serverHello.AsSpan(1, HandshakePacket.Length);
        int offset = HandshakeDigest.GetDigestOffset(s1, scheme);
        Assert.True(HandshakeDigest.VerifyResponse(c2, s1.Slice(offset, 32), HandshakeDigest.ClientKey));
    }

    [Fact]
    public void C2_echoes_a_plain_S1()
    {
        var serverHello = new byte[RtmpClientHandshake.ServerHelloLength];
        serverHello[0] = 3;
        for (int i = 9; i < 1 + HandshakePacket.Length; i++) serverHello[i] = (byte)i;
        var c2 = new byte[HandshakePacket.Length];
        Assert.True(RtmpClientHandshake.TryWriteClientResponse(serverHello, c2, out var scheme, out _));
        Assert.Equal(HandshakeDigestScheme.None, scheme);
        Assert.Equal(serverHello.AsSpan(1, HandshakePacket.Length).ToArray(), c2);
    }

    [Theory]
    [InlineData(6, RtmpClientHandshake.ServerHelloLength, "version byte 0x06")]
    [InlineData(3, 100, "100 bytes")]
    public void Malformed_server_hello_is_refused(byte version, int length, string reason)
    {
        var serverHello = new byte[length];
        serverHello[0] = version;
        Assert.False(RtmpClientHandshake.TryWriteClientResponse(serverHello, new byte[HandshakePacket.Length], out _, out var error));
        Assert.Contains(reason, error);
    }
}
