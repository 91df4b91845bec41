using System.Net;
using Broadcast.Refusals;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Room;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>The green room's rules: invites once, grants once, answers only to the knock's secret, bounds per room and per address, bans, expiry.</summary>
public sealed class RoomLobbyTests
{
    private static readonly IPAddress Guest = IPAddress.Parse("2001:db8:1:2::10");

    private static (RoomLobby Lobby, ManualClock Clock) NewLobby()
    {
        var clock = new ManualClock(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
        return (new RoomLobby(Options.Create(new RoomOptions()), NullLogger<RoomLobby>.Instance, clock), clock);
    }

    [Fact]
    public void An_invite_lets_one_guest_knock_and_an_admitted_guest_publishes_once()
    {
        var (lobby, _) = NewLobby();
        var invite = lobby.Invite("show");
        Assert.Equal(RefusalKind.Forbidden, Assert.Throws<Refusal>(() => lobby.Ask("other", "Ann", invite.Token, Guest)).Kind);
        var (id, secret) = lobby.Ask("show", "Ann\u0000 ", invite.Token, Guest);
        Assert.Equal(RefusalKind.Forbidden, Assert.Throws<Refusal>(() => lobby.Ask("show", "Bob", invite.Token, IPAddress.Loopback)).Kind);

        Assert.Null(lobby.Status("show", id, "not-the-secret"));
        Assert.Equal(new KnockStatus(KnockState.Waiting, null), lobby.Status("show", id, secret));
        var knock = Assert.Single(lobby.Knocks("show"));
        Assert.Equal(("Ann", true), (knock.Name, knock.Invited));

        Assert.True(lobby.Admit("show", id));
        Assert.False(lobby.Admit("show", id));
        string grant = lobby.Status("show", id, secret)!.Grant!;
        Assert.Null(lobby.Redeem("show", "made-up", Guest));
        Assert.Null(lobby.Redeem("other", grant, Guest));
        Assert.Equal("Ann", lobby.Redeem("show", grant, Guest));
        Assert.Null(lobby.Redeem("show", grant, Guest));
    }

    [Fact]
    public void One_address_and_its_ipv6_neighbours_hold_three_knocks_and_a_ban_covers_its_slash_64()
    {
        var (lobby, _) = NewLobby();
        for (int i = 1; i <= RoomLobby.MaxKnocksPerAddress; i++) lobby.Ask("show", $"guest {i}", null, IPAddress.Parse($"2001:db8:1:2::{i}"));
        Assert.Equal(RefusalKind.TooMany, Assert.Throws<Refusal>(() => lobby.Ask("show", "one more", null, IPAddress.Parse("2001:db8:1:2::99"))).Kind);
        var (other, _) = lobby.Ask("show", "elsewhere", null, IPAddress.Parse("2001:db8:1:3::1"));

        Assert.True(lobby.Refuse("show", other, ban: true));
        Assert.Equal(RefusalKind.Forbidden, Assert.Throws<Refusal>(() => lobby.Ask("show", "again", null, IPAddress.Parse("2001:db8:1:3::2"))).Kind);
        // The ban is the room's: the same address may ask to join another room.
        lobby.Ask("another show", "again", null, IPAddress.Parse("2001:db8:1:3::2"));

        lobby.Ban("show", IPAddress.Parse("2001:db8:1:4::1"));
        Assert.Null(lobby.Redeem("show", "whatever", IPAddress.Parse("2001:db8:1:4::2")));
    }

    /// <summary>Strangers filling the green room (seven /64s at three knocks each) do not keep out the guests the hosts invited.</summary>
    [Fact]
    public void Invited_guests_have_a_quota_of_their_own_that_strangers_cannot_fill()
    {
        var (lobby, _) = NewLobby();
        int taken = 0;
        for (int prefix = 1; prefix <= 7; prefix++)
        {
            for (int i = 1; i <= RoomLobby.MaxKnocksPerAddress && taken < RoomLobby.MaxKnocksPerRoom; i++, taken++)
                lobby.Ask("show", $"stranger {prefix}.{i}", null, IPAddress.Parse($"2001:db8:{prefix}:1::{i}"));
        }
        Assert.Equal(RefusalKind.TooMany, Assert.Throws<Refusal>(() => lobby.Ask("show", "one more stranger", null, IPAddress.Parse("2001:db8:99:1::1"))).Kind);

        // The invited guest gets in, even from an address that already holds its strangers' quota.
        var (id, _) = lobby.Ask("show", "Guest", lobby.Invite("show").Token, IPAddress.Parse("2001:db8:1:1::50"));
        Assert.Contains(lobby.Knocks("show"), k => k.Id == id && k.Invited);

        // Invites have their own bound, made by hosts: past it, even invited knocks wait.
        for (int i = 1; i < RoomLobby.MaxInvitedKnocksPerRoom; i++) lobby.Ask("show", $"invited {i}", lobby.Invite("show").Token, IPAddress.Parse($"10.9.{i}.1"));
        Assert.Equal(RefusalKind.TooMany, Assert.Throws<Refusal>(() => lobby.Ask("show", "late", lobby.Invite("show").Token, IPAddress.Parse("10.10.0.1"))).Kind);
    }

    [Fact]
    public void A_room_holds_at_most_its_knocks_and_unanswered_or_abandoned_ones_expire()
    {
        var (lobby, clock) = NewLobby();
        var knocks = Enumerable.Range(0, RoomLobby.MaxKnocksPerRoom).Select(i => lobby.Ask("show", $"g{i}", null, IPAddress.Parse($"10.0.{i}.1"))).ToList();
        Assert.Equal(RefusalKind.TooMany, Assert.Throws<Refusal>(() => lobby.Ask("show", "late", null, IPAddress.Parse("10.1.0.1"))).Kind);

        // Nobody polls for longer than the poll timeout: the knocks expire and free their places.
        clock.Advance(new RoomOptions().KnockPollTimeout + TimeSpan.FromSeconds(1));
        Assert.Equal(new KnockStatus(KnockState.Expired, null), lobby.Status("show", knocks[0].Id, knocks[0].Secret));
        lobby.Ask("show", "late", null, IPAddress.Parse("10.1.0.1"));

        // An admitted guest's grant lapses when unused.
        var (id, secret) = lobby.Ask("show", "slow", null, IPAddress.Parse("10.2.0.1"));
        Assert.True(lobby.Admit("show", id));
        string grant = lobby.Status("show", id, secret)!.Grant!;
        clock.Advance(new RoomOptions().GrantLifetime + TimeSpan.FromSeconds(1));
        Assert.Null(lobby.Redeem("show", grant, IPAddress.Parse("10.2.0.1")));
    }
}
