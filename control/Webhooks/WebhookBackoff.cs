using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Broadcast.Control.Webhooks;

/// <summary>
/// When a failed delivery is tried again: after the first attempt fails, each delay of <see cref="Schedule"/> in turn, each
/// stretched or shrunk by up to 10 % at random so that the retries of many deliveries that failed together do not arrive
/// together. After the last retry fails, the delivery has failed. The default (<see cref="DefaultSchedule"/>) is 5 s,
/// 5 min, 30 min, 2 h, 5 h, 10 h and 10 h, the schedule Standard Webhooks' reference service uses (about 27.6 h in all):
/// even with every delay shrunk it spans more than 24 h. An operator may set another with <c>Webhooks:RetryDelays</c>
/// (<see cref="From"/>).
/// </summary>
public sealed class WebhookBackoff
{
    public const string SectionName = "Webhooks";

    /// <summary>The most delays a schedule may have: a receiver is not hammered by a long list of short ones.</summary>
    public const int MaxDelays = 20;

    /// <summary>The longest one delay may be: finished deliveries are kept 7 days (<see cref="WebhookDeliveryWorker.Retention"/>).</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(7);

    public static IReadOnlyList<TimeSpan> DefaultSchedule { get; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2), TimeSpan.FromHours(5),
        TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    public static WebhookBackoff Default { get; } = new(DefaultSchedule);

    /// <summary>The most a delay is stretched or shrunk: a tenth.</summary>
    public const double Jitter = 0.1;

    public WebhookBackoff(IReadOnlyList<TimeSpan> schedule)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (schedule.Count is < 1 or > MaxDelays)
            throw new ArgumentOutOfRangeException(nameof(schedule), $"a retry schedule has 1 to {MaxDelays} delays, not {schedule.Count}");
        foreach (var delay in schedule)
        {
            if (delay <= TimeSpan.Zero || delay > MaxDelay)
                throw new ArgumentOutOfRangeException(nameof(schedule), $"a retry delay is more than 0 and at most {MaxDelay.TotalDays} days, not {delay}");
        }
        Schedule = [.. schedule];
    }

    /// <summary>The delays after the first attempt, in order.</summary>
    public IReadOnlyList<TimeSpan> Schedule { get; }

    /// <summary>Attempts a delivery gets in all: the first and one per delay.</summary>
    public int MaxAttempts => Schedule.Count + 1;

    /// <summary>The retries' whole span, each delay at its nominal length.</summary>
    public TimeSpan Span => Schedule.Aggregate(TimeSpan.Zero, (sum, delay) => sum + delay);

    /// <summary>
    /// The wait after attempt number <paramref name="attemptsMade"/> (1 for the first) failed; null when it was the last.
    /// <paramref name="random01"/> is a draw in [0, 1).
    /// </summary>
    public TimeSpan? DelayAfter(int attemptsMade, double random01)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attemptsMade, 1);
        if (attemptsMade > Schedule.Count) return null;
        double factor = 1 - Jitter + 2 * Jitter * Math.Clamp(random01, 0, 1);
        return TimeSpan.FromMilliseconds(Math.Round(Schedule[attemptsMade - 1].TotalMilliseconds * factor));
    }

    /// <summary>
    /// <c>Webhooks:RetryDelays</c>: a comma list of durations (<c>5s,5m,30m,2h,5h,10h,10h</c>; units <c>ms</c>, <c>s</c>,
    /// <c>m</c>, <c>h</c>, <c>d</c>, or a <c>hh:mm:ss</c> time span), or the same as an array of entries; unset: the
    /// default. 1 to <see cref="MaxDelays"/> delays, each more than 0 and at most <see cref="MaxDelay"/>; anything else
    /// stops the start with an error naming the key.
    /// </summary>
    public static WebhookBackoff From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName).GetSection("RetryDelays");
        var texts = section.Value is { } list
            ? list.Split(',', StringSplitOptions.TrimEntries)
            : section.GetChildren().Select(c => c.Value ?? "").ToArray();
        if (texts.Length == 0 || (texts.Length == 1 && texts[0].Length == 0)) return Default;
        if (texts.Length > MaxDelays)
            throw new InvalidOperationException($"{SectionName}:RetryDelays has {texts.Length} delays; at most {MaxDelays}.");
        var delays = new TimeSpan[texts.Length];
        for (int i = 0; i < texts.Length; i++)
        {
            if (!TryParseDelay(texts[i], out delays[i]) || delays[i] <= TimeSpan.Zero || delays[i] > MaxDelay)
                throw new InvalidOperationException(
                    $"{SectionName}:RetryDelays entry '{texts[i]}' must be a duration more than 0 and at most {MaxDelay.TotalDays} days, e.g. 5s, 5m, 2h or 00:05:00.");
        }
        return new WebhookBackoff(delays);
    }

    private static bool TryParseDelay(string text, out TimeSpan delay)
    {
        delay = default;
        if (text.Length == 0) return false;
        if (text.Contains(':', StringComparison.Ordinal)) return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out delay);
        (string number, double unitMs) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.OrdinalIgnoreCase) => (text[..^2], 1.0),
            _ when text.EndsWith('s') || text.EndsWith('S') => (text[..^1], 1_000.0),
            _ when text.EndsWith('m') || text.EndsWith('M') => (text[..^1], 60_000.0),
            _ when text.EndsWith('h') || text.EndsWith('H') => (text[..^1], 3_600_000.0),
            _ when text.EndsWith('d') || text.EndsWith('D') => (text[..^1], 86_400_000.0),
            _ => ("", 0.0),
        };
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            return false;
        double ms = value * unitMs;
        if (ms > MaxDelay.TotalMilliseconds * 2) return false;
        delay = TimeSpan.FromMilliseconds(Math.Round(ms));
        return true;
    }
}
