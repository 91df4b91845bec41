namespace Broadcast.Origin;

/// <summary>Settings of the HTTP origin, bound from the <c>Origin</c> configuration section.</summary>
public sealed class OriginOptions
{
    public const string SectionName = "Origin";

    /// <summary>
    /// Bytes of recently written or read objects kept in memory by <see cref="RecentObjectCache"/>.
    /// The default, 64 MiB, holds the live window (6 segments of 2 s, plus the one being fetched) of about 40 Mb/s
    /// of renditions: e.g. 8 channels of a 2.5 Mb/s source plus a small ladder, or 20 passthrough channels for
    /// the newest ~10 s. A miss costs one read from the store (for the filesystem store, usually the page cache)
    /// and the object is kept again, so the bound trades memory for disk reads, not correctness. Segments are
    /// written through only for renditions someone read in the last minute (<see cref="RecentObjectCache.WatchedWindow"/>),
    /// so channels nobody watches take none of it. Raise it (Origin:CacheBytes) for many watched channels or long DVR windows.
    /// </summary>
    public long CacheBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Whether segments of renditions nobody read lately are written through into the cache too. Unset: no for the
    /// filesystem store (the page cache already holds what was just written, and a local read is cheap), yes for S3
    /// (the server sets it): then the live window survives a bucket outage in memory, so a viewer who arrives during
    /// it still plays segments uploaded before it began.
    /// </summary>
    public bool? KeepUnwatchedSegments { get; set; }

    /// <summary>A client counts as a viewer while it fetched a media playlist or segment within this window.</summary>
    public TimeSpan ViewerWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most CMCD playback sessions this node keeps per channel (CTA-5004 'sid', else address and User-Agent): a flood of
    /// invented session ids fills only its own channel's table, and a session past the cap is counted as refused.
    /// </summary>
    public int CmcdMaxSessionsPerChannel { get; set; } = 20_000;

    /// <summary>
    /// max-age for a manifest that says the presentation ended (#EXT-X-ENDLIST, MPD type="static") when the store
    /// gave no Cache-Control. Not a year: a channel that goes live again republishes at the same URL.
    /// </summary>
    public int EndedManifestMaxAgeSeconds { get; set; } = 3600;

    /// <summary>
    /// True when a CDN edge in front checks playback tokens of private streams itself (infra/nginx-edge.conf's
    /// auth_request): then a private stream's objects keep their public Cache-Control and the edge caches them.
    /// False (default): they are answered <c>private</c>, so no shared cache keeps them.
    /// </summary>
    public bool EdgeValidatesPlaybackTokens { get; set; }

    /// <summary>
    /// LL-HLS blocking reloads wake when this process stores the object they wait for. An origin whose packager runs
    /// in another process sees no such put: it learns of them from PostgreSQL notifications
    /// (<see cref="ObjectArrivals.Subscribed"/>), and while those are not received, looks in the store again at this
    /// interval when set (e.g. 100); 0, the default, only wakes on puts and notifications.
    /// </summary>
    public int BlockingRecheckMilliseconds { get; set; }

    /// <summary>
    /// The UDP port on which this node takes a CDN edge's access log over syslog (infra/nginx-edge.conf's
    /// <c>broadcast_audience</c> lines), so that viewers the edge answered from its cache count in the audience; 0, the
    /// default, takes none. The edge marks what it forwards (<see cref="OriginAudience.EdgeLoggedHeader"/>), and those
    /// requests are then counted from its log alone.
    /// </summary>
    public int EdgeLogPort { get; set; }

    /// <summary>The address <see cref="EdgeLogPort"/> binds (default all IPv4 addresses).</summary>
    public string EdgeLogAddress { get; set; } = "0.0.0.0";

    /// <summary>
    /// The edges whose logs are read: addresses or CIDR networks, comma-separated (required with
    /// <see cref="EdgeLogPort"/>). A datagram from anywhere else is dropped: syslog carries no credentials.
    /// </summary>
    public string EdgeLogSources { get; set; } = "";
}
