using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Broadcast.Ingest.Rtmp.Client;

/// <summary>
/// The client side of the handshake as pure functions: C0+C1 out, S0+S1+S2 in, C2 out. C1 carries a scheme-0
/// digest under the Flash Player key (what ffmpeg, librtmp and OBS send; servers such as YouTube's expect it, and
/// plain RTMP 1.0 servers ignore it). When S1 carries a server digest, C2 answers it (random bytes signed with
/// HMAC(full client key, server digest)); otherwise C2 echoes S1 (RTMP 1.0 §5.2.4).
/// </summary>
public static class RtmpClientHandshake
{
    public const int ClientHelloLength = HandshakeC0.Length + HandshakePacket.Length;
    public const int ServerHelloLength = HandshakeC0.Length + 2 * HandshakePacket.Length;

    /// <summary>The player version announced in C1 (9.0.124.2, as ffmpeg announces).</summary>
    public const uint ClientVersion = 0x09007C02;

    /// <summary>Writes C0C1 (<see cref="ClientHelloLength"/> bytes) into <paramref name="destination"/>.</summary>
    public static void WriteClientHello(Span<byte> destination, uint clientTime)
    {
        if (destination.Length < ClientHelloLength) throw new ArgumentException("Buffer too small for C0C1.", nameof(destination));
        destination[0] = HandshakeC0.Rtmp;
        var c1 = destination.Slice(1, HandshakePacket.Length);
        RandomNumberGenerator.Fill(c1[8..]);
        BinaryPrimitives.WriteUInt32BigEndian(c1, clientTime);
        BinaryPrimitives.WriteUInt32BigEndian(c1[4..], ClientVersion);
        HandshakeDigest.Imprint(c1, HandshakeDigestScheme.Offset8, HandshakeDigest.ClientKey[..HandshakeDigest.ClientKeyTextLength]);
    }

    /// <summary>
    /// Reads S0S1S2 and writes C2 (<see cref="HandshakePacket.Length"/> bytes). False with a reason when S0 is not
    /// RTMP version 3.
    /// </summary>
    public static bool TryWriteClientResponse(ReadOnlySpan<byte> serverHello, Span<byte> c2, out HandshakeDigestScheme serverScheme,
        out string? error)
    {
        serverScheme = HandshakeDigestScheme.None;
        if (serverHello.Length < ServerHelloLength)
        {
            error = $"server hello is {serverHello.Length} bytes, expected {ServerHelloLength}";
            return false;
        }
        if (serverHello[0] != HandshakeC0.Rtmp)
        {
            error = $"server answered with RTMP version byte 0x{serverHello[0]:X2}";
            return false;
        }
        if (c2.Length < HandshakePacket.Length) throw new ArgumentException("Buffer too small for C2.", nameof(c2));
        var s1 = serverHello.Slice(1, HandshakePacket.Length);
        serverScheme = DetectServerScheme(s1, out int offset);
        if (serverScheme == HandshakeDigestScheme.None)
        {
            s1.CopyTo(c2);
        }
        else
        {
            RandomNumberGenerator.Fill(c2[..HandshakePacket.Length]);
            HandshakeDigest.SignResponse(c2[..HandshakePacket.Length], s1.Slice(offset, HandshakeDigest.DigestLength), HandshakeDigest.ClientKey);
        }
        error = null;
        return true;
    }

    /// <summary>Which scheme, if any, signed S1 under the server key's text part.</summary>
    public static HandshakeDigestScheme DetectServerScheme(ReadOnlySpan<byte> s1, out int digestOffset)
        => HandshakeDigest.DetectScheme(s1, HandshakeDigest.ServerKey[..HandshakeDigest.ServerKeyTextLength], out digestOffset);
}
