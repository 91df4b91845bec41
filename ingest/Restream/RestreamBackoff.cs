namespace Broadcast.Ingest.Restream;

/// <summary>
/// Reconnect delays: exponential from <see cref="Initial"/> doubling to <see cref="Max"/>, each scaled by a random
/// factor in [1 - <see cref="Jitter"/>, 1] so destinations that failed together do not retry in lockstep.
/// </summary>
public sealed record RestreamBackoff(TimeSpan Initial, TimeSpan Max, double Jitter = 0.25)
{
    public static RestreamBackoff Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>The delay before attempt <paramref name="failures"/> + 1, after <paramref name="failures"/> (≥ 1) failures in a row.</summary>
    public TimeSpan Delay(int failures, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        int exponent = Math.Clamp(failures - 1, 0, 30);
        double ceiling = Math.Min(Max.TotalMilliseconds, Initial.TotalMilliseconds * Math.Pow(2, exponent));
        double factor = 1 - Math.Clamp(Jitter, 0, 1) * random.NextDouble();
        return TimeSpan.FromMilliseconds(Math.Max(0, ceiling * factor));
    }
}
