namespace Broadcast.Origin;

/// <summary>
/// Which streams need a signed playback token and whether a token is good, owned by the origin and implemented
/// by whoever knows the channels (the server wires the control plane's). Without a registration every stream
/// is public.
/// </summary>
public interface IPlaybackAccess
{
    /// <summary>
    /// True when <paramref name="stream"/> (the first path segment under <c>/live/</c>) requires a token. Called on
    /// every origin request: it must not allocate, and must be cheap when no stream is private.
    /// </summary>
    bool IsPrivate(ReadOnlySpan<char> stream);

    /// <summary>True when <paramref name="token"/> authorises the path prefix <c>/live/{stream}/</c> now;
    /// then <paramref name="expiresAt"/> says until when.</summary>
    bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, out DateTimeOffset expiresAt);

    /// <summary>As <see cref="IsAuthorized(ReadOnlySpan{char}, ReadOnlySpan{char}, out DateTimeOffset)"/> for a viewer at
    /// <paramref name="client"/>: a token bound to a client address (a platform JWT's <c>ip</c>) works from that address only,
    /// and never where the caller passes none.</summary>
    bool IsAuthorized(ReadOnlySpan<char> stream, ReadOnlySpan<char> token, System.Net.IPAddress? client, out DateTimeOffset expiresAt)
        => IsAuthorized(stream, token, out expiresAt);

    /// <summary>
    /// False while this node does not yet know which streams are private (a node that fetches them from elsewhere,
    /// before the first answer): every stream then counts as private, and a refused request gets 503 with
    /// Retry-After instead of 403, so an edge tries another origin or again later.
    /// </summary>
    bool IsReady => true;

    /// <summary>
    /// An opaque value that differs between two channels that held the same (private) slug, for a CDN edge's cache key
    /// (<see cref="PlaybackAuthorizationEndpoint"/> sends it as <c>X-Playback-Scope</c>): what an edge cached for a
    /// private channel is then never what it serves after that channel was deleted or its slug taken over. Null for a
    /// public stream.
    /// </summary>
    string? ScopeOf(ReadOnlySpan<char> stream) => null;
}
