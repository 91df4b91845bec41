using System.Net;

namespace Broadcast.Network.Outbound;

/// <summary>
/// Where the server may connect on a user's behalf (pull sources, restream destinations). Pure: a parsed URL and the addresses its
/// host resolved to in, a decision out; <see cref="OutboundGuard"/> does the resolving.
/// <list type="bullet">
/// <item>Schemes rtmp, rtmps, srt, http, https only: never ffmpeg's local protocols (file:, concat:, subfile:, pipe:, …). Always.</item>
/// <item>Nothing that makes the server listen or bind: srt only in caller mode, no <c>listen</c> option; srt options from a known
/// caller-side list. Always.</item>
/// <item>Every resolved address public: loopback, link-local, private, unique-local, CGNAT, reserved, and IPv6 forms that carry one
/// (IPv4-mapped, NAT64, 6to4) are refused unless the <see cref="OutboundAllowList"/> names the host or a network holding the
/// address. Unspecified, multicast and broadcast addresses are refused even then.</item>
/// <item>Ports 80, 443 and 1024-65535 (unless allow-listed as above).</item>
/// </list>
/// </summary>
public sealed class OutboundUrlPolicy(OutboundAllowList? allowList = null)
{
    /// <summary>The schemes any outbound URL may have.</summary>
    public static IReadOnlySet<string> Schemes { get; } = new HashSet<string>(StringComparer.Ordinal) { "rtmp", "rtmps", "srt", "http", "https" };

    /// <summary>ffmpeg's libsrt options that only shape a caller's connection (ffmpeg 5.1 <c>-h protocol=srt</c>, less the listener ones).</summary>
    private static readonly HashSet<string> SrtOptions = new(StringComparer.OrdinalIgnoreCase)
    {
        "mode", "streamid", "srt_streamid", "passphrase", "pbkeylen", "enforced_encryption", "kmrefreshrate", "kmpreannounce",
        "latency", "rcvlatency", "peerlatency", "tsbpddelay", "tsbpd", "tlpktdrop", "nakreport", "connect_timeout", "timeout",
        "maxbw", "inputbw", "oheadbw", "pkt_size", "payload_size", "mss", "ffs", "ipttl", "iptos", "sndbuf", "rcvbuf",
        "send_buffer_size", "recv_buffer_size", "lossmaxttl", "minversion", "smoother", "messageapi", "transtype", "linger", "snddropdelay",
    };

    public OutboundAllowList AllowList { get; } = allowList ?? OutboundAllowList.None;

