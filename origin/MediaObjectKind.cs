namespace Broadcast.Origin;

/// <summary>What an object is to a player, decided by its extension; drives Content-Type and default caching.</summary>
public enum MediaObjectKind
{
    Other,
    HlsPlaylist,
    DashManifest,
    Segment,
}

/// <summary>Content types and default cache policies. All strings are constants: nothing is built per request.</summary>
public static class MediaObjectKinds
{
    public const string HlsContentType = "application/vnd.apple.mpegurl";
    public const string DashContentType = "application/dash+xml";

    /// <summary>Segments and init segments never change once written (a new segment gets a new name).</summary>
    public const string ImmutableCacheControl = "public, max-age=31536000, immutable";

    /// <summary>
    /// A live manifest changes every segment; one second lets a CDN collapse the requests of every viewer
    /// into one origin fetch per second without making players see stale playlists for long.
    /// </summary>
    public const string LiveManifestCacheControl = "public, max-age=1";

    /// <summary>A 404 for an object that may appear any moment (the next segment): a CDN must not keep it.</summary>
    public const string NotFoundCacheControl = "no-cache";

    public static MediaObjectKind Classify(ReadOnlySpan<char> key)
    {
        if (key.EndsWith(".m3u8", StringComparison.OrdinalIgnoreCase))
        {
            return MediaObjectKind.HlsPlaylist;
        }

        if (key.EndsWith(".mpd", StringComparison.OrdinalIgnoreCase))
        {
            return MediaObjectKind.DashManifest;
        }

        if (key.EndsWith(".m4s", StringComparison.OrdinalIgnoreCase)
            || key.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase)
            || key.EndsWith(".m4a", StringComparison.OrdinalIgnoreCase)
            || key.EndsWith(".m4v", StringComparison.OrdinalIgnoreCase))
        {
            return MediaObjectKind.Segment;
        }

        return MediaObjectKind.Other;
    }

    /// <summary>Content-Type by extension, for objects stored without one.</summary>
    public static string ContentTypeFor(ReadOnlySpan<char> key)
    {
        if (key.EndsWith(".m3u8", StringComparison.OrdinalIgnoreCase)) return HlsContentType;
        if (key.EndsWith(".mpd", StringComparison.OrdinalIgnoreCase)) return DashContentType;
        if (key.EndsWith(".m4s", StringComparison.OrdinalIgnoreCase)) return "video/iso.segment";
        if (key.EndsWith(".mp4", StringComparison.OrdinalIgnoreCase)) return "video/mp4";
        if (key.EndsWith(".m4v", StringComparison.OrdinalIgnoreCase)) return "video/mp4";
        if (key.EndsWith(".m4a", StringComparison.OrdinalIgnoreCase)) return "audio/mp4";
        if (key.EndsWith(".vtt", StringComparison.OrdinalIgnoreCase)) return "text/vtt";
        if (key.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return "application/json";
        if (key.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase)) return "image/jpeg";
        return "application/octet-stream";
    }

    private static ReadOnlySpan<byte> EndList => "#EXT-X-ENDLIST"u8;
    private static ReadOnlySpan<byte> MpdStart => "<MPD"u8;
    private static ReadOnlySpan<byte> StaticDouble => "type=\"static\""u8;
    private static ReadOnlySpan<byte> StaticSingle => "type='static'"u8;

    /// <summary>
    /// True when a manifest says no more media will be added: an HLS playlist with #EXT-X-ENDLIST (RFC 8216
    /// 4.3.3.4) or an MPD whose root element has type="static" (ISO/IEC 23009-1 5.3.1.2). Only the MPD element's
    /// own attributes are searched: a child element could carry an unrelated "type".
    /// </summary>
    public static bool HasEnded(MediaObjectKind kind, ReadOnlySpan<byte> body)
    {
        if (kind == MediaObjectKind.HlsPlaylist)
        {
            return body.IndexOf(EndList) >= 0;
        }

        if (kind == MediaObjectKind.DashManifest)
        {
            int start = body.IndexOf(MpdStart);
            if (start < 0)
            {
                return false;
            }

            ReadOnlySpan<byte> rest = body[start..];
            int end = rest.IndexOf((byte)'>');
            ReadOnlySpan<byte> mpdTag = end < 0 ? rest : rest[..end];
            return mpdTag.IndexOf(StaticDouble) >= 0 || mpdTag.IndexOf(StaticSingle) >= 0;
        }

        return false;
    }
}
