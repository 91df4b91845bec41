namespace Broadcast.Processes;

/// <summary>
/// Keeps a long-running child going: runs one attempt (start the child, use it, see how it ended), then, as the attempt's
/// <see cref="RunVerdict"/> says, stops, starts again at once, or waits the <see cref="RestartBackoff"/>'s next wait first.
/// The attempt owns its <see cref="SupervisedProcess"/>; the loop owns only the pacing.
/// </summary>
public static class RestartLoop
{
    /// <param name="runOnce">One attempt; its verdict decides what follows.</param>
    /// <param name="beforeWait">Told the wait (and the verdict) before a backoff wait starts: status and logging.</param>
    /// <exception cref="OperationCanceledException">When <paramref name="cancellationToken"/> is cancelled during a wait.</exception>
    public static async Task RunAsync(Func<CancellationToken, Task<RunVerdict>> runOnce, RestartBackoff backoff,
        Action<TimeSpan, RunVerdict>? beforeWait,
        TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runOnce);
        ArgumentNullException.ThrowIfNull(backoff);
        ArgumentNullException.ThrowIfNull(time);
        while (!cancellationToken.IsCancellationRequested)
        {
            var verdict = await runOnce(cancellationToken).ConfigureAwait(false);
            if (verdict.Next == RunNext.Stop || cancellationToken.IsCancellationRequested) return;
            if (verdict.Next == RunNext.RestartNow)
            {
                if (verdict.ResetBackoff) backoff.Reset();
                continue;
            }
            var wait = backoff.Next(verdict.Lasted);
            beforeWait?.Invoke(wait, verdict);
            await Task.Delay(wait, time, cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>What follows a run.</summary>
public enum RunNext
{
    /// <summary>Done for good: the input ended, the owner stopped it, or it failed in a way another try cannot fix.</summary>
    Stop,

    /// <summary>Start again without waiting: a deliberate restart (fewer rungs, a new publish), not a failure.</summary>
    RestartNow,

    /// <summary>It failed (crashed, hung, unreachable): start again after the backoff's wait.</summary>
    RestartAfterBackoff,
}

/// <summary>An attempt's verdict on how it ended.</summary>
/// <param name="Lasted">How long the run stayed up (a long one resets the backoff).</param>
/// <param name="Reason">Why, for the status and the log.</param>
/// <param name="ResetBackoff">With <see cref="RunNext.RestartNow"/>: the next failure waits the initial time again.</param>
public readonly record struct RunVerdict(RunNext Next, TimeSpan Lasted = default, string? Reason = null, bool ResetBackoff = false)
{
    public static RunVerdict Stop => new(RunNext.Stop);

    public static RunVerdict RestartNow(bool resetBackoff) => new(RunNext.RestartNow, ResetBackoff: resetBackoff);

    public static RunVerdict Failed(TimeSpan lasted, string reason) => new(RunNext.RestartAfterBackoff, lasted, reason);

    /// <summary>
    /// The verdict of one attempt that says how it ended as text: "" when its input ended (start again at once, the
    /// backoff reset: a new input is not a failure), else why it failed (start again after the backoff, counting how
    /// long it lasted); cancelled by <paramref name="cancellationToken"/>, stop.
    /// </summary>
    public static async Task<RunVerdict> OfAttemptAsync(Func<CancellationToken, Task<string>> attempt, TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(time);
        long started = time.GetTimestamp();
        string reason;
        try { reason = await attempt(cancellationToken).ConfigureAwait(false); }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { return Stop; }
        return reason.Length == 0 ? RestartNow(resetBackoff: true) : Failed(time.GetElapsedTime(started), reason);
    }
}
