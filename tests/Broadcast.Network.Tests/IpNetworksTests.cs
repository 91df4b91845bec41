using System.Net;

namespace Broadcast.Network.Tests;

public sealed class IpNetworksTests
{
    [Fact]
    public void A_list_reads_networks_and_single_addresses_between_commas_semicolons_and_spaces()
    {
        Assert.True(IpNetworks.TryParseList(" 10.213.71.0/24, 127.0.0.1;fd00::/8  ::1 ", out var networks, out var bad));
        Assert.Null(bad);
        Assert.Equal(["10.213.71.0/24", "127.0.0.1/32", "fd00::/8", "::1/128"], networks.Select(n => n.ToString()));
        Assert.True(IpNetworks.TryParseList(null, out var none, out _));
        Assert.Empty(none);
    }

    [Theory]
    [InlineData("10.0.0.1, example.com", "example.com")]
    [InlineData("10.0.0.0/33", "10.0.0.0/33")]
    [InlineData("10.0.0.1/", "10.0.0.1/")]
    public void A_list_names_its_first_entry_that_is_no_network(string value, string expected)
    {
        Assert.False(IpNetworks.TryParseList(value, out _, out var bad));
        Assert.Equal(expected, bad);
    }

    [Fact]
    public void An_ipv4_mapped_address_is_in_the_ipv4_network_and_no_family_crosses()
    {
        Assert.True(IpNetworks.TryParseList("10.213.71.0/24, fd00::/8", out var networks, out _));
        Assert.True(IpNetworks.Contains(networks, IPAddress.Parse("10.213.71.9")));
        Assert.True(IpNetworks.Contains(networks, IPAddress.Parse("::ffff:10.213.71.9")));
        Assert.True(IpNetworks.Contains(networks, IPAddress.Parse("fd00::5")));
        Assert.False(IpNetworks.Contains(networks, IPAddress.Parse("10.213.72.9")));
        Assert.False(IpNetworks.Contains(networks, IPAddress.Parse("::a0d5:4709")));
    }
}
