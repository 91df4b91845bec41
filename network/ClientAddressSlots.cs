using System.Net;
using System.Net.Sockets;

namespace Broadcast.Network;

/// <summary>
/// Caps what anonymous clients may hold open, per client address and in all, so that one client (or a botnet's worth
/// of them) cannot take a server's memory or places: the chat hub's connections, real-time (WHEP) sessions. An IPv6
/// client is counted by its /64, the block one subscriber is routed (RFC 6177), since a host can pick any address
/// inside it.
/// </summary>
/// <remarks>
/// Clients behind one NAT (a venue, a company) share an address, which is why the per-address limits are generous;
/// the total is the bound that protects the server.
/// </remarks>
public sealed class ClientAddressSlots(int maxPerAddress, int maxTotal)
{
    private readonly Dictionary<UInt128, int> _open = [];
    private readonly Lock _gate = new();
    private int _total;

    public int MaxPerAddress { get; } = maxPerAddress > 0 ? maxPerAddress : throw new ArgumentOutOfRangeException(nameof(maxPerAddress));

    public int MaxTotal { get; } = maxTotal > 0 ? maxTotal : throw new ArgumentOutOfRangeException(nameof(maxTotal));

    /// <summary>Slots held now.</summary>
    public int Open
    {
        get
        {
            lock (_gate) return _total;
        }
    }

    /// <summary>Takes a slot for <paramref name="address"/>; the caller must <see cref="Release"/> it when what it holds ends.</summary>
    public AddressAdmission TryEnter(IPAddress? address)
    {
        var key = Bucket(address);
        lock (_gate)
        {
            if (_total >= MaxTotal) return AddressAdmission.ServerFull;
            _open.TryGetValue(key, out var count);
            if (count >= MaxPerAddress) return AddressAdmission.AddressFull;
            _open[key] = count + 1;
            _total++;
            return AddressAdmission.Admitted;
        }
    }

    public void Release(IPAddress? address)
    {
        var key = Bucket(address);
        lock (_gate)
        {
            if (!_open.TryGetValue(key, out var count)) return;
            if (count <= 1) _open.Remove(key);
            else _open[key] = count - 1;
            _total--;
        }
    }

    // IPv4 keys stay below 2^32; these markers in the low half keep IPv6 prefixes and "no address" apart from them.
    private const ulong Ipv6Marker = 1UL << 40;
    private static readonly UInt128 NoAddress = new(0, 1UL << 41);

    /// <summary>The counting key: an IPv4 address (mapped ones included) whole, an IPv6 address by its /64; no address is one bucket.</summary>
    public static UInt128 Bucket(IPAddress? address)
    {
        if (address is null) return NoAddress;
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        Span<byte> bytes = stackalloc byte[16];
        if (!address.TryWriteBytes(bytes, out var written)) return NoAddress;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            return System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(bytes[..written]);
        }

        return new UInt128(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(bytes), Ipv6Marker);
    }
}

/// <summary>What <see cref="ClientAddressSlots.TryEnter"/> decided.</summary>
public enum AddressAdmission
{
    Admitted,
    AddressFull,
    ServerFull,
}
