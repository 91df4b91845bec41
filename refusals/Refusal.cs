namespace Broadcast.Refusals;

/// <summary>What kind of "no" a refusal is; each is one HTTP status at the boundary (<see cref="Refusal.StatusOf"/>).</summary>
public enum RefusalKind
{
    /// <summary>The request itself is wrong: a field (named when known), a malformed body or SDP. 400.</summary>
    Invalid,

    /// <summary>The credential names no one. 401.</summary>
    Unauthorized,

    /// <summary>Known, but not allowed. 403.</summary>
    Forbidden,

    /// <summary>No such thing (a channel, a session, a participant). 404.</summary>
    NotFound,

    /// <summary>Valid, but in conflict with the current state (taken, full, on air, ended). 409.</summary>
    Conflict,

    /// <summary>A limit of one client: its sessions, its rate. 429.</summary>
    TooMany,

    /// <summary>A part of this node behind the request (Janus) refused, failed or did not answer. 502.</summary>
    EngineFailed,

    /// <summary>This node cannot serve it now (a part off or not running, a cap reached, nothing to serve yet). 503.</summary>
    Unavailable,
}

/// <summary>
/// A refused request, in the domain's words: its <see cref="Kind"/>, the request field it is about when the refusing code
/// knows it, and a sentence for the client (<see cref="Exception.Message"/>). Domain code throws it (or a type derived
/// from it) with the field it knows; the one <see cref="RefusalBoundary"/> around every route writes it as problem+json.
/// </summary>
public class Refusal : Exception
{
    private readonly IReadOnlyDictionary<string, string[]>? _errors;

    public Refusal(RefusalKind kind, string detail, string? field = null, string? title = null)
        : this(kind, detail, field, title, inner: null)
    {
    }

    public Refusal(RefusalKind kind, string detail, string? field, string? title, Exception? inner) : base(detail, inner)
    {
        Kind = kind;
        Field = field;
        Title = title;
    }

    /// <summary>An invalid request with messages per field (camelCase, as the request names them).</summary>
    public Refusal(IReadOnlyDictionary<string, string[]> errors, string message, string? title = null) : base(message)
    {
        ArgumentNullException.ThrowIfNull(errors);
        Kind = RefusalKind.Invalid;
        Title = title;
        _errors = errors;
    }

    public RefusalKind Kind { get; }

    /// <summary>The request field the refusal is about, when the refusing code knows it.</summary>
    public string? Field { get; }

    /// <summary>The problem's title; null: the status's reason phrase (validation problems: ASP.NET Core's default).</summary>
    public string? Title { get; }

    /// <summary>Messages per field of an invalid request: the ones given, or <see cref="Field"/> with the message; else null.</summary>
    public IReadOnlyDictionary<string, string[]>? Errors => _errors
        ?? (Kind == RefusalKind.Invalid && Field is { } name ? new Dictionary<string, string[]> { [name] = [Message] } : null);

    public int Status => StatusOf(Kind);

    public static int StatusOf(RefusalKind kind) => kind switch
    {
        RefusalKind.Invalid => 400,
        RefusalKind.Unauthorized => 401,
        RefusalKind.Forbidden => 403,
        RefusalKind.NotFound => 404,
        RefusalKind.Conflict => 409,
        RefusalKind.TooMany => 429,
        RefusalKind.EngineFailed => 502,
        RefusalKind.Unavailable => 503,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "a refusal kind without an HTTP status"),
    };

    /// <summary>The request's <paramref name="field"/> is wrong: <paramref name="message"/> says how.</summary>
    public static Refusal Invalid(string field, string message, string? title = null) => new(RefusalKind.Invalid, message, field, title);
}
