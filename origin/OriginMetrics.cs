using System.Diagnostics;

namespace Broadcast.Origin;

/// <summary>What an origin request asked for, as its metrics tell requests apart.</summary>
public enum OriginRequestKind
{
    Playlist,

    /// <summary>An LL-HLS blocking reload (<c>_HLS_msn</c>): its time includes the wait for the part, by design.</summary>
    BlockingPlaylist,
    Segment,

    /// <summary>An LL-HLS part (<c>{broadcast}-{n}.{k}.m4s</c>); a preload-hinted one waits until it is written.</summary>
    Part,
    Time,
    Other,
}

/// <summary>
/// Origin request counters and latency histograms by <see cref="OriginRequestKind"/> and status class, for
/// <c>/metrics</c> (<c>broadcast_origin_requests_total</c>, <c>broadcast_origin_request_seconds</c>). Recording is a few
/// interlocked increments into fixed arrays: nothing is allocated per request.
/// </summary>
public sealed class OriginMetrics
{
    /// <summary>Histogram upper bounds in seconds (Prometheus <c>le</c>), the last bucket being +Inf.</summary>
    public static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    public static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];

    private static readonly int Kinds = Enum.GetValues<OriginRequestKind>().Length;

    private readonly long[] _requests = new long[Kinds * 5];
    private readonly long[] _buckets = new long[Kinds * (Buckets.Length + 1)];
    private readonly long[] _microseconds = new long[Kinds];

    public void Record(OriginRequestKind kind, int status, long startTimestamp)
    {
        int k = (int)kind;
        int statusClass = Math.Clamp(status / 100, 1, 5) - 1;
        Interlocked.Increment(ref _requests[(k * 5) + statusClass]);
        double seconds = Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
        int bucket = 0;
        while (bucket < Buckets.Length && seconds > Buckets[bucket]) bucket++;
        Interlocked.Increment(ref _buckets[(k * (Buckets.Length + 1)) + bucket]);
        Interlocked.Add(ref _microseconds[k], (long)(seconds * 1_000_000));
    }

    /// <summary>Requests of a kind answered with a status of the class (<c>StatusClasses[statusClass]</c>).</summary>
    public long Requests(OriginRequestKind kind, int statusClass) => Volatile.Read(ref _requests[((int)kind * 5) + statusClass]);

    /// <summary>Requests of a kind that took at most <c>Buckets[bucket]</c> seconds, cumulative as Prometheus wants (last: all).</summary>
    public long CumulativeBucket(OriginRequestKind kind, int bucket)
    {
        long sum = 0;
        for (int b = 0; b <= bucket; b++) sum += Volatile.Read(ref _buckets[((int)kind * (Buckets.Length + 1)) + b]);
        return sum;
    }

    public double SecondsSum(OriginRequestKind kind) => Volatile.Read(ref _microseconds[(int)kind]) / 1_000_000.0;

    /// <summary>The kind of a <c>/live/</c> request from its key and whether it carries LL-HLS delivery directives.</summary>
    public static OriginRequestKind KindOf(string key, bool blocking)
    {
        if (LowLatencyGate.IsPartKey(key)) return OriginRequestKind.Part;
        return MediaObjectKinds.Classify(key) switch
        {
            MediaObjectKind.HlsPlaylist => blocking ? OriginRequestKind.BlockingPlaylist : OriginRequestKind.Playlist,
            MediaObjectKind.DashManifest => OriginRequestKind.Playlist,
            MediaObjectKind.Segment => OriginRequestKind.Segment,
            _ => OriginRequestKind.Other,
        };
    }
}
