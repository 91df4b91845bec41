using System.Globalization;

namespace Broadcast.Soak;

/// <summary>What a soak run does and the limits it checks. Defaults are bench/soak.sh's (30 min, 10 publishers, 100 clients).</summary>
public sealed record SoakOptions
{
    public int Publishers { get; init; } = 10;

    public int Clients { get; init; } = 100;

    public TimeSpan Duration { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Samples before this are not compared (JIT, pools and caches filling up).</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>The span of samples averaged at the start (after warm-up) and at the end of the run for the RSS and fd comparison.</summary>
    public TimeSpan CompareWindow { get; init; } = TimeSpan.FromMinutes(2);

    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>A publisher stays on for a random time in this range, then drops (killed, as bad Wi-Fi would).</summary>
    public TimeSpan MinOnline { get; init; } = TimeSpan.FromSeconds(20);

    public TimeSpan MaxOnline { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>...and returns after a random time in this range.</summary>
    public TimeSpan MinOffline { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxOffline { get; init; } = TimeSpan.FromSeconds(15);

    public int Seed { get; init; } = 7;

    /// <summary>Largest accepted growth of the server's RSS from the first compare window to the last.</summary>
    public double MaxRssGrowth { get; init; } = 0.05;

    /// <summary>
    /// Largest accepted rise of open descriptors from the first compare window to the last. Publishers come and go at
    /// random, so each may hold its RTMP socket in one window and not the other: the allowance is one per publisher plus a few.
    /// </summary>
    public int FdAllowance => Publishers + FdNoise;

    /// <summary>Open descriptors that come and go with the HLS clients' connections: the allowance at equal publishers online.</summary>
    public const int FdNoise = 8;

    /// <summary>Largest accepted share of failed client fetches (HTTP errors and timeouts over all playlist and segment fetches).</summary>
    public double MaxErrorRate { get; init; } = 0.005;

    /// <summary>Environment of the server process (e.g. GC settings); a null value removes a variable.</summary>
    public IReadOnlyDictionary<string, string?> ServerEnvironment { get; init; } = new Dictionary<string, string?>();

    /// <summary>Extra server switches.</summary>
    public IReadOnlyList<string> ServerArguments { get; init; } = [];

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Publishers} publishers, {Clients} HLS clients, {Duration.TotalMinutes:0.#} min (warm-up {WarmUp.TotalSeconds:0} s, compare windows {CompareWindow.TotalSeconds:0} s), " +
        $"online {MinOnline.TotalSeconds:0}-{MaxOnline.TotalSeconds:0} s, offline {MinOffline.TotalSeconds:0}-{MaxOffline.TotalSeconds:0} s, seed {Seed}");
}
