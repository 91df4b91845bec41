using System.Net;

namespace Broadcast.Network.Outbound;

/// <summary>What <see cref="OutboundGuard"/> found: the decision, and the addresses it was made on (connect to these, not to the name).</summary>
public sealed record OutboundCheck(OutboundDecision Decision, IReadOnlyList<IPAddress> Addresses)
{
    public bool IsAllowed => Decision.IsAllowed;
}

/// <summary>
/// <see cref="OutboundUrlPolicy"/> with name resolution: the URL rules first (no lookup for a URL that is refused anyway), then the
/// host's addresses (an IP literal is not looked up) against the address and port rules. Callers connect to
/// <see cref="OutboundCheck.Addresses"/> where they can, so the addresses checked are the addresses used.
/// </summary>
public sealed class OutboundGuard(OutboundUrlPolicy policy, IHostResolver resolver)
{
    public OutboundUrlPolicy Policy { get; } = policy ?? throw new ArgumentNullException(nameof(policy));

    public async Task<OutboundCheck> CheckAsync(Uri url, CancellationToken cancellationToken)
    {
        var decision = Policy.CheckUrl(url);
        if (!decision.IsAllowed) return new OutboundCheck(decision, []);
        return await CheckDestinationAsync(OutboundUrlPolicy.HostOf(url), OutboundUrlPolicy.PortOf(url)!.Value,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The address and port rules for a host and port (a URL's, or a redirect's).</summary>
    public async Task<OutboundCheck> CheckDestinationAsync(string host, int port, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(host);
        string bare = host.Trim('[', ']');
        IReadOnlyList<IPAddress> addresses = IPAddress.TryParse(bare, out var literal)
            ? [literal]
            : await resolver.ResolveAsync(bare, cancellationToken).ConfigureAwait(false);
        return new OutboundCheck(Policy.CheckDestination(host, port, addresses), addresses);
    }
}
