using Broadcast.Refusals;

namespace Broadcast.WebRtc;

/// <summary>Why the room, WHIP or WHEP refused a request, in their own words; each is a <see cref="RefusalKind"/>, which the
/// <see cref="RefusalBoundary"/> around their routes says in HTTP.</summary>
public enum RefusalReason
{
    /// <summary>The request itself is wrong: a malformed or unusable SDP offer, answer or fragment.</summary>
    Malformed,

    /// <summary>The credential (a participant's token) names no one.</summary>
    UnknownCredential,

    /// <summary>Known, but not allowed: not a participant of the room, banned, an invite for another room.</summary>
    Forbidden,

    /// <summary>No such channel, session, participant or guest, or the channel is not live.</summary>
    NotFound,

    /// <summary>The room or the show is full or taken, or the same thing is under way.</summary>
    Conflict,

    /// <summary>A limit of one client: its sessions, its knocks, its subscriptions, its rate.</summary>
    TooMany,

    /// <summary>Janus refused or did not answer.</summary>
    EngineFailed,

    /// <summary>This node cannot serve it now: Janus is off or not running, the node is at its cap, the channel has no picture yet.</summary>
    Unavailable,
}

/// <summary>A refused room, WHIP or WHEP request: its <see cref="RefusalReason"/> and a sentence for the client.</summary>
public sealed class WebRtcRefusal(RefusalReason reason, string detail) : Refusal(KindOf(reason), detail)
{
    public RefusalReason Reason { get; } = reason;

    public static RefusalKind KindOf(RefusalReason reason) => reason switch
    {
        RefusalReason.Malformed => RefusalKind.Invalid,
        RefusalReason.UnknownCredential => RefusalKind.Unauthorized,
        RefusalReason.Forbidden => RefusalKind.Forbidden,
        RefusalReason.NotFound => RefusalKind.NotFound,
        RefusalReason.Conflict => RefusalKind.Conflict,
        RefusalReason.TooMany => RefusalKind.TooMany,
        RefusalReason.EngineFailed => RefusalKind.EngineFailed,
        RefusalReason.Unavailable => RefusalKind.Unavailable,
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, "a refusal reason without a kind"),
    };
}

/// <summary>The HTTP status each <see cref="RefusalReason"/> is answered with: its kind's, the boundary's one mapping.</summary>
public static class RefusalHttp
{
    public static int StatusOf(RefusalReason reason) => Refusal.StatusOf(WebRtcRefusal.KindOf(reason));
}

/// <summary>The refusals by reason, for the services' <c>throw</c>s: <c>throw Refuse.NotFound("no such WHEP session")</c>.</summary>
public static class Refuse
{
    public static WebRtcRefusal Malformed(string detail) => new(RefusalReason.Malformed, detail);

    public static WebRtcRefusal UnknownCredential(string detail) => new(RefusalReason.UnknownCredential, detail);

    public static WebRtcRefusal Forbidden(string detail) => new(RefusalReason.Forbidden, detail);

    public static WebRtcRefusal NotFound(string detail) => new(RefusalReason.NotFound, detail);

    public static WebRtcRefusal Conflict(string detail) => new(RefusalReason.Conflict, detail);

    public static WebRtcRefusal TooMany(string detail) => new(RefusalReason.TooMany, detail);

    public static WebRtcRefusal EngineFailed(string detail) => new(RefusalReason.EngineFailed, detail);

    public static WebRtcRefusal Unavailable(string detail) => new(RefusalReason.Unavailable, detail);
}
