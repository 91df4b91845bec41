using Broadcast.Network;
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
        // The defaults trust loopback; only what is configured is trusted here. The list reads as every operator's address
        // list does (Broadcast.Network.IpNetworks: a single address is the network of it alone); the middleware matches an
        // IPv4-mapped IPv6 peer of a dual-stack socket against its IPv4 address.
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        if (!IpNetworks.TryParseList(configured, out var networks, out var bad))
        {
            throw new InvalidOperationException($"{ConfigurationKey}: '{bad}' is neither an IP address nor a CIDR network (e.g. " +
                "10.0.0.5 or 10.1.0.0/16).");
        }

        foreach (var network in networks) options.KnownIPNetworks.Add(network);
        return options;
    }
}
