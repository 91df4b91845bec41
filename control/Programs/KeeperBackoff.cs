namespace Broadcast.Control.Programs;

/// <summary>
/// The keeper's waits after a stored program failed to start: 5 s, doubling with each failure in a row up to
/// <see cref="MaxWait"/>, so a program that cannot start (a source away, a bad layout) does not fail every pass.
/// Thread-safe: the keeper and a PUT may touch one channel at once.
/// </summary>
internal sealed class KeeperBackoff(TimeProvider time)
{
    /// <summary>The longest a stored program that failed to start waits before the keeper tries it again.</summary>
    public static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);

    // Channel id → when the keeper may try its stored program again, and how many tries failed in a row.
    private readonly Dictionary<string, (DateTimeOffset Next, int Failures)> _retry = new(StringComparer.Ordinal);

    /// <summary>Whether the channel's program failed lately and its wait is not over.</summary>
    public bool IsWaiting(string channelId)
    {
        lock (_retry) return _retry.TryGetValue(channelId, out var retry) && retry.Next > time.GetUtcNow();
    }

    /// <summary>The channel's program started (or was set anew): its next failure waits the shortest again.</summary>
    public void Forget(string channelId)
    {
        lock (_retry) _retry.Remove(channelId);
    }

    /// <summary>Counts a failure and starts its wait; answers how many failed in a row.</summary>
    public int Failed(string channelId)
    {
        lock (_retry)
        {
            int failures = (_retry.TryGetValue(channelId, out var retry) ? retry.Failures : 0) + 1;
            var wait = TimeSpan.FromSeconds(Math.Min(MaxWait.TotalSeconds, 5 * Math.Pow(2, failures - 1)));
            _retry[channelId] = (time.GetUtcNow() + wait, failures);
            return failures;
        }
    }
}
