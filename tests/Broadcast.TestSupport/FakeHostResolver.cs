using System.Net;
using Broadcast.Network.Outbound;

namespace Broadcast.TestSupport;

/// <summary>
/// Name resolution for tests, standing in for DNS (tests never ask a real DNS server): a table of names, and for any other name one
/// public address (93.184.216.34, the example.com address, as data only: nothing connects to it). Names under <c>.invalid</c> do not
/// resolve. The special names resolve to the ranges the outbound policy refuses.
/// </summary>
public sealed class FakeHostResolver : IHostResolver
{
    public static readonly IPAddress PublicAddress = IPAddress.Parse("93.184.216.34");

    private readonly Dictionary<string, IPAddress[]> _names = new(StringComparer.OrdinalIgnoreCase)
    {
        ["localhost"] = [IPAddress.Loopback],
        ["loopback.test"] = [IPAddress.Parse("127.0.0.1")],
        ["metadata.test"] = [IPAddress.Parse("169.254.169.254")],
        ["private.test"] = [IPAddress.Parse("10.0.0.5")],
        ["cgnat.test"] = [IPAddress.Parse("100.64.1.1")],
        ["ula.test"] = [IPAddress.Parse("fd00::1")],
        ["mapped.test"] = [IPAddress.Parse("::ffff:192.168.1.1")],
        ["rebind.test"] = [PublicAddress, IPAddress.Parse("127.0.0.1")],
    };

    /// <summary>Names looked up, in order.</summary>
    public List<string> Asked { get; } = [];

    public FakeHostResolver Map(string name, params string[] addresses)
    {
        lock (_names) _names[name] = addresses.Select(IPAddress.Parse).ToArray();
        return this;
    }

    public Task<IReadOnlyList<IPAddress>> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        lock (_names)
        {
            Asked.Add(host);
            if (_names.TryGetValue(host, out var found)) return Task.FromResult<IReadOnlyList<IPAddress>>(found);
            if (host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase)) return Task.FromResult<IReadOnlyList<IPAddress>>([]);
            return Task.FromResult<IReadOnlyList<IPAddress>>([PublicAddress]);
        }
    }
}
