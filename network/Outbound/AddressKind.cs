using System.Net;
using System.Net.Sockets;

namespace Broadcast.Network.Outbound;

/// <summary>What an IP address is, as far as connecting to it on a user's behalf goes. Only <see cref="Public"/> is allowed by default.</summary>
public enum AddressKind
{
    /// <summary>A global unicast address.</summary>
    Public,

    /// <summary>127.0.0.0/8, ::1: this machine.</summary>
    Loopback,

    /// <summary>169.254.0.0/16 (the cloud metadata address 169.254.169.254 among them), fe80::/10.</summary>
    LinkLocal,

    /// <summary>10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 (RFC 1918), fec0::/10 (deprecated site-local).</summary>
    Private,

    /// <summary>fc00::/7 (RFC 4193).</summary>
    UniqueLocal,

    /// <summary>0.0.0.0/8 and ::: "this host/network"; connecting to it reaches this machine.</summary>
    Unspecified,

    /// <summary>100.64.0.0/10 (RFC 6598, carrier-grade NAT).</summary>
    SharedAddressSpace,

    /// <summary>224.0.0.0/4, ff00::/8.</summary>
    Multicast,

    /// <summary>255.255.255.255.</summary>
    Broadcast,

    /// <summary>Special-purpose ranges that are not the public internet: 192.0.0.0/24, documentation, benchmarking (198.18.0.0/15), 240.0.0.0/4,
    /// Teredo, 100::/64 and the like.</summary>
    Reserved,
}

/// <summary>
/// Classifies IP addresses (IANA special-purpose registries, RFC 6890). IPv6 forms that carry an IPv4 address (IPv4-mapped
/// <c>::ffff:a.b.c.d</c>, NAT64 <c>64:ff9b::/96</c>, 6to4 <c>2002::/16</c>) are classified by the IPv4 address they reach. Pure.
/// </summary>
public static class AddressKinds
{
    public static AddressKind Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetwork) return ClassifyV4(address.GetAddressBytes());
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return AddressKind.Reserved;
        Span<byte> b = stackalloc byte[16];
        address.TryWriteBytes(b, out _);
        if (address.IsIPv4MappedToIPv6) return ClassifyV4(b[12..]);
        if (b[..15].IndexOfAnyExcept((byte)0) < 0) return b[15] switch { 0 => AddressKind.Unspecified, 1 => AddressKind.Loopback,
            _ => AddressKind.Reserved };
        // ::a.b.c.d (deprecated IPv4-compatible) and the rest of ::/96.
        if (b[..12].IndexOfAnyExcept((byte)0) < 0) return AddressKind.Reserved;
        if (b[0] == 0xff) return AddressKind.Multicast;
        if ((b[0] & 0xfe) == 0xfc) return AddressKind.UniqueLocal;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return AddressKind.LinkLocal;
        if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return AddressKind.Private;
        // NAT64 (RFC 6052) reaches the embedded IPv4 address; 64:ff9b:1::/48 is for local use.
        if (b[..12].SequenceEqual(Nat64Prefix)) return ClassifyV4(b[12..]);
        if (b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) return AddressKind.Reserved;
        // 6to4 (RFC 3056): 2002:AABB:CCDD::/48 is relayed to a.b.c.d.
        if (b[0] == 0x20 && b[1] == 0x02) return ClassifyV4(b[2..6]);
        // IETF protocol assignments 2001::/23 (Teredo, ORCHIDv2, …), documentation 2001:db8::/32, discard-only 100::/64.
        if (b[0] == 0x20 && b[1] == 0x01 && (b[2] < 0x02 || (b[2] == 0x0d && b[3] == 0xb8))) return AddressKind.Reserved;
        if (b[0] == 0x01 && b[1] == 0 && b[2..8].IndexOfAnyExcept((byte)0) < 0) return AddressKind.Reserved;
        // Global unicast is 2000::/3; everything else is unassigned or special.
        return (b[0] & 0xe0) == 0x20 ? AddressKind.Public : AddressKind.Reserved;
    }

    private static ReadOnlySpan<byte> Nat64Prefix => [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

    private static AddressKind ClassifyV4(ReadOnlySpan<byte> a) => (a[0], a[1], a[2], a[3]) switch
    {
        (255, 255, 255, 255) => AddressKind.Broadcast,
        (0, _, _, _) => AddressKind.Unspecified,
        (10, _, _, _) => AddressKind.Private,
        (100, >= 64 and <= 127, _, _) => AddressKind.SharedAddressSpace,
        (127, _, _, _) => AddressKind.Loopback,
        (169, 254, _, _) => AddressKind.LinkLocal,
        (172, >= 16 and <= 31, _, _) => AddressKind.Private,
        (192, 0, 0, _) => AddressKind.Reserved,
        (192, 0, 2, _) => AddressKind.Reserved,
        (192, 88, 99, _) => AddressKind.Reserved,
        (192, 168, _, _) => AddressKind.Private,
        (198, 18 or 19, _, _) => AddressKind.Reserved,
        (198, 51, 100, _) => AddressKind.Reserved,
        (203, 0, 113, _) => AddressKind.Reserved,
        (>= 224 and <= 239, _, _, _) => AddressKind.Multicast,
        (>= 240, _, _, _) => AddressKind.Reserved,
        _ => AddressKind.Public,
    };

    /// <summary>How a refusal names the kind: "a private address".</summary>
    public static string Describe(this AddressKind kind) => kind switch
    {
        AddressKind.Loopback => "a loopback address",
        AddressKind.LinkLocal => "a link-local address (the cloud metadata range)",
        AddressKind.Private => "a private address",
        AddressKind.UniqueLocal => "a unique-local IPv6 address",
        AddressKind.Unspecified => "an unspecified address (0.0.0.0 or ::)",
        AddressKind.SharedAddressSpace => "a carrier-grade NAT address (100.64.0.0/10)",
        AddressKind.Multicast => "a multicast address",
        AddressKind.Broadcast => "the broadcast address",
        AddressKind.Reserved => "a reserved address",
        _ => "a public address",
    };

    /// <summary>Addresses no allow-list can open: they name no single host to call.</summary>
    public static bool IsNeverAllowed(this AddressKind kind) => kind is AddressKind.Unspecified or AddressKind.Multicast or AddressKind.Broadcast;
}
