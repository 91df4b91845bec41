using System.Globalization;
using System.Net;
using Broadcast.TestSupport;
using Broadcast.WebRtc.Ice;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Broadcast.WebRtc.Tests;

/// <summary>
/// COMPONENT TESTS: they start Debian's coturn (4.6.1, <c>turnserver</c>) on 127.0.0.1 with free ports and drive it with
/// coturn's own TURN client (<c>turnutils_uclient</c>, never a hand-written one), each bounded to about a minute. What the
/// TURN server really does with this node's credentials: coturn's per-user quota bounds one viewer address, however many
/// WHEP sessions it opens; and a relay opened before its credential expired, which coturn itself would keep, is ended by
/// <see cref="TurnSessionSweeper"/> through coturn's admin CLI while a relay with a valid credential stays.
/// </summary>
[Trait("Kind", "Component")]
public sealed class TurnCoturnComponentTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private static readonly IPAddress ViewerA = IPAddress.Parse("198.51.100.20");
    private static readonly IPAddress ViewerB = IPAddress.Parse("203.0.113.9");

    [Fact]
    public async Task One_addresss_allocations_stop_at_the_user_quota_whatever_its_sessions_while_another_address_allocates()
    {
        const int Quota = 4;
        await using var turn = await CoturnServer.StartAsync(settings: new CoturnSettings { UserQuota = Quota, AdminCli = true, RelayOnLoopback = true });
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var ice = new IceServers(Options.Create(new WhepOptions()), Options.Create(new TurnOptions { Urls = [turn.Url("udp")], Secret = turn.Secret }), clock);
        // Two WHEP sessions of address A (each POST and each ICE restart is answered with a credential), one of address B.
        var firstOfA = ice.ForViewer(ViewerA).Single();
        clock.Advance(TimeSpan.FromSeconds(1));
        var secondOfA = ice.ForViewer(ViewerA).Single();
        var ofB = ice.ForViewer(ViewerB).Single();
        Assert.NotEqual(firstOfA.Username, secondOfA.Username);

        // uclient -m N makes 2N allocations: twice the quota with the first credential, then more with the second.
        await using var first = Allocate(turn, firstOfA, clients: Quota);
        await WaitFor.ConditionAsync(() => Task.FromResult(first.Output.Contains("486 (Allocation Quota Reached)")), Bound,
            "the first credential's allocations past the quota to be refused", () => Diagnostics(turn, first));
        await using var second = Allocate(turn, secondOfA, clients: 1);
        await WaitFor.ConditionAsync(() => Task.FromResult(second.Output.Contains("486 (Allocation Quota Reached)")), Bound,
            "the second session's credential to be refused too: the same address's quota", () => Diagnostics(turn, second));
        await using var other = Allocate(turn, ofB, clients: 1);
        await using var cli = await ConnectAsync(turn);
        await WaitFor.ConditionAsync(async () => (await cli.SessionsOfAsync(ofB.Username!, default)).Count == 2, Bound,
            "address B's two allocations", () => Diagnostics(turn, other));

        int heldByA = (await cli.SessionsOfAsync(firstOfA.Username!, default)).Count + (await cli.SessionsOfAsync(secondOfA.Username!, default)).Count;
        output.WriteLine($"address A holds {heldByA} relays with two sessions' credentials; address B holds 2");
        Assert.Equal(Quota, heldByA);
        Assert.False(other.Output.Contains("486"), Diagnostics(turn, other));
    }

    [Fact]
    public async Task A_relay_whose_credential_expired_is_cancelled_by_the_sweeper_while_a_valid_ones_stays()
    {
        await using var turn = await CoturnServer.StartAsync(settings: new CoturnSettings { AdminCli = true, RelayOnLoopback = true });
        var now = DateTimeOffset.UtcNow;
        var expiring = Credential(turn, "whep.expiring", now + TimeSpan.FromSeconds(4));
        var valid = Credential(turn, "whep.valid", now + TimeSpan.FromMinutes(10));
        // -h: the clients stay and refresh their allocations (uclient refreshes every 30 s) until they are stopped.
        await using var expiringClient = Allocate(turn, expiring, clients: 1);
        await using var validClient = Allocate(turn, valid, clients: 1);
        await using var cli = await ConnectAsync(turn);
        await WaitFor.ConditionAsync(async () => (await cli.SessionsOfAsync(expiring.Username!, default)).Count == 2
                && (await cli.SessionsOfAsync(valid.Username!, default)).Count == 2, Bound,
            "both credentials' relays", () => Diagnostics(turn, expiringClient));

        var logs = new ListLogger();
        var sweeper = new TurnSessionSweeper(Options.Create(new TurnOptions
        {
            AdminAddress = "127.0.0.1", AdminPort = turn.CliPort!.Value, AdminPassword = turn.CliPassword, SweepInterval = TimeSpan.FromSeconds(1),
        }), logs);
        // Before expiry nothing is cancelled.
        Assert.Equal(0, await sweeper.SweepAsync(default));
        Assert.Equal(2, (await cli.SessionsOfAsync(expiring.Username!, default)).Count);

        // Past expiry coturn itself keeps the relay (it checked the expiry once, at the allocation)...
        long expiry = long.Parse(expiring.Username!.Split(':')[0], CultureInfo.InvariantCulture);
        await WaitFor.UntilAsync(DateTimeOffset.FromUnixTimeSeconds(expiry + 2), Bound, "the credential to expire");
        Assert.Equal(2, (await cli.SessionsOfAsync(expiring.Username!, default)).Count);

        // ...and the sweeper, running as the node runs it, ends the expired credential's relays and no other.
        await sweeper.StartAsync(default);
        try
        {
            await WaitFor.ConditionAsync(async () => (await cli.SessionsOfAsync(expiring.Username!, default)).Count == 0, Bound,
                "the expired credential's relays to be cancelled", () => Diagnostics(turn, expiringClient));
            output.WriteLine($"cancelled {DateTimeOffset.UtcNow.ToUnixTimeSeconds() - expiry} s after expiry");
        }
        finally
        {
            await sweeper.StopAsync(default);
        }

        Assert.True(DateTimeOffset.UtcNow.ToUnixTimeSeconds() >= expiry, "cancelled before its credential expired");
        Assert.Equal(2, (await cli.SessionsOfAsync(valid.Username!, default)).Count);
        Assert.Equal(2, sweeper.Cancelled);
        Assert.Contains(logs.Entries, e => e.Id == 8401 && e.Message.Contains(expiring.Username!, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_cli_password_is_a_clear_error()
    {
        await using var turn = await CoturnServer.StartAsync(settings: new CoturnSettings { AdminCli = true });
        var e = await Assert.ThrowsAsync<IOException>(() => TurnAdminCli.ConnectAsync("127.0.0.1", turn.CliPort!.Value, "not-the-password",
            TimeSpan.FromSeconds(10), default));
        Assert.Contains("refused the password", e.Message, StringComparison.Ordinal);
    }

    private static IceServer Credential(CoturnServer turn, string id, DateTimeOffset expires)
    {
        var (username, password) = TurnRestCredentials.Issue(turn.Secret, id, expires);
        return new IceServer(turn.Url("udp"), username, password);
    }

    private static Task<TurnAdminCli> ConnectAsync(CoturnServer turn) =>
        TurnAdminCli.ConnectAsync("127.0.0.1", turn.CliPort!.Value, turn.CliPassword!, TimeSpan.FromSeconds(10), default);

    /// <summary>coturn's test client: <paramref name="clients"/> pairs of UDP allocations, which stay (-h) until it is stopped.</summary>
    private static ExternalProcess Allocate(CoturnServer turn, IceServer credential, int clients) =>
        ExternalProcess.Start("turnutils_uclient",
        [
            "-h", "-c", "-n", "1", "-m", clients.ToString(CultureInfo.InvariantCulture),
            "-u", credential.Username!, "-w", credential.Credential!,
            "-e", "127.0.0.1", "-r", FreePort.Udp().ToString(CultureInfo.InvariantCulture),
            "-p", turn.Port.ToString(CultureInfo.InvariantCulture), "127.0.0.1",
        ], tailLines: 500);

    private static string Diagnostics(CoturnServer turn, ExternalProcess client) =>
        $"--- uclient ---{Environment.NewLine}{client.Output.Tail(30)}{Environment.NewLine}--- coturn ---{Environment.NewLine}{turn.Log.Tail(40)}";

    private sealed class ListLogger : ILogger<TurnSessionSweeper>
    {
        private readonly List<(int Id, string Message)> _entries = [];

        public IReadOnlyList<(int Id, string Message)> Entries
        {
            get
            {
                lock (_entries) return [.. _entries];
            }
        }

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (_entries) _entries.Add((eventId.Id, formatter(state, exception)));
        }
    }
}
