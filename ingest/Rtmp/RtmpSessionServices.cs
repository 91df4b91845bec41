using Broadcast.Ingest.Rtmp.Receive;
using Broadcast.Media;
using Microsoft.Extensions.Logging;

namespace Broadcast.Ingest.Rtmp;

/// <summary>
/// What every RTMP session of one listener shares: the listener's settings and the node's services, made once by
/// <see cref="RtmpServer"/> when it starts, so a session is made from this and its own connection alone.
/// </summary>
/// <param name="Memory">What all RTMP connections may hold together (Rtmp:MemoryBudgetTotal, shared with RTMPS).</param>
internal sealed record RtmpSessionServices(RtmpOptions Options, LiveStreamRegistry Registry, IPublishAuthorizer Authorizer,
    RtmpAdmission Admission, RtmpMemoryBudget Memory, ILogger Logger)
{
    /// <summary>
    /// Wraps the socket before the RTMP handshake (RTMPS: TLS, the only transport, so the publish's protocol is
    /// <c>rtmps</c>); null runs RTMP on the socket itself.
    /// </summary>
    public IRtmpTransport? Transport { get; init; }

    /// <summary>The listener's receive loops, which read a plain socket; null (or a transport) reads on a thread of the connection's own.</summary>
    public ReceiveLoops? ReceiveLoops { get; init; }

    /// <summary>How long a dropped publish waits for its encoder (<see cref="IngestOptions.ReconnectGraceSeconds"/>); zero ends it at once.</summary>
    public TimeSpan ReconnectGrace { get; init; }

    /// <summary>How long a connected publisher of the same key may be silent before a new one takes its channel
    /// (<see cref="IngestOptions.TakeoverSilenceMilliseconds"/>; zero: never).</summary>
    public TimeSpan TakeoverSilence { get; init; }

    /// <summary>How the encoder comes in, as <see cref="LiveStream.Protocol"/> says it: <c>rtmp</c>, or <c>rtmps</c> over TLS.</summary>
    public string Protocol => Transport is null ? "rtmp" : "rtmps";
}
