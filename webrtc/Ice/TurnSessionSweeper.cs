using System.Globalization;
using System.Net.Sockets;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// Ends TURN relays whose credential has expired. coturn checks a REST credential's expiry only when it derives the
/// session's key (the first authenticated request); after that it checks each REFRESH, CreatePermission and ChannelBind
/// against the cached key alone (<c>hmackey_set</c> in <c>check_stun_auth</c>, <c>src/server/ns_turn_server.c</c>, 4.6.1
/// and 4.7.0), so a relay opened before expiry can be refreshed forever. coturn has no setting for that; its admin CLI can
/// end a session. So every <see cref="TurnOptions.SweepInterval"/> this asks the CLI for the users with sessions, and
/// cancels every session of a user whose username (a REST credential: <c>EXPIRY:ID</c>) has expired: a relay outlives its
/// credential by at most one interval. Off unless <see cref="TurnOptions.AdminAddress"/> is set; any number of nodes may
/// sweep the same TURN server (cancelling is idempotent).
/// </summary>
public sealed partial class TurnSessionSweeper(IOptions<TurnOptions> options, ILogger<TurnSessionSweeper> logger, TimeProvider? time = null)
    : BackgroundService
{
    /// <summary>Sessions cancelled in one sweep at most; the rest wait for the next.</summary>
    internal const int MaxCancelsPerSweep = 1000;

    private readonly TurnOptions _options = options.Value;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private bool _failing;

    /// <summary>Sessions cancelled so far (tests, status).</summary>
    public long Cancelled => Interlocked.Read(ref _cancelled);

    private long _cancelled;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrWhiteSpace(_options.AdminAddress)) return;
        using var timer = new PeriodicTimer(_options.SweepInterval, _time);
        try
        {
            do
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                    if (_failing) LogReachable(Endpoint);
                    _failing = false;
                }
                catch (Exception e) when (e is IOException or SocketException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    // Once per outage, not once per interval.
                    if (!_failing) LogUnreachable(Endpoint, e.Message);
                    _failing = true;
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private string Endpoint => string.Create(CultureInfo.InvariantCulture, $"{_options.AdminAddress}:{_options.AdminPort}");

    /// <summary>One sweep: every session of every user whose credential has expired is cancelled; returns how many.</summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(_options.AdminAddress)) return 0;
        // A sweep never runs into the next: the CLI answers in milliseconds, so this bound only ends a stuck one.
        var timeout = _options.SweepInterval < TimeSpan.FromSeconds(10) ? TimeSpan.FromSeconds(10) : _options.SweepInterval;
        await using var cli = await TurnAdminCli.ConnectAsync(_options.AdminAddress, _options.AdminPort, _options.AdminPassword ?? "", timeout,
            cancellationToken).ConfigureAwait(false);
        long now = _time.GetUtcNow().ToUnixTimeSeconds();
        int cancelled = 0;
        foreach (string user in await cli.UsersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (ExpiryOf(user) is not { } expiry || expiry >= now) continue;
            var sessions = await cli.SessionsOfAsync(user, cancellationToken).ConfigureAwait(false);
            foreach (string session in sessions)
            {
                if (cancelled == MaxCancelsPerSweep) return cancelled;
                await cli.CancelAsync(session, cancellationToken).ConfigureAwait(false);
                cancelled++;
                Interlocked.Increment(ref _cancelled);
            }

            if (sessions.Count > 0) LogCancelled(sessions.Count, user, now - expiry);
        }

        return cancelled;
    }

    /// <summary>
    /// The expiry (Unix seconds) of a username this node issues (<see cref="TurnRestCredentials"/>: digits, a colon, an id
    /// of letters, digits, '.', '_' and '-'), or null for any other: only our own credentials are judged.
    /// </summary>
    internal static long? ExpiryOf(string username)
    {
        int colon = username.IndexOf(':', StringComparison.Ordinal);
        if (colon is < 1 or > 19 || colon == username.Length - 1) return null;
        foreach (char c in username.AsSpan(colon + 1))
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-')) return null;
        return long.TryParse(username.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out long expiry) ? expiry : null;
    }

    [LoggerMessage(EventId = 8401, Level = LogLevel.Information,
        Message = "TURN: cancelled {Count} relay session(s) of {Username}: its credential expired {AgoSeconds} s ago")]
    private partial void LogCancelled(int count, string username, long agoSeconds);

    [LoggerMessage(EventId = 8402, Level = LogLevel.Warning,
        Message = "TURN: the admin CLI at {Endpoint} cannot be used, so relays with expired credentials are not ended: {Reason}")]
    private partial void LogUnreachable(string endpoint, string reason);

    [LoggerMessage(EventId = 8403, Level = LogLevel.Information, Message = "TURN: the admin CLI at {Endpoint} answers again")]
    private partial void LogReachable(string endpoint);
}
