using System.Net;
using System.Security.Cryptography;
using Broadcast.Control.Chat;

namespace Broadcast.Control.Tests.Chat;

public sealed class ChatIdentityTests
{
    private readonly byte[] _secret = RandomNumberGenerator.GetBytes(32);

    [Fact]
    public void Viewer_ids_are_verified_by_any_node_with_the_same_secret_and_refused_when_forged()
    {
        var a = new ChatIdentity(_secret);
        var id = a.NewViewerId();
        Assert.Equal(ChatIdentity.ViewerIdLength, id.Length);
        Assert.True(new ChatIdentity(_secret).IsValid(id));
        Assert.False(new ChatIdentity(RandomNumberGenerator.GetBytes(32)).IsValid(id));
        Assert.False(a.IsValid(null));
        Assert.False(a.IsValid("short"));
        Assert.False(a.IsValid((id[0] == 'A' ? 'B' : 'A') + id[1..]));
        Assert.NotEqual(id, a.NewViewerId());

        // The author tag is stable per viewer and reveals nothing of the id.
        Assert.Equal(a.AuthorTag(id), new ChatIdentity(_secret).AuthorTag(id));
        Assert.DoesNotContain(a.AuthorTag(id), id, StringComparison.Ordinal);
    }

    [Fact]
    public void A_viewer_id_says_when_it_was_issued_and_an_id_without_that_reads_as_old()
    {
        var clock = new Broadcast.TestSupport.ManualClock(new DateTimeOffset(2026, 11, 26, 7, 50, 0, TimeSpan.Zero));
        var identity = new ChatIdentity(_secret, clock);
        var id = identity.NewViewerId();
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 7, 50, 0, TimeSpan.Zero), identity.IssuedAt(id));
        Assert.Null(identity.IssuedAt("made-up"));

        // An id of the older form (16 random bytes) whose first four read as a time to come says nothing.
        var older = new ChatIdentity(_secret, new Broadcast.TestSupport.ManualClock(new DateTimeOffset(2090, 1, 1, 0, 0, 0, TimeSpan.Zero))).NewViewerId();
        Assert.True(identity.IsValid(older));
        Assert.Null(identity.IssuedAt(older));
    }

    [Fact]
    public void Addresses_hash_with_the_salt_and_mapped_ipv4_is_the_same_address()
    {
        var a = new ChatIdentity(_secret);
        var v4 = a.HashAddress(IPAddress.Parse("203.0.113.7"));
        Assert.Equal(v4, a.HashAddress(IPAddress.Parse("::ffff:203.0.113.7")));
        Assert.NotEqual(v4, a.HashAddress(IPAddress.Parse("203.0.113.8")));
        Assert.NotEqual(v4, new ChatIdentity(RandomNumberGenerator.GetBytes(32)).HashAddress(IPAddress.Parse("203.0.113.7")));
        // An IPv6 client by its /64: walking its own prefix does not give it a new bucket or escape a ban by address.
        var v6 = a.HashAddress(IPAddress.Parse("2001:db8:5:7::1"));
        Assert.Equal(v6, a.HashAddress(IPAddress.Parse("2001:db8:5:7:ffff:eeee:dddd:1")));
        Assert.NotEqual(v6, a.HashAddress(IPAddress.Parse("2001:db8:5:8::1")));
        // Not the address in any readable form: 32 hex digits. (Not "no '203' inside": random hex holds any three digits
        // now and then, about one run in 140.)
        Assert.Matches("^[0-9a-f]{32}$", v4);
        Assert.DoesNotContain("203.0.113.7", v4, StringComparison.Ordinal);
    }
}
