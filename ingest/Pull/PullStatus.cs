namespace Broadcast.Ingest.Pull;

/// <summary>
/// Where a pull session is: <c>starting</c> (probing, connecting) → <c>live</c> (frames flow into the hub) →
/// <c>retrying</c> (unreachable or dropped; waits with backoff, then starts again) … until <c>stopped</c> (asked to, a file played
/// once reached its end, or the server ended the broadcast) or <c>failed</c> (reachable but not media, or a missing file: not
/// retried until the source is set again).
/// </summary>
public enum PullState
{
    Starting,
    Live,
    Retrying,
    Stopped,
    Failed,
}

public static class PullStates
{
    public static string ToWire(this PullState state) => state switch
    {
        PullState.Starting => "starting",
        PullState.Live => "live",
        PullState.Retrying => "retrying",
        PullState.Stopped => "stopped",
        PullState.Failed => "failed",
        _ => throw new ArgumentOutOfRangeException(nameof(state)),
    };

    public static bool IsFinal(this PullState state) => state is PullState.Stopped or PullState.Failed;
}

/// <summary>A snapshot of one pull session.</summary>
/// <param name="Source">The source as safe to show (no stream key, token or query).</param>
/// <param name="Reason">Why it is retrying, failed or stopped (the last error, in words).</param>
/// <param name="Attempts">Attempts that did not reach media or dropped since the last stable run.</param>
/// <param name="Detail">What is copied and what is encoded, once probed.</param>
public sealed record PullStatus(
    string StreamName,
    string Source,
    PullState State,
    string? Reason,
    int Attempts,
    DateTimeOffset Since,
    DateTimeOffset? NextAttemptAt,
    string? Detail);
