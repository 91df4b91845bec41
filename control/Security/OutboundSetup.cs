using System.Net;
using System.Net.Sockets;
using Broadcast.Network.Outbound;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Broadcast.Control.Security;

/// <summary>
/// The outbound URL policy from configuration: <c>Outbound:AllowedHosts</c> and <c>Outbound:AllowedNetworks</c> (comma-separated, or
/// arrays <c>Outbound:AllowedNetworks:0</c>…). Registered once per process; the API checks new pull sources and destinations with it,
/// the pipeline checks them again when it connects.
/// </summary>
public static class OutboundSetup
{
    public const string SectionName = "Outbound";

    /// <exception cref="InvalidOperationException">An entry is not a host name, IP address or CIDR network (the message names the key).</exception>
    public static OutboundUrlPolicy PolicyFrom(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);
        var hosts = Values(section, "AllowedHosts");
        var networks = Values(section, "AllowedNetworks");
        OutboundAllowList hostList, networkList;
        try { hostList = OutboundAllowList.Parse(hosts, []); }
        catch (FormatException e) { throw new InvalidOperationException($"{SectionName}:AllowedHosts: {e.Message}", e); }
        try { networkList = OutboundAllowList.Parse([], networks); }
        catch (FormatException e) { throw new InvalidOperationException($"{SectionName}:AllowedNetworks: {e.Message}", e); }
        return new OutboundUrlPolicy(new OutboundAllowList(hostList.Hosts, networkList.Networks));
    }

    /// <summary>Registers <see cref="OutboundGuard"/> over the system resolver unless the composition already has them.</summary>
    public static IServiceCollection AddOutboundGuard(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        var policy = PolicyFrom(configuration);
        services.TryAddSingleton<IHostResolver, DnsHostResolver>();
        services.TryAddSingleton(sp => new OutboundGuard(policy, sp.GetRequiredService<IHostResolver>()));
        return services;
    }

    /// <summary>
    /// Null when <paramref name="url"/> may be used, or when its host does not resolve now (nothing to connect to yet; the pipeline
    /// checks again when it connects); else why not, completing "The url …".
    /// </summary>
    public static async Task<string?> RefusalAsync(this OutboundGuard guard, Uri url, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(guard);
        var check = await guard.CheckAsync(url, cancellationToken).ConfigureAwait(false);
        if (check.Decision.Verdict != OutboundVerdict.Refused) return null;
        string hint = check.Decision.Refusal is OutboundRefusal.Address or OutboundRefusal.Port
            ? $" An operator can allow it with {SectionName}:AllowedHosts or {SectionName}:AllowedNetworks."
            : "";
        return $"is refused by the outbound policy: {check.Decision.Reason}.{hint}";
    }

    private static IEnumerable<string> Values(IConfigurationSection section, string key)
    {
        if (section[key] is { Length: > 0 } single) yield return single;
        foreach (var child in section.GetSection(key).GetChildren())
            if (child.Value is { Length: > 0 } v) yield return v;
    }
}

/// <summary>The system resolver (getaddrinfo) with a bound on how long a lookup may take; a name that does not resolve gives no addresses.</summary>
public sealed class DnsHostResolver : IHostResolver
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    public async Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(Timeout);
        try
        {
            return await Dns.GetHostAddressesAsync(host, bounded.Token).ConfigureAwait(false);
        }
        catch (SocketException)
        {
            return [];
        }
        catch (ArgumentException)
        {
            return [];
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return [];
        }
    }
}
