using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Broadcast.Server;

/// <summary>
/// <c>Http:TrustedProxies</c>: the addresses or CIDR networks of the TLS-terminating proxies and load balancers in front of
/// this node, comma-separated (e.g. <c>10.0.0.5, 10.1.0.0/16</c>). From those peers alone, <c>X-Forwarded-For</c> becomes
/// the client address (so sign-in rate limits and logs see each client, not the proxy) and <c>X-Forwarded-Proto</c> the
/// scheme (so the session cookie is <c>Secure</c> behind TLS). Unset, forwarded headers are ignored: anyone could send them.
/// </summary>
public static class TrustedProxies
{
    public const string ConfigurationKey = "Http:TrustedProxies";

    /// <summary>The options for <c>UseForwardedHeaders</c>, or null when no proxy is trusted.</summary>
    /// <exception cref="InvalidOperationException">An entry is neither an address nor a CIDR network.</exception>
    public static ForwardedHeadersOptions? From(string? configured)
    {
        if (string.IsNullOrWhiteSpace(configured)) return null;
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            // Walk the whole chain of trusted hops; the walk stops at the first peer not listed, so a client cannot
            // extend it by sending its own X-Forwarded-For.
            ForwardLimit = null,
        };
        // The defaults trust loopback; only what is configured is trusted here.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var entry in configured.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (entry.Contains('/', StringComparison.Ordinal) && System.Net.IPNetwork.TryParse(entry, out var network))
            {
                options.KnownIPNetworks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                options.KnownProxies.Add(address);
                // Kestrel reports IPv4 peers of a dual-stack socket as IPv4-mapped IPv6.
                if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) options.KnownProxies.Add(address.MapToIPv6());
            }
            else
            {
                throw new InvalidOperationException($"{ConfigurationKey}: '{entry}' is neither an IP address nor a CIDR network (e.g. " +
                    "10.0.0.5 or 10.1.0.0/16).");
            }
        }

        return options;
    }
}
