using System.Security.Cryptography;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// The server side of the handshake as a pure function: C0+C1 in, S0+S1+S2 out. When C1 carries a valid digest
/// (either scheme) S1 is signed with the same scheme and S2 answers the client's digest; otherwise S1 is random and
/// S2 echoes C1 (RTMP 1.0 §5.2.4). C2 is read and not checked: encoders do not all sign it correctly.
/// </summary>
public static class HandshakeResponder
{
    public const int ClientHelloLength = HandshakeC0.Length + HandshakePacket.Length;
    public const int ServerHelloLength = HandshakeC0.Length + 2 * HandshakePacket.Length;

    /// <summary>The server version we announce in a digest S1 (any non-zero value; FMS 3.5.1.1 style).</summary>
    public const uint ServerVersion = 0x03050101;

    public enum Result
    {
        Ok,
        NeedMoreData,
        UnsupportedVersion,
    }

    /// <summary>
    /// Builds S0S1S2 into <paramref name="response"/> (<see cref="ServerHelloLength"/> bytes) from C0C1.
    /// </summary>
    public static Result TryRespond(ReadOnlySpan<byte> c0c1, Span<byte> response, uint serverTime, out HandshakeDigestScheme scheme)
    {
        scheme = HandshakeDigestScheme.None;
        if (c0c1.Length < ClientHelloLength) return Result.NeedMoreData;
        if (response.Length < ServerHelloLength) throw new ArgumentException("Response buffer too small.", nameof(response));
        if (c0c1[0] != HandshakeC0.Rtmp) return Result.UnsupportedVersion;
        var c1 = c0c1.Slice(1, HandshakePacket.Length);
        scheme = HandshakeDigest.DetectClientScheme(c1, out int clientDigestOffset);

        response[0] = HandshakeC0.Rtmp;
        var s1 = response.Slice(1, HandshakePacket.Length);
        var s2 = response.Slice(1 + HandshakePacket.Length, HandshakePacket.Length);
        RandomNumberGenerator.Fill(s1[8..]);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s1, serverTime);
        if (scheme == HandshakeDigestScheme.None)
        {
            s1.Slice(4, 4).Clear();
            c1.CopyTo(s2);
            return Result.Ok;
        }

        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(s1[4..], ServerVersion);
        HandshakeDigest.Imprint(s1, scheme, HandshakeDigest.ServerKey[..HandshakeDigest.ServerKeyTextLength]);
        RandomNumberGenerator.Fill(s2);
        HandshakeDigest.SignResponse(s2, c1.Slice(clientDigestOffset, HandshakeDigest.DigestLength), HandshakeDigest.ServerKey);
        return Result.Ok;
    }
}
