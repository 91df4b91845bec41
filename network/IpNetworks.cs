using System.Net;

namespace Broadcast.Network;

/// <summary>
/// The address lists an operator writes in configuration (<c>Outbound:AllowedNetworks</c>, <c>Origin:EdgeLogSources</c>,
/// <c>Http:TrustedProxies</c>): entries separated by commas, semicolons or spaces, each a network in CIDR form
/// (<c>10.1.0.0/16</c>, <c>fd00::/8</c>) or one address (a network of just it). Pure.
/// </summary>
public static class IpNetworks
{
    /// <summary>The entries of a configured value; none for null or blank.</summary>
    public static string[] Entries(string? value) =>
        (value ?? "").Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>One entry: a CIDR network, or an address as the network of that address alone.</summary>
    public static bool TryParse(string entry, out IPNetwork network)
    {
        if (IPNetwork.TryParse(entry, out network)) return true;
        if (!IPAddress.TryParse(entry, out var single)) return false;
        network = new IPNetwork(single, single.GetAddressBytes().Length * 8);
        return true;
    }

    /// <summary>Every entry of <paramref name="value"/>; false, naming the first entry that is neither, when one is not.</summary>
    public static bool TryParseList(string? value, out List<IPNetwork> networks, out string? badEntry)
    {
        networks = [];
        badEntry = null;
        foreach (var entry in Entries(value))
        {
            if (!TryParse(entry, out var network))
            {
                badEntry = entry;
                return false;
            }

            networks.Add(network);
        }

        return true;
    }

    /// <summary>Whether a listed network holds the address (an IPv4-mapped IPv6 address counts as its IPv4 address).</summary>
    public static bool Contains(IEnumerable<IPNetwork> networks, IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(networks);
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        foreach (var network in networks)
        {
            if (network.BaseAddress.AddressFamily == address.AddressFamily && network.Contains(address)) return true;
        }

        return false;
    }
}
