using Broadcast.WebRtc.Ice;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// What the sweeper reads from coturn's admin CLI (answers captured from coturn 4.6.1's <c>pu</c> and <c>ps USER</c>), which
/// usernames it judges, and the settings a node refuses. Real coturn is <see cref="TurnCoturnComponentTests"/>.
/// </summary>
public sealed class TurnSessionSweeperTests
{
    private const string Users = "\r\n    user: <1795957291:whep.0f3a>, 3 sessions\r\n    user: <1795957291:addrB>, 1 sessions\r\n    user: <>, 2 sessions\r\n\r\n  Total sessions: 6\r\n\r\n> ";

    private const string Sessions = "\r\n    1) id=001000000000000003, user <1795957291:whep.0f3a>:\r\n      realm: broadcast\r\n      started 9 secs ago\r\n"
        + "      expiring in 768 secs\r\n      client protocol UDP, relay protocol UDP\r\n      client addr 127.0.0.1:58489, server addr 127.0.0.1:34780\r\n"
        + "      relay addr 127.0.0.1:41096\r\n\r\n    2) id=000000000000000001, user <1795957291:whep.0f3a>:\r\n      realm: broadcast\r\n"
        + "      peers:\r\n          127.0.0.1:41501\r\n\r\n  Total sessions: 2\r\n\r\n> ";

    [Fact]
    public void The_cli_answers_give_the_users_and_the_ids_of_a_users_sessions()
    {
        Assert.Equal(["1795957291:whep.0f3a", "1795957291:addrB"], TurnAdminCli.ParseUsers(Users));
        Assert.Equal(["001000000000000003", "000000000000000001"], TurnAdminCli.ParseSessionIds(Sessions, "1795957291:whep.0f3a"));
        // Only lines naming the user asked for.
        Assert.Empty(TurnAdminCli.ParseSessionIds(Sessions, "1795957291:whep.0f3"));
    }

    [Theory]
    [InlineData("1795957291:whep.0f3a", 1795957291L)]
    [InlineData("1700000000:room.my-show_1", 1700000000L)]
    [InlineData("whep.0f3a", null)]
    [InlineData(":whep.0f3a", null)]
    [InlineData("1795957291:", null)]
    [InlineData("17x5957291:whep", null)]
    [InlineData("1795957291:a b", null)]
    [InlineData("99999999999999999999:whep", null)]
    public void Only_usernames_this_node_issues_have_an_expiry(string username, long? expiry) =>
        Assert.Equal(expiry, TurnSessionSweeper.ExpiryOf(username));

    [Theory]
    [InlineData(null, 5766, 15, null)]
    [InlineData("10.213.71.11", 5766, 15, "Turn:AdminPassword must be set")]
    [InlineData("10.213.71.11", 0, 15, "Turn:AdminPort")]
    [InlineData("10.213.71.11", 5766, 0, "Turn:SweepInterval")]
    public void Sweeping_needs_a_password_a_port_and_an_interval(string? address, int port, int intervalSeconds, string? problem)
    {
        var options = new TurnOptions
        {
            AdminAddress = address, AdminPort = port, SweepInterval = TimeSpan.FromSeconds(intervalSeconds),
            AdminPassword = problem?.Contains("Password", StringComparison.Ordinal) == true ? null : "cli-secret",
        };
        if (problem is null) Assert.Null(options.Problem());
        else Assert.StartsWith(problem, options.Problem(), StringComparison.Ordinal);
        Assert.NotNull(new TurnOptions { AdminAddress = "x", AdminPassword = "a\r\nhalt" }.Problem());
    }
}
