using System.Globalization;
using System.Text;

namespace Broadcast.Control.Analytics;

/// <summary>
/// One 10 s bucket of a broadcast: its viewers summed over the playback nodes' rows (one row per node and bucket), by
/// delivery, and the requests from viewers beyond a node's cap (<c>uncounted</c>, not in <see cref="Viewers"/>).
/// </summary>
public sealed record AudiencePoint(DateTimeOffset T, long Viewers, long Hls, long LowLatencyHls, long Dash, long Uncounted, long Whep = 0);

/// <summary>A delivery's share of a broadcast: its peak concurrent viewers and the viewers whose latest delivery it was.</summary>
public sealed record AudienceDelivery(long PeakViewers, long Viewers);

/// <summary>
/// What a broadcast's audience was: concurrent viewers over time, the peak and when, unique viewers, minutes watched (each
/// viewer's last bucket less its first, plus the bucket), average and median watch time, and the split by delivery.
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
    long Uncounted)
{
    public const int Bucket = 10;

    internal static AudienceReport From(IReadOnlyList<AudiencePoint> series, long unique, long watchedSeconds, long medianSeconds,
        IReadOnlyDictionary<string, long> viewersByDelivery)
    {
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
            byDelivery, series.Sum(p => p.Uncounted));
    }

    /// <summary>The series as CSV (RFC 4180): an ISO 8601 UTC time per bucket, then the viewers and their split.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("t,viewers,hls,llhls,dash,whep,uncounted\r\n");
        foreach (var p in Series)
        {
            csv.Append(CultureInfo.InvariantCulture,
                $"{p.T.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},{p.Viewers},{p.Hls},{p.LowLatencyHls},{p.Dash},{p.Whep},{p.Uncounted}\r\n");
        }

        return csv.ToString();
    }
}
