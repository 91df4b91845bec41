namespace Broadcast.Network.Outbound;

public enum OutboundVerdict
{
    Allowed,
    Refused,

    /// <summary>The name did not resolve: nothing can be connected to now (not a refusal; it may resolve later).</summary>
    HostNotFound,
}

/// <summary>Which rule refused a URL.</summary>
public enum OutboundRefusal
{
    None,

    /// <summary>A scheme other than rtmp, rtmps, srt, http, https (file:, concat:, subfile:, pipe:, udp:, …).</summary>
    Scheme,

    /// <summary>No host, no port where one is needed, a backslash, a port out of range.</summary>
    Malformed,

    /// <summary>The URL would make the server listen or bind (srt <c>mode=listener</c>/<c>rendezvous</c>, <c>listen=1</c>).</summary>
    Listener,

    /// <summary>A URL option that is not on the list of known caller-side options.</summary>
    Option,

    /// <summary>A port below 1024 other than 80 and 443.</summary>
    Port,

    /// <summary>An address that is not public (see <see cref="AddressKind"/>).</summary>
    Address,
}

/// <summary>The policy's answer: allowed, or refused with the rule and a short reason in words.</summary>
public sealed record OutboundDecision(OutboundVerdict Verdict, OutboundRefusal Refusal, string Reason, AddressKind? Address = null)
{
    public static OutboundDecision Allowed { get; } = new(OutboundVerdict.Allowed, OutboundRefusal.None, "allowed");

    public static OutboundDecision NotFound { get; } = new(OutboundVerdict.HostNotFound, OutboundRefusal.None, "host not found");

    public bool IsAllowed => Verdict == OutboundVerdict.Allowed;

    public static OutboundDecision Refuse(OutboundRefusal refusal, string reason, AddressKind? address = null) =>
        new(OutboundVerdict.Refused, refusal, reason, address);

    /// <summary>The short form a status shows: "refused by outbound policy: the host resolves to a private address".</summary>
    public string Describe() => Verdict switch
    {
        OutboundVerdict.Allowed => "allowed",
        OutboundVerdict.HostNotFound => "host not found",
        _ => "refused by outbound policy: " + Reason,
    };
}
