using Broadcast.Origin;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Broadcast.WebRtc.Whep;

/// <summary>
/// A WHEP session lasts no longer than what admitted it. HLS and DASH ask for the playback token on every request and chat
/// closes its connection when the token expires; a WebRTC session asks once, at its offer, and then streams. So every
/// <see cref="Interval"/> each session is checked again against what this node knows now (<see cref="IPlaybackAccess"/>):
/// a session whose token has expired, whose signing key was rotated out, or whose channel turned private (a session
/// admitted without a token) is ended, and its viewer's PeerConnection with it. The check is the origin's own (an HMAC
/// per private session, nothing for a public one), so its cost is a few microseconds a session a second.
/// </summary>
public sealed partial class WhepAuthorizationWatch(WhepService whep, IPlaybackAccess? access, ILogger<WhepAuthorizationWatch> logger,
    TimeProvider? time = null)
    : BackgroundService
{
    /// <summary>How often the sessions are checked: a session ends at most this long after its authorisation did.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>Sessions ended here so far (for tests and status).</summary>
    public long Ended => Interlocked.Read(ref _ended);

    private long _ended;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Without an access policy every channel is public: there is nothing to take back.
        if (access is null) return;
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false)) await CheckAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over the sessions: those no longer authorised are ended.</summary>
    public async Task CheckAsync()
    {
        if (access is null) return;
        foreach (var grant in whep.Grants())
        {
            if (WhyRevoked(access, grant) is not { } reason) continue;
            if (!await whep.EndAsync(grant.Channel, grant.Id, reason).ConfigureAwait(false)) continue;
            Interlocked.Increment(ref _ended);
            LogRevoked(grant.Channel, grant.Id, reason);
        }
    }

    /// <summary>Why <paramref name="grant"/> no longer plays, or null while it does.</summary>
    public static string? WhyRevoked(IPlaybackAccess access, WhepSessionGrant grant)
    {
        ArgumentNullException.ThrowIfNull(access);
        // A node that does not know yet which channels are private admits nobody, so it has no session to judge.
        if (!access.IsReady || !access.IsPrivate(grant.Channel)) return null;
        if (grant.PlaybackToken is null) return "the channel turned private";
        return access.IsAuthorized(grant.Channel, grant.PlaybackToken, grant.Client, out _) ? null : "its playback token expired or was revoked";
    }

    [LoggerMessage(EventId = 8212, Level = LogLevel.Information, Message = "WHEP {Channel}: session {SessionId} ended: {Reason}")]
    private partial void LogRevoked(string channel, string sessionId, string reason);
}
