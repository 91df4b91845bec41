using System.Net;

namespace Broadcast.Network.Outbound;

/// <summary>Name resolution for <see cref="OutboundGuard"/>, kept apart so the policy stays pure and tests never ask a real DNS server.</summary>
public interface IHostResolver
{
    /// <summary>The addresses of <paramref name="host"/> (a DNS name, never an IP literal); empty when it does not resolve.</summary>
    Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken);
}
