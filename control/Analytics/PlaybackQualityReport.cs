namespace Broadcast.Control.Analytics;

/// <summary>
/// One 10 s bucket's playback quality, summed over the nodes' rows (control/API.md "Audience"). Means are the bucket's sum
/// over its count, absent when nothing was reported.
/// </summary>
public sealed record PlaybackQualityPoint(DateTimeOffset T, long Sessions, long StalledSessions, long Stalls, long Startups,
    double? MeanStartupMs, IReadOnlyList<long> StartupBins, double? MeanBitrateKbps, double? MeanThroughputKbps, long RungSwitches,
    long MalformedValues, long SessionsRefused)
{
    /// <summary>The counts behind the point, for the whole show's totals.</summary>
    internal PlaybackQualityCounts Counts { get; private init; } = PlaybackQualityCounts.Empty;

    internal static PlaybackQualityPoint Of(DateTimeOffset t, PlaybackQualityCounts q) =>
        new(t, q.Sessions, q.StalledSessions, q.Stalls, q.Startups, Mean(q.StartupMsSum, q.Startups), q.StartupBins ?? [],
            Mean(q.BitrateKbpsSum, q.BitrateSamples), Mean(q.ThroughputKbpsSum, q.ThroughputSamples), q.RungSwitches, q.MalformedValues,
            q.SessionsRefused) { Counts = q };

    internal static double? Mean(long sum, long count) => count == 0 ? null : Math.Round((double)sum / count, 1);
}

/// <summary>
/// A broadcast's playback quality from the players that send CMCD (CTA-5004), whole show and per bucket; players that send
/// none are in the audience but not here. Every figure comes from counts and sums that add across nodes and buckets:
/// <list type="bullet">
/// <item><see cref="SessionHours"/>: CMCD sessions summed over buckets, times 10 s (a session on two nodes in one bucket counts on each).</item>
/// <item><see cref="StalledShare"/>: of those session-buckets, the share in which the session reported a starvation ('bs').</item>
/// <item><see cref="CmcdViewers"/>: distinct viewers that sent CMCD over the show, each once across nodes and buckets (the
/// audience's viewers, migration 0025); <see cref="StalledViewers"/>: those of them that reported a starvation at least once;
/// <see cref="StalledViewerShare"/>: the one over the other, absent when no viewer sent CMCD.</item>
/// <item><see cref="StallsPerSessionHour"/>, <see cref="RungSwitchesPerSessionHour"/>: the counts over <see cref="SessionHours"/>.</item>
/// <item><see cref="MeanStartupMs"/>: the startups' sum over their count; <see cref="MedianStartupAtMostMs"/>: the upper bound of
/// the bin holding the median (the upper middle startup), absent when none or when it is slower than the last bound.</item>
/// <item><see cref="MeanBitrateKbps"/>: 'br' of the video media requests, averaged per request; <see cref="MeanThroughputKbps"/>:
/// 'mtp' averaged per request that carried it.</item>
/// </list>
/// The per-bucket figures count sessions per node and bucket (a bucket row cannot tell its sessions apart from another row's);
/// the viewer figures come from the audience's viewers instead, where each viewer is one row.
/// </summary>
public sealed record PlaybackQualityReport(
    long PeakSessions,
    DateTimeOffset? PeakAt,
    double SessionHours,
    double StalledShare,
    long CmcdViewers,
    long StalledViewers,
    double? StalledViewerShare,
    long Stalls,
    double StallsPerSessionHour,
    long Startups,
    double? MeanStartupMs,
    long? MedianStartupAtMostMs,
    IReadOnlyList<int> StartupBinUpperMs,
    IReadOnlyList<long> StartupBins,
    double? MeanBitrateKbps,
    double? MeanThroughputKbps,
    long RungSwitches,
    double RungSwitchesPerSessionHour,
    long MalformedValues,
    long SessionsRefused,
    IReadOnlyList<PlaybackQualityPoint> Series)
{
    /// <summary>
    /// The report of <paramref name="series"/> and the show's viewers that sent CMCD (<paramref name="cmcdViewers"/>) and
    /// stalled (<paramref name="stalledViewers"/>); null when no bucket had any CMCD and no viewer sent any.
    /// </summary>
    internal static PlaybackQualityReport? From(IReadOnlyList<PlaybackQualityPoint> series, long cmcdViewers = 0, long stalledViewers = 0)
    {
        if (series.Count == 0 && cmcdViewers == 0) return null;
        long sessions = 0, stalled = 0, stalls = 0, startups = 0, startupMs = 0, bitrates = 0, bitrateSum = 0, throughputs = 0,
            throughputSum = 0, switches = 0, malformed = 0, refused = 0;
        var bins = new long[PlaybackQualityCounts.StartupUpperMs.Count + 1];
        PlaybackQualityPoint? peak = null;
        foreach (var point in series)
        {
            var q = point.Counts;
            if (peak is null || q.Sessions > peak.Sessions) peak = point;
            sessions += q.Sessions;
            stalled += q.StalledSessions;
            stalls += q.Stalls;
            startups += q.Startups;
            startupMs += q.StartupMsSum;
            for (int i = 0; i < bins.Length && i < (q.StartupBins?.Count ?? 0); i++) bins[i] += q.StartupBins![i];
            bitrates += q.BitrateSamples;
            bitrateSum += q.BitrateKbpsSum;
            throughputs += q.ThroughputSamples;
            throughputSum += q.ThroughputKbpsSum;
            switches += q.RungSwitches;
            malformed += q.MalformedValues;
            refused += q.SessionsRefused;
        }

        double hours = sessions * (double)AudienceReport.Bucket / 3600;
        double PerHour(long count) => hours == 0 ? 0 : Math.Round(count / hours, 2);
        return new PlaybackQualityReport(peak?.Sessions ?? 0, peak is null || peak.Sessions == 0 ? null : peak.T, Math.Round(hours, 3),
            sessions == 0 ? 0 : Math.Round((double)stalled / sessions, 4), cmcdViewers, stalledViewers,
            cmcdViewers == 0 ? null : Math.Round((double)stalledViewers / cmcdViewers, 4), stalls, PerHour(stalls), startups,
            PlaybackQualityPoint.Mean(startupMs, startups), MedianBound(bins, startups), PlaybackQualityCounts.StartupUpperMs, bins,
            PlaybackQualityPoint.Mean(bitrateSum, bitrates), PlaybackQualityPoint.Mean(throughputSum, throughputs), switches, PerHour(switches),
            malformed, refused, series);
    }

    /// <summary>The upper bound of the bin holding the upper middle startup (as the audience's median watch time), if bounded.</summary>
    private static long? MedianBound(long[] bins, long count)
    {
        if (count == 0) return null;
        long seen = 0;
        for (int i = 0; i < PlaybackQualityCounts.StartupUpperMs.Count; i++)
        {
            seen += bins[i];
            if (seen > count / 2) return PlaybackQualityCounts.StartupUpperMs[i];
        }

        return null;
    }
}
