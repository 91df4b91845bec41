namespace Broadcast.Control.Webhooks;

/// <summary>
/// When a failed delivery is tried again: after the first attempt fails, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
/// (the schedule Standard Webhooks' reference service uses, about 27.6 h in all), each stretched or shrunk by up to 10 %
/// at random so that the retries of many deliveries that failed together do not arrive together. Even with every delay
/// shrunk the schedule spans more than 24 h. After the last retry fails, the delivery has failed.
/// </summary>
public static class WebhookBackoff
{
    public static IReadOnlyList<TimeSpan> Schedule { get; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    /// <summary>The most a delay is stretched or shrunk: a tenth.</summary>
    public const double Jitter = 0.1;

    /// <summary>Attempts a delivery gets in all: the first and one per delay.</summary>
    public static int MaxAttempts => Schedule.Count + 1;

    /// <summary>
    /// The wait after attempt number <paramref name="attemptsMade"/> (1 for the first) failed; null when it was the last.
    /// <paramref name="random01"/> is a draw in [0, 1).
    /// </summary>
    public static TimeSpan? DelayAfter(int attemptsMade, double random01)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        if (attemptsMade > Schedule.Count) return null;
        double factor = 1 - Jitter + 2 * Jitter * Math.Clamp(random01, 0, 1);
        return TimeSpan.FromMilliseconds(Math.Round(Schedule[attemptsMade - 1].TotalMilliseconds * factor));
    }
}
