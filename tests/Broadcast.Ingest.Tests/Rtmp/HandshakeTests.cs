using Broadcast.TestSupport;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Broadcast.Ingest.Rtmp;

namespace Broadcast.Ingest.Tests.Rtmp;

public class HandshakeTests
{
    public static TheoryData<string, byte, string> C0Cases => new()
    {
        { "rtmp", 3, "03" },
        { "rtmpe", 6, "06" },
    };

    [Theory]
    [MemberData(nameof(C0Cases))]
    public void C0_reads_and_writes(string name, byte version, string hex)
    {
        Assert.True(HandshakeC0.TryRead(Hex.Bytes(hex), out var c0, out int consumed), name);
        Assert.Equal(version, c0.Version);
        Assert.Equal(1, consumed);
        Assert.Equal(Hex.Bytes(hex), Hex.Written(w => new HandshakeC0(version).Write(w)));
    }

    [Fact]
    public void Packet_fields_are_big_endian_and_truncated_packet_is_refused()
    {
        var bytes = new byte[HandshakePacket.Length];
        bytes[0] = 0x01; bytes[3] = 0x02; bytes[4] = 0x80; bytes[7] = 0x07;
        Assert.True(HandshakePacket.TryRead(bytes, out var packet, out int consumed));
        Assert.Equal(HandshakePacket.Length, consumed);
        Assert.Equal(0x01000002u, packet!.Time);
        Assert.Equal(0x80000007u, packet.Version);
        Assert.Equal(bytes, Hex.Written(packet.Write));
        Assert.False(HandshakePacket.TryRead(bytes.AsSpan(0, 1535), out _, out consumed));
        Assert.Equal(0, consumed);
    }

    /// <summary>Builds a C1 as a Flash Player 9+ client does: non-zero version, digest imprinted for a scheme.</summary>
    internal static byte[] DigestC1(HandshakeDigestScheme scheme, int seed)
    {
        var c1 = new byte[HandshakePacket.Length];
        new Random(seed).NextBytes(c1);
        BinaryPrimitives.WriteUInt32BigEndian(c1, 1000);
        BinaryPrimitives.WriteUInt32BigEndian(c1.AsSpan(4), 0x80000702); // ffmpeg's version field
        int offset = HandshakeDigest.GetDigestOffset(c1, scheme);
        using var hmac = new HMACSHA256(HandshakeDigest.ClientKey[..HandshakeDigest.ClientKeyTextLength].ToArray());
        var message = c1.AsSpan(0, offset).ToArray().Concat(c1.AsSpan(offset + 32).ToArray()).ToArray();
        hmac.ComputeHash(message).CopyTo(c1, offset);
        return c1;
    }

    public static TheoryData<string, HandshakeDigestScheme, int> DigestCases => new()
    {
        { "scheme 0, offset from bytes 8..11", HandshakeDigestScheme.Offset8, 1 },
        { "scheme 1, offset from bytes 772..775", HandshakeDigestScheme.Offset772, 2 },
        { "scheme 0, other random", HandshakeDigestScheme.Offset8, 3 },
        { "scheme 1, other random", HandshakeDigestScheme.Offset772, 4 },
    };

    [Theory]
    [MemberData(nameof(DigestCases))]
    public void Digest_handshake_is_detected_and_answered(string name, HandshakeDigestScheme scheme, int seed)
    {
        var c1 = DigestC1(scheme, seed);
        Assert.Equal(scheme, HandshakeDigest.DetectClientScheme(c1, out int clientOffset));
        Assert.Equal(HandshakeDigest.GetDigestOffset(c1, scheme), clientOffset);

        var response = new byte[HandshakeResponder.ServerHelloLength];
        var result = HandshakeResponder.TryRespond([3, .. c1], response, 42, out var detected);
        Assert.Equal(HandshakeResponder.Result.Ok, result);
        Assert.Equal(scheme, detected);
        Assert.Equal(3, response[0]);

        // S1 carries a digest under the server key's text part at the client's scheme (what ffplay/librtmp validate).
        var s1 = response.AsSpan(1, HandshakePacket.Length).ToArray();
        Assert.Equal(42u, BinaryPrimitives.ReadUInt32BigEndian(s1));
        Assert.NotEqual(0u, BinaryPrimitives.ReadUInt32BigEndian(s1.AsSpan(4)));
        int s1Offset = HandshakeDigest.GetDigestOffset(s1, scheme);
        var expected = new byte[32];
        HandshakeDigest.Compute(s1, s1Offset, HandshakeDigest.ServerKey[..HandshakeDigest.ServerKeyTextLength], expected);
        Assert.Equal(expected, s1.AsSpan(s1Offset, 32).ToArray());

        // S2's last 32 bytes: HMAC(HMAC(full server key, client digest), S2[0..1504]).
        var s2 = response.AsSpan(1 + HandshakePacket.Length).ToArray();
        Assert.True(HandshakeDigest.VerifyResponse(s2, c1.AsSpan(clientOffset, 32), HandshakeDigest.ServerKey), name);
        Assert.False(HandshakeDigest.VerifyResponse(s2, new byte[32], HandshakeDigest.ServerKey));
    }

    [Fact]
    public void Plain_handshake_echoes_C1_in_S2_and_zeroes_S1_version()
    {
        var c1 = new byte[HandshakePacket.Length];
        new Random(7).NextBytes(c1);
        c1.AsSpan(4, 4).Clear();
        var response = new byte[HandshakeResponder.ServerHelloLength];
        Assert.Equal(HandshakeResponder.Result.Ok, HandshakeResponder.TryRespond([3, .. c1], response, 0, out var scheme));
        Assert.Equal(HandshakeDigestScheme.None, scheme);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(response.AsSpan(5)));
        Assert.Equal(c1, response.AsSpan(1 + HandshakePacket.Length).ToArray());
    }

    [Fact]
    public void C1_with_a_wrong_digest_falls_back_to_plain_echo()
    {
        var c1 = DigestC1(HandshakeDigestScheme.Offset8, 9);
        c1[HandshakeDigest.GetDigestOffset(c1, HandshakeDigestScheme.Offset8)] ^= 0xFF;
        var response = new byte[HandshakeResponder.ServerHelloLength];
        Assert.Equal(HandshakeResponder.Result.Ok, HandshakeResponder.TryRespond([3, .. c1], response, 0, out var scheme));
        Assert.Equal(HandshakeDigestScheme.None, scheme);
        Assert.Equal(c1, response.AsSpan(1 + HandshakePacket.Length).ToArray());
    }

    [Fact]
    public void Malformed_client_hello_gets_a_typed_result()
    {
        var response = new byte[HandshakeResponder.ServerHelloLength];
        var c1 = new byte[HandshakePacket.Length];
        Assert.Equal(HandshakeResponder.Result.UnsupportedVersion, HandshakeResponder.TryRespond([6, .. c1], response, 0, out _));
        Assert.Equal(HandshakeResponder.Result.UnsupportedVersion, HandshakeResponder.TryRespond([0x47, .. c1], response, 0, out _));
        Assert.Equal(HandshakeResponder.Result.NeedMoreData, HandshakeResponder.TryRespond([3, .. c1.AsSpan(1)], response, 0, out _));
        Assert.False(HandshakeC0.TryRead([], out _, out _));
    }
}
