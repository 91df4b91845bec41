using System.Net;
using Broadcast.Network;

namespace Broadcast.Network.Tests;

public sealed class ClientAddressSlotsTests
{
    [Fact]
    public void An_address_gets_its_cap_and_a_released_slot_back()
    {
        var slots = new ClientAddressSlots(maxPerAddress: 2, maxTotal: 10);
        var a = IPAddress.Parse("203.0.113.7");
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(a));
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(a));
        Assert.Equal(AddressAdmission.AddressFull, slots.TryEnter(a));
        // Another address is not affected.
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse("203.0.113.8")));
        slots.Release(a);
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(a));
        Assert.Equal(3, slots.Open);
    }

    [Fact]
    public void The_node_cap_holds_across_addresses()
    {
        var slots = new ClientAddressSlots(maxPerAddress: 5, maxTotal: 3);
        for (var i = 1; i <= 3; i++) Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse($"198.51.100.{i}")));
        Assert.Equal(AddressAdmission.ServerFull, slots.TryEnter(IPAddress.Parse("198.51.100.9")));
        slots.Release(IPAddress.Parse("198.51.100.2"));
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse("198.51.100.9")));
    }

    [Fact]
    public void An_ipv6_client_is_counted_by_its_slash_64_and_a_mapped_ipv4_as_itself()
    {
        var slots = new ClientAddressSlots(maxPerAddress: 2, maxTotal: 100);
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse("2001:db8:1:2::1")));
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse("2001:db8:1:2:ffff::9")));
        // A new address inside the same /64 buys nothing.
        Assert.Equal(AddressAdmission.AddressFull, slots.TryEnter(IPAddress.Parse("2001:db8:1:2:abcd::5")));
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Parse("2001:db8:1:3::1")));

        Assert.Equal(ClientAddressSlots.Bucket(IPAddress.Parse("192.0.2.1")), ClientAddressSlots.Bucket(IPAddress.Parse("::ffff:192.0.2.1")));
        Assert.NotEqual(ClientAddressSlots.Bucket(IPAddress.Parse("0.0.0.1")), ClientAddressSlots.Bucket(IPAddress.Parse("::1")));
        Assert.NotEqual(ClientAddressSlots.Bucket(null), ClientAddressSlots.Bucket(IPAddress.Parse("::")));
    }

    [Fact]
    public void Releasing_an_address_that_holds_nothing_changes_nothing()
    {
        var slots = new ClientAddressSlots(1, 1);
        slots.Release(IPAddress.Loopback);
        Assert.Equal(0, slots.Open);
        Assert.Equal(AddressAdmission.Admitted, slots.TryEnter(IPAddress.Loopback));
    }
}
