using System.Net;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Ice;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// TURN credentials as the TURN REST API draft (§2.2) and coturn's <c>use-auth-secret</c> define them, who is handed them, the
/// settings a node refuses to start with, and the RFC 9725 §4.6 <c>Link</c> form. Real coturn taking these credentials and
/// relaying a publisher's media is the end-to-end <c>RoomWhipTests</c>.
/// </summary>
public sealed class IceServersTests
{
    private const string Secret = "north-sea-contribution-secret";
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    // (what, user id, expiry, username, password): the password is base64(HMAC-SHA1(secret, username)), as
    // `printf %s USERNAME | openssl dgst -sha1 -hmac SECRET -binary | base64` gives it.
    public static TheoryData<string, string, long, string, string> Vectors => new()
    {
        { "a plain id", "whip.my-show", 1_700_000_000, "1700000000:whip.my-show", "vG4dqAsjwActjaAoCsNFbnm6Bqk=" },
        { "a colon, a space and a quote become '_' (the colon ends the expiry)", "whip.a:b \"c", 1_700_000_000, "1700000000:whip.a_b__c", "+AdGddkJK9f2BLwunKTD3+n5ZSQ=" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Credentials_are_the_expiry_and_id_signed_with_the_shared_secret(string what, string userId, long expiresUnix, string username, string password)
    {
        var issued = TurnRestCredentials.Issue(Secret, userId, DateTimeOffset.FromUnixTimeSeconds(expiresUnix));
        Assert.True(issued.Username == username, what);
        Assert.Equal(password, issued.Password);
    }

    [Fact]
    public void Only_someone_allowed_in_gets_turn_credentials_and_they_expire_after_the_lifetime()
    {
        var clock = new ManualClock(Now);
        var ice = new IceServers(
            Options.Create(new WhepOptions { IceServers = [new IceServerOptions { Url = " stun:stun.example.net:3478 " }, new IceServerOptions { Url = "" }] }),
            Options.Create(new TurnOptions { Urls = ["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:443?transport=tcp"], Secret = Secret,
                CredentialLifetime = TimeSpan.FromHours(2) }),
            clock);

        Assert.True(ice.HasTurn);
        Assert.Equal([new IceServer("stun:stun.example.net:3478")], ice.Public);

        var issued = ice.For("room.my-show");
        Assert.Equal(3, issued.Count);
        Assert.Equal(issued[0], ice.Public[0]);
        long expiry = (Now + TimeSpan.FromHours(2)).ToUnixTimeSeconds();
        Assert.All(issued.Skip(1), s =>
        {
            Assert.Equal($"{expiry}:room.my-show", s.Username);
            Assert.Equal(TurnRestCredentials.Issue(Secret, "room.my-show", Now + TimeSpan.FromHours(2)).Password, s.Credential);
        });
        Assert.Equal(["turn:turn.example.net:3478?transport=udp", "turns:turn.example.net:443?transport=tcp"], issued.Skip(1).Select(s => s.Urls));

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal($"{expiry + 60}:room.my-show", ice.For("room.my-show")[1].Username);
    }

    [Fact]
    public void A_whep_viewers_credential_lasts_minutes_and_a_hosts_the_day()
    {
        var ice = new IceServers(Options.Create(new WhepOptions()),
            Options.Create(new TurnOptions { Urls = ["turn:turn.example.net:3478?transport=udp"], Secret = Secret }), new ManualClock(Now));
        Assert.StartsWith($"{(Now + TimeSpan.FromMinutes(10)).ToUnixTimeSeconds()}:whep.", ice.ForViewer(IPAddress.Parse("192.0.2.7")).Single().Username,
            StringComparison.Ordinal);
        Assert.Equal($"{(Now + TimeSpan.FromHours(24)).ToUnixTimeSeconds()}:room.show", ice.For("room.show").Single().Username);
    }

    [Fact]
    public void A_whep_viewers_turn_user_is_a_keyed_hash_of_its_address_so_coturns_user_quota_bounds_the_address()
    {
        var ice = new IceServers(Options.Create(new WhepOptions()),
            Options.Create(new TurnOptions { Urls = ["turn:turn.example.net:3478?transport=udp"], Secret = Secret }), new ManualClock(Now));
        // coturn's quota key: the username after "expiry:" (get_real_username).
        string QuotaKey(string address) => ice.ForViewer(IPAddress.Parse(address)).Single().Username!.Split(':', 2)[1];

        Assert.Matches("^whep\\.[0-9a-f]{24}$", QuotaKey("198.51.100.20"));
        Assert.DoesNotContain("198", QuotaKey("198.51.100.20"), StringComparison.Ordinal);
        // Every session of one address, and every address of one IPv6 /64, is one TURN user; IPv4-mapped is the IPv4 address.
        Assert.Equal(QuotaKey("198.51.100.20"), QuotaKey("198.51.100.20"));
        Assert.Equal(QuotaKey("198.51.100.20"), QuotaKey("::ffff:198.51.100.20"));
        Assert.Equal(QuotaKey("2001:db8:1:2::1"), QuotaKey("2001:db8:1:2:ffff:eeee:dddd:cccc"));
        // Another address, another /64: another user.
        Assert.NotEqual(QuotaKey("198.51.100.20"), QuotaKey("198.51.100.21"));
        Assert.NotEqual(QuotaKey("2001:db8:1:2::1"), QuotaKey("2001:db8:1:3::1"));
        // Keyed by the secret: another deployment's (or a guesser's) hash of the same address is another id.
        var other = new IceServers(Options.Create(new WhepOptions()),
            Options.Create(new TurnOptions { Urls = ["turn:turn.example.net:3478?transport=udp"], Secret = Secret + "-other" }), new ManualClock(Now));
        Assert.NotEqual(QuotaKey("198.51.100.20"), other.ForViewer(IPAddress.Parse("198.51.100.20")).Single().Username!.Split(':', 2)[1]);
    }

    [Fact]
    public void Without_turn_everyone_gets_the_fixed_servers_alone()
    {
        var ice = new IceServers(Options.Create(new WhepOptions()), Options.Create(new TurnOptions()));
        Assert.False(ice.HasTurn);
        Assert.Empty(ice.Public);
        Assert.Empty(ice.For("whep.show"));
    }

    public static TheoryData<string, TurnOptions, string?> Settings => new()
    {
        { "none", new TurnOptions(), null },
        { "good", new TurnOptions { Urls = ["turn:h:3478"], Secret = Secret }, null },
        { "stun is not turn", new TurnOptions { Urls = ["stun:h:3478"], Secret = Secret }, "is not a turn: or turns: URL" },
        { "a quote would break the Link header", new TurnOptions { Urls = ["turn:h\":3478"], Secret = Secret }, "has a character a URL cannot have" },
        { "no secret", new TurnOptions { Urls = ["turns:h:443?transport=tcp"] }, "Turn:Secret must be set" },
        { "a short secret", new TurnOptions { Urls = ["turn:h"], Secret = "short" }, "Turn:Secret must be set" },
        { "no lifetime", new TurnOptions { Urls = ["turn:h"], Secret = Secret, CredentialLifetime = TimeSpan.Zero }, "Turn:CredentialLifetime must be positive" },
        { "a viewer lifetime too short to renew", new TurnOptions { Urls = ["turn:h"], Secret = Secret, ViewerCredentialLifetime = TimeSpan.FromSeconds(5) }, "Turn:ViewerCredentialLifetime must be at least 30 seconds" },
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void A_node_refuses_turn_settings_that_cannot_work(string what, TurnOptions options, string? problem)
    {
        var result = new TurnOptionsValidator().Validate(null, options);
        if (problem is null)
        {
            Assert.True(result.Succeeded, what);
        }
        else
        {
            Assert.True(result.Failed, what);
            Assert.Contains(problem, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Each_server_is_one_link_with_its_credentials_as_parameters()
    {
        var response = new DefaultHttpContext().Response;
        IceServerLinks.Append(response, [new IceServer("stun:stun.example.net:3478"), new IceServer("turn:t.example.net:3478?transport=udp", "1700000000:whip.x", "ab\"c\\d=")]);
        Assert.Equal<string>(
            [
                "<stun:stun.example.net:3478>; rel=\"ice-server\"",
                "<turn:t.example.net:3478?transport=udp>; rel=\"ice-server\"; username=\"1700000000:whip.x\"; credential=\"abcd=\"; credential-type=\"password\"",
            ],
            response.Headers.Link.Select(v => v ?? "").ToArray());
    }
}