    /// <summary>Scheme, shape and option rules (no addresses needed); no allow-list lifts them.</summary>
    public OutboundDecision CheckUrl(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsAbsoluteUri) return OutboundDecision.Refuse(OutboundRefusal.Malformed, "the URL is not absolute");
        string scheme = url.Scheme.ToLowerInvariant();
        if (!Schemes.Contains(scheme))
            return OutboundDecision.Refuse(OutboundRefusal.Scheme, $"the scheme '{Shorten(scheme)}' is not allowed (rtmp, rtmps, srt, http, https)");
        if (url.OriginalString.Contains('\\', StringComparison.Ordinal))
            return OutboundDecision.Refuse(OutboundRefusal.Malformed, "the URL contains a backslash");
        if (HostOf(url).Length == 0) return OutboundDecision.Refuse(OutboundRefusal.Malformed, "the URL has no host");
        if (PortOf(url) is not { } port) return OutboundDecision.Refuse(OutboundRefusal.Malformed, $"a {scheme}:// URL needs a port");
        if (port is < 1 or > 65535) return OutboundDecision.Refuse(OutboundRefusal.Malformed, $"port {port} is out of range");
        foreach (var (key, value) in QueryOf(url))
        {
            if (key.Equals("listen", StringComparison.OrdinalIgnoreCase) || key.Equals("listen_timeout", StringComparison.OrdinalIgnoreCase))
                return OutboundDecision.Refuse(OutboundRefusal.Listener, $"'{Shorten(key)}' would make the server listen for incoming connections");
            if (scheme != "srt") continue;
            if (key.Equals("mode", StringComparison.OrdinalIgnoreCase) && !value.Equals("caller", StringComparison.OrdinalIgnoreCase) && value != "0")
                return OutboundDecision.Refuse(OutboundRefusal.Listener,
                    $"srt mode={Shorten(value)} would make the server listen or bind a local port; only caller mode is allowed");
            if (!SrtOptions.Contains(key)) return OutboundDecision.Refuse(OutboundRefusal.Option, $"the srt option '{Shorten(key)}' is not allowed");
        }
        return OutboundDecision.Allowed;
    }

    /// <summary>
    /// Address and port rules for a connection to <paramref name="host"/>:<paramref name="port"/> that resolved to
    /// <paramref name="addresses"/> (every one must pass: a name with one private address among public ones is refused).
    /// </summary>
    public OutboundDecision CheckDestination(string host, int port, IReadOnlyList<IPAddress> addresses)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(addresses);
        if (addresses.Count == 0) return OutboundDecision.NotFound;
        bool literal = IPAddress.TryParse(host.Trim('[', ']'), out _);
        bool hostListed = AllowList.AllowsHost(host);
        foreach (var address in addresses)
        {
            var kind = AddressKinds.Classify(address);
            if (kind.IsNeverAllowed() || (kind != AddressKind.Public && !hostListed && !AllowList.AllowsAddress(address)))
                return OutboundDecision.Refuse(OutboundRefusal.Address, (literal ? "" : "the host resolves to ") + kind.Describe(), kind);
        }
        bool allListed = hostListed || addresses.All(AllowList.AllowsAddress);
        if (port is < 1 or > 65535) return OutboundDecision.Refuse(OutboundRefusal.Malformed, $"port {port} is out of range");
        if (port < 1024 && port is not (80 or 443) && !allListed)
            return OutboundDecision.Refuse(OutboundRefusal.Port, $"port {port} is not allowed (below 1024 only 80 and 443)");
        return OutboundDecision.Allowed;
    }

    /// <summary><see cref="CheckUrl"/>, then <see cref="CheckDestination"/> with the URL's host and port.</summary>
    public OutboundDecision Decide(Uri url, IReadOnlyList<IPAddress> addresses)
    {
        var decision = CheckUrl(url);
        return decision.IsAllowed ? CheckDestination(HostOf(url), PortOf(url)!.Value, addresses) : decision;
    }

    /// <summary>The host to resolve: the IDN (punycode) form of a name, an IP literal without brackets.</summary>
    public static string HostOf(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return url.HostNameType is UriHostNameType.IPv6 or UriHostNameType.IPv4 ? url.Host.Trim('[', ']') : url.IdnHost;
    }

    /// <summary>The port the URL connects to: its own, else the scheme's (rtmp 1935, rtmps and https 443, http 80); srt has none.</summary>
    public static int? PortOf(Uri url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.IsDefaultPort && url.Port > 0) return url.Port;
        return url.Scheme.ToLowerInvariant() switch
        {
            "rtmp" => 1935,
            "rtmps" or "https" => 443,
            "http" => 80,
            _ => null,
        };
    }

    /// <summary>The IP literal in the URL's host, when it is one (no resolving needed).</summary>
    public static IPAddress? LiteralOf(Uri url) =>
        url.HostNameType is UriHostNameType.IPv6 or UriHostNameType.IPv4 && IPAddress.TryParse(HostOf(url), out var ip) ? ip : null;

    private static IEnumerable<(string Key, string Value)> QueryOf(Uri url)
    {
        string query = url.Query.TrimStart('?');
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]).Trim();
            string value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]).Trim();
            yield return (key, value);
        }
    }

    private static string Shorten(string value) => value.Length <= 24 ? value : value[..24] + "…";
}
