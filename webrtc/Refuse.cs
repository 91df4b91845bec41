using Broadcast.Refusals;

namespace Broadcast.WebRtc;

/// <summary>The room's, WHIP's and WHEP's refusals, by kind, for the services' <c>throw</c>s:
/// <c>throw Refuse.NotFound("no such WHEP session")</c>. Each is the one <see cref="Refusal"/> type, which the
/// <see cref="RefusalBoundary"/> around their routes says in HTTP.</summary>
public static class Refuse
{
    /// <summary>The request itself is wrong: a malformed or unusable SDP offer, answer or fragment.</summary>
    public static Refusal Malformed(string detail) => new(RefusalKind.Invalid, detail);

    /// <summary>The credential (a participant's token) names no one.</summary>
    public static Refusal UnknownCredential(string detail) => new(RefusalKind.Unauthorized, detail);

    /// <summary>Known, but not allowed: not a participant of the room, banned, an invite for another room.</summary>
    public static Refusal Forbidden(string detail) => new(RefusalKind.Forbidden, detail);

    /// <summary>No such channel, session, participant or guest, or the channel is not live.</summary>
    public static Refusal NotFound(string detail) => new(RefusalKind.NotFound, detail);

    /// <summary>The room or the show is full or taken, or the same thing is under way.</summary>
    public static Refusal Conflict(string detail) => new(RefusalKind.Conflict, detail);

    /// <summary>A limit of one client: its sessions, its knocks, its subscriptions, its rate.</summary>
    public static Refusal TooMany(string detail) => new(RefusalKind.TooMany, detail);

    /// <summary>Janus refused or did not answer.</summary>
    public static Refusal EngineFailed(string detail) => new(RefusalKind.EngineFailed, detail);

    /// <summary>This node cannot serve it now: Janus is off or not running, the node is at its cap, the channel has no picture yet.</summary>
    public static Refusal Unavailable(string detail) => new(RefusalKind.Unavailable, detail);
}
