using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Broadcast.Ingest.Rtmp;

/// <summary>Where the 32-byte digest sits inside C1/S1 (the "Flash Player 9" handshake, undocumented by Adobe's
/// RTMP 1.0 spec; described in the RTMPE notes and implemented alike by librtmp, ffmpeg and SRS).</summary>
public enum HandshakeDigestScheme
{
    /// <summary>No valid digest: the plain RTMP 1.0 handshake.</summary>
    None = -1,

    /// <summary>Scheme 0: the offset is the sum of bytes 8..11 mod 728, plus 12 (ffmpeg, librtmp, OBS).</summary>
    Offset8 = 0,

    /// <summary>Scheme 1: the offset is the sum of bytes 772..775 mod 728, plus 776 (used with RTMPE, some Flash players).</summary>
    Offset772 = 1,
}

/// <summary>
/// HMAC-SHA256 digests of the complex handshake. The client proves itself with the "Genuine Adobe Flash Player 001"
/// key over C1 minus its digest; the server answers with an S1 digest under the "Genuine Adobe Flash Media Server 001"
/// key and an S2 whose last 32 bytes are keyed by HMAC(full server key, client digest).
/// </summary>
public static class HandshakeDigest
{
    public const int DigestLength = 32;

    private static readonly byte[] KeyTail =
    [
        0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
        0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
    ];

    /// <summary>"Genuine Adobe Flash Player 001" followed by the 32 shared key bytes (62 bytes).</summary>
    public static ReadOnlySpan<byte> ClientKey => ClientKeyBytes;

    /// <summary>"Genuine Adobe Flash Media Server 001" followed by the 32 shared key bytes (68 bytes).</summary>
    public static ReadOnlySpan<byte> ServerKey => ServerKeyBytes;

    /// <summary>Length of the text part of the client key, the part that signs C1.</summary>
    public const int ClientKeyTextLength = 30;

    /// <summary>Length of the text part of the server key, the part that signs S1.</summary>
    public const int ServerKeyTextLength = 36;

    private static readonly byte[] ClientKeyBytes = [.. Encoding.ASCII.GetBytes("Genuine Adobe Flash Player 001"), .. KeyTail];
    private static readonly byte[] ServerKeyBytes = [.. Encoding.ASCII.GetBytes("Genuine Adobe Flash Media Server 001"), .. KeyTail];

    /// <summary>Offset of the digest inside a 1536-byte packet for a scheme.</summary>
    public static int GetDigestOffset(ReadOnlySpan<byte> packet, HandshakeDigestScheme scheme)
    {
        int basePos = scheme == HandshakeDigestScheme.Offset8 ? 8 : 772;
        int sum = packet[basePos] + packet[basePos + 1] + packet[basePos + 2] + packet[basePos + 3];
        return sum % 728 + basePos + 4;
    }

    /// <summary>HMAC-SHA256 of the packet with the 32 digest bytes at <paramref name="digestOffset"/> left out.</summary>
    public static void Compute(ReadOnlySpan<byte> packet, int digestOffset, ReadOnlySpan<byte> key, Span<byte> digest)
    {
        using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
        hmac.AppendData(packet[..digestOffset]);
        hmac.AppendData(packet[(digestOffset + DigestLength)..]);
        hmac.GetHashAndReset(digest);
    }

    /// <summary>Finds which scheme, if any, the client used to sign C1 (validated against the client key's text part).</summary>
    public static HandshakeDigestScheme DetectClientScheme(ReadOnlySpan<byte> c1, out int digestOffset)
        => DetectScheme(c1, ClientKey[..ClientKeyTextLength], out digestOffset);

    /// <summary>Finds which scheme, if any, signed a C1 or S1 under <paramref name="key"/> (the text part of the peer's key).</summary>
    public static HandshakeDigestScheme DetectScheme(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> key, out int digestOffset)
    {
        digestOffset = -1;
        if (packet.Length != HandshakePacket.Length) return HandshakeDigestScheme.None;
        // A zero version field means a plain RTMP 1.0 peer (the spec requires zeros there).
        if (BinaryPrimitives.ReadUInt32BigEndian(packet[4..]) == 0) return HandshakeDigestScheme.None;
        Span<byte> digest = stackalloc byte[DigestLength];
        foreach (var scheme in (ReadOnlySpan<HandshakeDigestScheme>)[HandshakeDigestScheme.Offset8, HandshakeDigestScheme.Offset772])
        {
            int offset = GetDigestOffset(packet, scheme);
            Compute(packet, offset, key, digest);
            if (CryptographicOperations.FixedTimeEquals(digest, packet.Slice(offset, DigestLength)))
            {
                digestOffset = offset;
                return scheme;
            }
        }
        return HandshakeDigestScheme.None;
    }

    /// <summary>Writes the digest into a C1 or S1 in place for <paramref name="scheme"/> under <paramref name="key"/>.</summary>
    public static int Imprint(Span<byte> packet, HandshakeDigestScheme scheme, ReadOnlySpan<byte> key)
    {
        int offset = GetDigestOffset(packet, scheme);
        Span<byte> digest = stackalloc byte[DigestLength];
        Compute(packet, offset, key, digest);
        digest.CopyTo(packet[offset..]);
        return offset;
    }

    /// <summary>
    /// Signs a 1536-byte S2 (or C2) in place: its last 32 bytes become HMAC(HMAC(fullKey, peerDigest), first 1504 bytes).
    /// </summary>
    public static void SignResponse(Span<byte> packet, ReadOnlySpan<byte> peerDigest, ReadOnlySpan<byte> fullKey)
    {
        Span<byte> tempKey = stackalloc byte[DigestLength];
        HMACSHA256.HashData(fullKey, peerDigest, tempKey);
        int signed = HandshakePacket.Length - DigestLength;
        HMACSHA256.HashData(tempKey, packet[..signed], packet[signed..]);
    }

    /// <summary>True when the last 32 bytes of a C2/S2 are the response signature for <paramref name="ourDigest"/>.</summary>
    public static bool VerifyResponse(ReadOnlySpan<byte> packet, ReadOnlySpan<byte> ourDigest, ReadOnlySpan<byte> fullKey)
    {
        Span<byte> tempKey = stackalloc byte[DigestLength];
        Span<byte> expected = stackalloc byte[DigestLength];
        HMACSHA256.HashData(fullKey, ourDigest, tempKey);
        int signed = HandshakePacket.Length - DigestLength;
        HMACSHA256.HashData(tempKey, packet[..signed], expected);
        return CryptographicOperations.FixedTimeEquals(expected, packet[signed..]);
    }
}
