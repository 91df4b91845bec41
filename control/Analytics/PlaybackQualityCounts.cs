namespace Broadcast.Control.Analytics;

/// <summary>
/// What the players that send CMCD (CTA-5004) said about one broadcast on one playback node in one 10 s bucket, as counts
/// and sums only: rows of several nodes and buckets add up to their whole, which medians would not. Kept beside the
/// audience (migration 0024), carried by an origin-only node's post as <c>quality</c>, reported by <see cref="PlaybackQualityReport"/>.
/// Nothing here is a raw CMCD value or an address: the origin reduced each request to these numbers.
/// </summary>
/// <param name="Sessions">CMCD sessions that made a request in the bucket (a session is the player's 'sid', else its client key).</param>
/// <param name="StalledSessions">Of those, the ones that reported a buffer starvation ('bs') in the bucket.</param>
/// <param name="Stalls">Requests carrying 'bs': each one starvation since that session's previous request.</param>
/// <param name="Startups">Sessions whose first media object the node served in the bucket.</param>
/// <param name="StartupMsSum">Their startup times added, ms (each: the session's first request to its first media object).</param>
/// <param name="StartupBins">Those startups per <see cref="StartupUpperMs"/> bin, then one for the slower ones.</param>
/// <param name="BitrateSamples">Video or muxed media requests that carried 'br'.</param>
/// <param name="BitrateKbpsSum">Their 'br' added, kbps.</param>
/// <param name="ThroughputSamples">Requests that carried 'mtp'.</param>
/// <param name="ThroughputKbpsSum">Their 'mtp' added, kbps.</param>
/// <param name="RungSwitches">Changes of a session's video 'br' between its consecutive video requests.</param>
/// <param name="MalformedValues">CMCD values the origin dropped as malformed.</param>
/// <param name="SessionsRefused">Requests of sessions not tracked because the channel's CMCD table was full.</param>
public sealed record PlaybackQualityCounts(long Sessions, long StalledSessions, long Stalls, long Startups, long StartupMsSum,
    IReadOnlyList<long>? StartupBins, long BitrateSamples, long BitrateKbpsSum, long ThroughputSamples, long ThroughputKbpsSum,
    long RungSwitches, long MalformedValues, long SessionsRefused)
{
    /// <summary>The startup bins' upper bounds, ms, inclusive (the origin's <c>CmcdStartup.UpperMs</c>); one more bin is open.</summary>
    public static readonly IReadOnlyList<int> StartupUpperMs = [500, 1000, 2000, 4000, 8000];

    /// <summary>The most any count may say: far above a node's tables' caps, far below a sum's overflow.</summary>
    public const long MaxCount = 1_000_000_000;

    /// <summary>The largest CMCD integer the origin reads (nine digits, <c>CmcdReader</c>): a sum is at most its count times this.</summary>
    public const long MaxValue = 999_999_999;

    /// <summary>An empty bucket's quality (nothing said).</summary>
    public static PlaybackQualityCounts Empty => new(0, 0, 0, 0, 0, new long[StartupUpperMs.Count + 1], 0, 0, 0, 0, 0, 0, 0);

    /// <summary>
    /// Why these numbers cannot be one node's bucket, as the JSON field at fault and a sentence; null when they can. Each
    /// count is 0..<see cref="MaxCount"/>, a part never exceeds its whole, a sum never exceeds its count times the largest value.
    /// </summary>
    public (string Field, string Message)? Problem()
    {
        (string, long)[] counts =
        [
            ("sessions", Sessions), ("stalledSessions", StalledSessions), ("stalls", Stalls), ("startups", Startups),
            ("bitrateSamples", BitrateSamples), ("throughputSamples", ThroughputSamples), ("rungSwitches", RungSwitches),
            ("malformedValues", MalformedValues), ("sessionsRefused", SessionsRefused),
        ];
        foreach (var (name, value) in counts)
        {
            if (value is < 0 or > MaxCount) return (name, $"A count from 0 to {MaxCount}.");
        }

        if (StalledSessions > Sessions) return ("stalledSessions", "At most the sessions.");
        if (Startups > Sessions) return ("startups", "At most the sessions.");
        if (StartupBins is not { } bins || bins.Count != StartupUpperMs.Count + 1)
            return ("startupBins", $"{StartupUpperMs.Count + 1} counts: startups of at most {string.Join(", ", StartupUpperMs)} ms, then slower.");
        long binned = 0;
        foreach (long bin in bins)
        {
            if (bin < 0) return ("startupBins", "Counts are never negative.");
            binned += bin;
        }

        if (binned != Startups) return ("startupBins", "The bins add up to the startups.");
        // A startup is a time the origin measured (an int of ms), the others are CMCD integers.
        if (Sum(StartupMsSum, Startups, int.MaxValue) is { } startup) return ("startupMsSum", startup);
        if (Sum(BitrateKbpsSum, BitrateSamples, MaxValue) is { } bitrate) return ("bitrateKbpsSum", bitrate);
        if (Sum(ThroughputKbpsSum, ThroughputSamples, MaxValue) is { } throughput) return ("throughputKbpsSum", throughput);
        return null;
    }

    private static string? Sum(long sum, long count, long largest) =>
        sum < 0 || sum > count * largest ? $"A sum from 0 to its count times {largest}." : null;
}
