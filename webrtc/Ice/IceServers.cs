using System.Net;
using Microsoft.Extensions.Options;

namespace Broadcast.WebRtc.Ice;

/// <summary>
/// The ICE servers this node hands to WebRTC peers: the fixed ones of <c>Whep:IceServers</c> (STUN, or a TURN server with
/// long-lived credentials) to anyone, and the TURN servers of <c>Turn:*</c> with credentials issued for the asker, only to
/// someone already allowed to publish or play (a 201, a host, an admitted guest): an unauthenticated request never gets a
/// working TURN credential, so the relay is not free bandwidth for the internet.
/// </summary>
public sealed class IceServers
{
    private readonly IReadOnlyList<IceServer> _fixed;
    private readonly TurnOptions _turn;
    private readonly TimeProvider _time;
    private readonly TurnViewerIds? _viewerIds;

    public IceServers(IOptions<WhepOptions> whep, IOptions<TurnOptions> turn, TimeProvider? time = null)
    {
        _turn = turn.Value;
        _time = time ?? TimeProvider.System;
        _viewerIds = HasTurn && !string.IsNullOrEmpty(_turn.Secret) ? new TurnViewerIds(_turn.Secret) : null;
        _fixed = [.. whep.Value.IceServers.Where(s => !string.IsNullOrWhiteSpace(s.Url)).Select(s => new IceServer(s.Url.Trim(), s.Username,
            s.Credential))];
    }

    /// <summary>What anyone may be told (an OPTIONS request): the fixed servers.</summary>
    public IReadOnlyList<IceServer> Public => _fixed;

    /// <summary>Whether TURN servers with issued credentials are configured.</summary>
    public bool HasTurn => _turn.Urls.Count > 0;

    /// <summary>
    /// The fixed servers and the TURN servers with credentials issued now for <paramref name="purpose"/> (in the TURN
    /// server's log), valid <see cref="TurnOptions.CredentialLifetime"/>: a host, a guest, a WHIP encoder.
    /// </summary>
    public IReadOnlyList<IceServer> For(string purpose) => Issue(purpose, _turn.CredentialLifetime);

    /// <summary>
    /// The same for a WHEP viewer at <paramref name="client"/>, valid <see cref="TurnOptions.ViewerCredentialLifetime"/>
    /// (minutes): anyone may play a public channel, so its credential must be worth little once the session is gone. The
    /// viewer renews it with an ICE restart, which is answered with a new one while the session lasts. Its user id is the
    /// address's (<see cref="TurnViewerIds"/>), whatever the session: the TURN server's per-user quota then bounds what
    /// one address holds, not what one session does, so no number of sessions takes more relays.
    /// </summary>
    public IReadOnlyList<IceServer> ForViewer(IPAddress? client) =>
        _viewerIds is null ? _fixed : Issue(_viewerIds.Of(client), _turn.ViewerCredentialLifetime);

    private IReadOnlyList<IceServer> Issue(string purpose, TimeSpan lifetime)
    {
        if (!HasTurn) return _fixed;
        var (username, password) = TurnRestCredentials.Issue(_turn.Secret!, purpose, _time.GetUtcNow() + lifetime);
        return [.. _fixed, .. _turn.Urls.Select(url => new IceServer(url, username, password))];
    }
}
