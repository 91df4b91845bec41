namespace Broadcast.Processes;

/// <summary>
/// The restart policy of a long-running child (the transcode, a pull): wait <see cref="Initial"/> after a failure, doubled per
/// further failure up to <see cref="Max"/>; a run that stayed up <see cref="StableAfter"/> or longer starts over from the initial wait.
/// </summary>
public sealed class RestartBackoff(TimeSpan initial, TimeSpan max, TimeSpan stableAfter)
{
    private TimeSpan _next = initial;

    /// <summary>The stable-run length both long-running users apply.</summary>
    public static readonly TimeSpan DefaultStableAfter = TimeSpan.FromSeconds(30);

    public RestartBackoff(TimeSpan initial, TimeSpan max)
        : this(initial, max, DefaultStableAfter)
    {
    }

    public TimeSpan Initial { get; } = initial;

    public TimeSpan Max { get; } = max;

    /// <summary>A run that stayed up this long resets the backoff.</summary>
    public TimeSpan StableAfter { get; } = stableAfter;

    /// <summary>The wait before the next start, given how long the last run stayed up; grows for the one after.</summary>
    public TimeSpan Next(TimeSpan lastRunLasted)
    {
        if (lastRunLasted >= StableAfter) Reset();
        var wait = _next;
        _next = TimeSpan.FromTicks(Math.Min(_next.Ticks * 2, Max.Ticks));
        return wait < Max ? wait : Max;
    }

    /// <summary>The next failure waits the initial time again (a deliberate restart is not a failure).</summary>
    public void Reset() => _next = Initial;
}
