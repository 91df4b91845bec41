using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Broadcast.Network;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// The TURN user id of a WHEP viewer: a keyed hash of the viewer's address (an IPv4 address whole, an IPv6 address by its
/// /64, as every per-address rule of this project counts a client, <see cref="ClientAddressSlots.Bucket"/>). coturn keys
/// its per-user quota (<c>--user-quota</c>) by the part of a REST username after the expiry (<c>get_real_username</c> in
/// its <c>userdb.c</c>, 4.6.1 and 4.7.0), so every credential handed to one address, however many sessions it opens,
/// counts against one quota: one address holds at most <c>--user-quota</c> relays. The hash is keyed by a key derived
/// from the TURN secret, so the TURN server's log does not show viewers' addresses and nobody without the secret can
/// tell two addresses' ids apart from random ones.
/// </summary>
public sealed class TurnViewerIds
{
    private const string Prefix = "whep.";
    private static readonly byte[] KeyLabel = Encoding.ASCII.GetBytes("broadcast TURN viewer id v1");
    private readonly byte[] _key;

    /// <param name="secret">The TURN server's shared secret (<see cref="TurnOptions.Secret"/>).</param>
    public TurnViewerIds(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        _key = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), KeyLabel);
    }

    /// <summary>
    /// <c>whep.</c> and 24 hex digits (96 bits of HMAC-SHA256 over the address's bucket); no address (a test host) is one
    /// id of its own.
    /// </summary>
    public string Of(IPAddress? address)
    {
        Span<byte> bucket = stackalloc byte[16];
        BinaryPrimitives.WriteUInt128BigEndian(bucket, ClientAddressSlots.Bucket(address));
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, bucket, mac);
        return Prefix + Convert.ToHexStringLower(mac[..12]);
    }
}
