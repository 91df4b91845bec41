namespace Broadcast.Origin;

/// <summary>Settings of the HTTP origin, bound from the <c>Origin</c> configuration section.</summary>
public sealed class OriginOptions
{
    public const string SectionName = "Origin";

    /// <summary>
    /// Bytes of recently written or read objects kept in memory by <see cref="RecentObjectCache"/>.
    /// 256 MiB holds about a minute of a six-rung ladder: every segment a live viewer can ask for.
    /// </summary>
    public long CacheBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>A client counts as a viewer while it fetched a media playlist or segment within this window.</summary>
    public TimeSpan ViewerWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// max-age for a manifest that says the presentation ended (#EXT-X-ENDLIST, MPD type="static") when the store
    /// gave no Cache-Control. Not a year: a channel that goes live again republishes at the same URL.
    /// </summary>
    public int EndedManifestMaxAgeSeconds { get; set; } = 3600;
}
