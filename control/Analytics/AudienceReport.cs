using System.Globalization;
using System.Text;

namespace Broadcast.Control.Analytics;

/// <summary>
/// One 10 s bucket of a broadcast: its viewers summed over the playback nodes' rows (one row per node and bucket), by
/// delivery, the requests from viewers beyond a node's cap (<c>uncounted</c>, not in <see cref="Viewers"/>), and the media
/// requests the origins failed: <see cref="NotFound"/> (404: a playlist, MPD, segment or part not there) and
/// <see cref="Unavailable"/> (503: the store unreadable, or a blocking reload that timed out); and its viewers by rung
/// (<see cref="Rungs"/>, absent when no viewer's rung was known in the bucket).
/// </summary>
public sealed record AudiencePoint(DateTimeOffset T, long Viewers, long Hls, long LowLatencyHls, long Dash, long Uncounted, long Whep = 0,
    long NotFound = 0, long Unavailable = 0, IReadOnlyDictionary<string, long>? Rungs = null);

/// <summary>A delivery's share of a broadcast: its peak concurrent viewers and the viewers whose latest delivery it was.</summary>
public sealed record AudienceDelivery(long PeakViewers, long Viewers);

/// <summary>
/// What a broadcast's audience was: concurrent viewers over time, the peak and when, unique viewers, minutes watched (each
/// viewer's last bucket less its first, plus the bucket), average and median watch time, and the split by delivery; the
/// playback quality its CMCD players reported (<see cref="Quality"/>, absent when none sent CMCD); and the media requests
/// the origins failed over the show (<see cref="NotFound"/>, <see cref="Unavailable"/>: see <see cref="AudiencePoint"/>); and the
/// split by rung (<see cref="ByRung"/>: each rung's peak viewers and minutes watched; empty when no rung was known).
/// </summary>
public sealed record AudienceReport(
    int BucketSeconds,
    IReadOnlyList<AudiencePoint> Series,
    long PeakViewers,
    DateTimeOffset? PeakAt,
    long UniqueViewers,
    double MinutesWatched,
    double AverageWatchSeconds,
    long MedianWatchSeconds,
    IReadOnlyDictionary<string, AudienceDelivery> ByDelivery,
    long Uncounted,
    PlaybackQualityReport? Quality = null,
    long NotFound = 0,
    long Unavailable = 0,
    IReadOnlyDictionary<string, AudienceRung>? ByRung = null)
{
    public const int Bucket = 10;

    internal static AudienceReport From(IReadOnlyList<AudiencePoint> series, long unique, long watchedSeconds, long medianSeconds,
        IReadOnlyDictionary<string, long> viewersByDelivery, PlaybackQualityReport? quality = null,
        IReadOnlyList<(long Bucket, string Rung, long Viewers)>? rungs = null)
    {
        series = WithRungs(series, rungs ?? []);
        AudiencePoint? peak = null;
        foreach (var point in series)
        {
            if (peak is null || point.Viewers > peak.Viewers) peak = point;
        }

        long Peak(Func<AudiencePoint, long> of) => series.Count == 0 ? 0 : series.Max(of);
        var byDelivery = new Dictionary<string, AudienceDelivery>(StringComparer.Ordinal)
        {
            ["hls"] = new(Peak(p => p.Hls), viewersByDelivery.GetValueOrDefault("hls")),
            ["llhls"] = new(Peak(p => p.LowLatencyHls), viewersByDelivery.GetValueOrDefault("llhls")),
            ["dash"] = new(Peak(p => p.Dash), viewersByDelivery.GetValueOrDefault("dash")),
            ["whep"] = new(Peak(p => p.Whep), viewersByDelivery.GetValueOrDefault("whep")),
        };
        return new AudienceReport(Bucket, series, peak?.Viewers ?? 0, peak?.T,
            unique, Math.Round(watchedSeconds / 60.0, 2), unique == 0 ? 0 : Math.Round((double)watchedSeconds / unique, 1), medianSeconds,
            byDelivery, series.Sum(p => p.Uncounted), quality, series.Sum(p => p.NotFound), series.Sum(p => p.Unavailable), ByRungOf(rungs ?? []));
    }

    /// <summary>Each point with its bucket's viewers by rung (a bucket's rows come with its sample, so every bucket has a point).</summary>
    private static List<AudiencePoint> WithRungs(IReadOnlyList<AudiencePoint> series, IReadOnlyList<(long Bucket, string Rung, long Viewers)> rungs)
    {
        var byBucket = rungs.GroupBy(r => r.Bucket).ToDictionary(g => g.Key,
            g => (IReadOnlyDictionary<string, long>)g.ToDictionary(r => r.Rung, r => r.Viewers, StringComparer.Ordinal));
        return series.Select(p => byBucket.TryGetValue(p.T.ToUnixTimeSeconds(), out var split) ? p with { Rungs = split } : p).ToList();
    }

    /// <summary>Each rung's peak concurrent viewers and minutes watched (its viewer-buckets times the bucket).</summary>
    private static Dictionary<string, AudienceRung> ByRungOf(IReadOnlyList<(long Bucket, string Rung, long Viewers)> rungs) =>
        rungs.GroupBy(r => r.Rung, StringComparer.Ordinal).ToDictionary(g => g.Key,
            g => new AudienceRung(g.Max(r => r.Viewers), Math.Round(g.Sum(r => r.Viewers) * (double)Bucket / 60.0, 2)), StringComparer.Ordinal);

    /// <summary>The rungs in the CSV's order: by name (ordinal), "other" last.</summary>
    private IEnumerable<string> RungColumns() =>
        (ByRung ?? new Dictionary<string, AudienceRung>()).Keys.OrderBy(r => r == AudienceRungs.Other).ThenBy(r => r, StringComparer.Ordinal);

    /// <summary>
    /// The series as CSV (RFC 4180): an ISO 8601 UTC time per bucket, then the viewers and their split, then the bucket's
    /// CMCD playback quality (<see cref="PlaybackQualityPoint"/>: counts 0 and means empty where no player sent CMCD), then
    /// the failed requests, then one <c>rung:{name}</c> column per rung the broadcast had (its viewers in the bucket; the
    /// names are store names, [A-Za-z0-9._-], so no column needs quoting). Columns are only ever appended, so the ones
    /// before keep their places.
    /// </summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("t,viewers,hls,llhls,dash,whep,uncounted," +
            "cmcd_sessions,stalled_sessions,stalls,startups,mean_startup_ms,mean_bitrate_kbps,mean_throughput_kbps,rung_switches,cmcd_malformed," +
            "not_found,unavailable");
        var rungs = RungColumns().ToList();
        foreach (var rung in rungs) csv.Append(",rung:").Append(rung);
        csv.Append("\r\n");
        var quality = (Quality?.Series ?? []).ToDictionary(q => q.T);
        foreach (var p in Series)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{p.T.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},{p.Viewers},{p.Hls},{p.LowLatencyHls},{p.Dash},{p.Whep},{p.Uncounted},");
            var q = quality.GetValueOrDefault(p.T);
            csv.Append(CultureInfo.InvariantCulture,
                $"{q?.Sessions ?? 0},{q?.StalledSessions ?? 0},{q?.Stalls ?? 0},{q?.Startups ?? 0},{q?.MeanStartupMs},{q?.MeanBitrateKbps},{q?.MeanThroughputKbps},{q?.RungSwitches ?? 0},{q?.MalformedValues ?? 0},{p.NotFound},{p.Unavailable}");
            foreach (var rung in rungs) csv.Append(CultureInfo.InvariantCulture, $",{p.Rungs?.GetValueOrDefault(rung) ?? 0}");
            csv.Append("\r\n");
        }

        return csv.ToString();
    }
}
