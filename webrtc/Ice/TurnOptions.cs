using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// The <c>Turn</c> configuration section: a TURN server (coturn) that relays WebRTC media for publishers and viewers whose
/// network lets no UDP through to Janus (corporate firewalls, some mobile carriers). Every participant, WHIP encoder and
/// WHEP viewer is handed these URLs with credentials of its own that expire (<see cref="TurnRestCredentials"/>); the TURN
/// server is configured with the same <see cref="Secret"/> (coturn: <c>use-auth-secret</c>, <c>static-auth-secret</c>).
/// </summary>
public sealed class TurnOptions
{
    public const string Section = "Turn";

    /// <summary>
    /// TURN URLs (RFC 7065), e.g. <c>turn:turn.example.com:3478?transport=udp</c>, <c>turn:turn.example.com:3478?transport=tcp</c>
    /// and <c>turns:turn.example.com:443?transport=tcp</c> (TLS on 443 passes the strictest firewalls). Empty: no TURN.
    /// </summary>
    public List<string> Urls { get; set; } = [];

    /// <summary>The secret shared with the TURN server (coturn's <c>static-auth-secret</c>); at least 16 characters.</summary>
    public string? Secret { get; set; }

    /// <summary>
    /// How long a handed-out credential works. The TURN server checks it at each allocation and refresh, so it must outlast
    /// the longest session (a show, a host's day in the studio); a leaked one is useless after it.
    /// </summary>
    public TimeSpan CredentialLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a WHEP viewer's credential works. Anyone may play a public channel, so a viewer's credential is short: a
    /// player renews it by restarting ICE (RFC 9725 §4.3.2: a <c>PATCH</c> whose answer carries a new one) before it
    /// expires; the watch page does so at a third of its lifetime. coturn itself keeps a relay opened before expiry (it
    /// checks the expiry only at the first authenticated request), so a relay outlives its credential unless
    /// <see cref="AdminAddress"/> lets <see cref="TurnSessionSweeper"/> end it.
    /// </summary>
    public TimeSpan ViewerCredentialLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The address (host name or IP) of the TURN server's admin CLI (coturn: <c>--cli-ip</c>), where
    /// <see cref="TurnSessionSweeper"/> ends every relay whose credential has expired. Null: no sweeping.
    /// </summary>
    public string? AdminAddress { get; set; }

    /// <summary>The admin CLI's TCP port (coturn: <c>--cli-port</c>, 5766 by default).</summary>
    public int AdminPort { get; set; } = 5766;

    /// <summary>The admin CLI's password (coturn: <c>--cli-password</c>; coturn disables a CLI without one).</summary>
    public string? AdminPassword { get; set; }

    /// <summary>How often expired credentials' relays are looked for: a relay outlives its credential by at most this.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Why these settings cannot work, or null.</summary>
    public string? Problem()
    {
        if (!string.IsNullOrWhiteSpace(AdminAddress))
        {
            if (string.IsNullOrEmpty(AdminPassword) || AdminPassword.AsSpan().IndexOfAny('\r', '\n') >= 0)
                return "Turn:AdminPassword must be set (one line, the TURN server's --cli-password) when Turn:AdminAddress is";
            if (AdminPort is < 1 or > 65535) return "Turn:AdminPort must be a TCP port (1-65535)";
            if (SweepInterval < TimeSpan.FromSeconds(1)) return "Turn:SweepInterval must be at least 1 second";
        }

        if (Urls.Count == 0) return null;
        foreach (string url in Urls)
        {
            if (!url.StartsWith("turn:", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("turns:", StringComparison.OrdinalIgnoreCase))
                return $"Turn:Urls: '{url}' is not a turn: or turns: URL (STUN servers go in Whep:IceServers)";
            if (url.AsSpan().IndexOfAny("\"<>\r\n ") >= 0) return $"Turn:Urls: '{url}' has a character a URL cannot have";
        }

        if (string.IsNullOrEmpty(Secret) || Secret.Length < 16)
            return "Turn:Secret must be set (at least 16 characters, the TURN server's static-auth-secret) when Turn:Urls is";
        if (CredentialLifetime <= TimeSpan.Zero) return "Turn:CredentialLifetime must be positive";
        // The watch page renews at a third of the lifetime, at most once every ten seconds.
        if (ViewerCredentialLifetime < TimeSpan.FromSeconds(30)) return "Turn:ViewerCredentialLifetime must be at least 30 seconds";
        return null;
    }
}

/// <summary>Refuses to start a node whose TURN settings cannot work (a URL that is not TURN, no secret), naming the key.</summary>
public sealed class TurnOptionsValidator : IValidateOptions<TurnOptions>
{
    public ValidateOptionsResult Validate(string? name, TurnOptions options) =>
        options?.Problem() is { } problem ? ValidateOptionsResult.Fail(problem) : ValidateOptionsResult.Success;
}
