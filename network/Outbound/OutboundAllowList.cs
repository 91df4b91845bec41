using System.Net;

namespace Broadcast.Network.Outbound;

/// <summary>
/// The operator's exceptions to <see cref="OutboundUrlPolicy"/>: host names (exact, or <c>*.example.com</c> for its subdomains; an IP
/// literal names that address) and networks in CIDR form (<c>10.1.0.0/16</c>, <c>127.0.0.1/32</c>, <c>fd00::/8</c>). A listed host, or a
/// host whose every address lies in a listed network, may be a non-public address and use any port. Pure.
/// </summary>
public sealed class OutboundAllowList
{
    private readonly HashSet<string> _hosts;
    private readonly string[] _suffixes;
    private readonly IPNetwork[] _networks;

    public static OutboundAllowList None { get; } = new([], []);

    public OutboundAllowList(IEnumerable<string> hosts, IEnumerable<IPNetwork> networks)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(networks);
        var names = hosts.Select(NormalizeHost).Where(h => h.Length > 0).ToList();
        _hosts = new HashSet<string>(names.Where(h => !h.StartsWith("*.", StringComparison.Ordinal)), StringComparer.Ordinal);
        _suffixes = names.Where(h => h.StartsWith("*.", StringComparison.Ordinal)).Select(h => h[1..]).ToArray();
        _networks = networks.ToArray();
    }

    public IReadOnlyCollection<string> Hosts => [.. _hosts, .. _suffixes.Select(s => "*" + s)];

    public IReadOnlyList<IPNetwork> Networks => _networks;

    public bool IsEmpty => _hosts.Count == 0 && _suffixes.Length == 0 && _networks.Length == 0;

    /// <summary>Parses configuration values; a bad entry throws <see cref="FormatException"/> naming it.</summary>
    public static OutboundAllowList Parse(IEnumerable<string> hosts, IEnumerable<string> networks)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        ArgumentNullException.ThrowIfNull(networks);
        var hostList = new List<string>();
        foreach (var raw in hosts.SelectMany(IpNetworks.Entries))
        {
            string h = NormalizeHost(raw);
            string bare = h.StartsWith("*.", StringComparison.Ordinal) ? h[2..] : h;
            if (bare.Length == 0 || (Uri.CheckHostName(bare) == UriHostNameType.Unknown && !IPAddress.TryParse(bare, out _)))
                throw new FormatException($"'{raw}' is not a host name or IP address.");
            hostList.Add(h);
        }
        var networkList = new List<IPNetwork>();
        foreach (var raw in networks.SelectMany(IpNetworks.Entries))
        {
            if (IpNetworks.TryParse(raw, out var network)) networkList.Add(network);
            else throw new FormatException($"'{raw}' is not a network in CIDR form (e.g. 10.1.0.0/16) or an IP address.");
        }
        return new OutboundAllowList(hostList, networkList);
    }

    /// <summary>Whether the host name (or IP literal) is listed.</summary>
    public bool AllowsHost(string host)
    {
        string h = NormalizeHost(host);
        if (h.Length == 0) return false;
        return _hosts.Contains(h) || _suffixes.Any(s => h.EndsWith(s, StringComparison.Ordinal));
    }

    /// <summary>Whether a listed network holds the address (an IPv4-mapped IPv6 address counts as its IPv4 address).</summary>
    public bool AllowsAddress(IPAddress address) => IpNetworks.Contains(_networks, address);

    private static string NormalizeHost(string host)
    {
        string h = (host ?? "").Trim().TrimEnd('.').ToLowerInvariant();
        if (h.StartsWith('[') && h.EndsWith(']')) h = h[1..^1];
        return IPAddress.TryParse(h, out var ip) ? ip.ToString() : h;
    }
}
