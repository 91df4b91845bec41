namespace Broadcast.Origin;

/// <summary>
/// Decides whether a request path may become a store key. The store is a filesystem or an S3 bucket, so a key
/// that escapes <c>/live/</c> (../, an absolute path, a backslash on Windows, a NUL that truncates in native code)
/// must never reach it. We whitelist instead of blacklisting: keys are built by the packager from validated
/// channel and rendition names, so <c>[A-Za-z0-9._-]</c> segments joined by '/' is all a real request needs.
/// </summary>
public static class OriginPath
{
    /// <summary>Longest key accepted; real keys are well under 100 characters.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Why a key was refused, or null when it is acceptable.</summary>
    public static string? Validate(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty)
        {
            return "empty key";
        }

        if (key.Length > MaxKeyLength)
        {
            return "key too long";
        }

        int segmentStart = 0;
        for (int i = 0; i <= key.Length; i++)
        {
            if (i == key.Length || key[i] == '/')
            {
                // Empty segments cover a leading '/' (absolute path), '//' and a trailing '/'.
                int segmentLength = i - segmentStart;
                if (segmentLength == 0)
                {
                    return "empty path segment";
                }

                // A leading dot covers "." and ".." (traversal) and hidden files such as a store's temp files.
                if (key[segmentStart] == '.')
                {
                    return "segment starts with a dot";
                }

                segmentStart = i + 1;
                continue;
            }

            char c = key[i];
            bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || c == '.' || c == '_' || c == '-';
            if (!allowed)
            {
                // '%' (still-encoded or double-encoded input), '\\', ':', NUL, spaces and non-ASCII all end here.
                return "character outside [A-Za-z0-9._-/]";
            }
        }

        return null;
    }

    /// <summary>
    /// The request target as a log line may hold it: the path alone. Only the path is checked (<see cref="ValidateRawTarget"/>),
    /// and the query can carry a private stream's playback token (<c>?token=</c>), which a log must not keep.
    /// </summary>
    public static string ForLog(string rawTarget)
    {
        ArgumentNullException.ThrowIfNull(rawTarget);
        int query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        return query < 0 ? rawTarget : string.Concat(rawTarget.AsSpan(0, query), "?(query not logged)");
    }

    /// <summary>
    /// Checks the request target exactly as the client sent it, before Kestrel decoded and normalised it.
    /// Kestrel turns <c>/live/a/%2e%2e/b</c> into <c>/live/b</c>, which would pass <see cref="Validate"/>; a client
    /// that writes dot segments or encoded separators is not a player, so we refuse rather than guess.
    /// </summary>
    public static string? ValidateRawTarget(ReadOnlySpan<char> rawTarget)
    {
        // Only the path: a query string (CDN tokens, LL-HLS _HLS_msn) may carry escapes and never reaches the store.
        int query = rawTarget.IndexOf('?');
        if (query >= 0)
        {
            rawTarget = rawTarget[..query];
        }

        if (rawTarget.IndexOf("..", StringComparison.Ordinal) >= 0
            || rawTarget.IndexOf("/./", StringComparison.Ordinal) >= 0
            || rawTarget.EndsWith("/.", StringComparison.Ordinal))
        {
            return "dot segment in request target";
        }

        if (rawTarget.IndexOf('\\') >= 0)
        {
            return "backslash in request target";
        }

        // Any percent-escape: the whitelist has no character that needs one, so an escape is either an encoded
        // dot, slash, backslash, NUL or a double encoding (%25..).
        if (rawTarget.IndexOf('%') >= 0)
        {
            return "percent-encoding in request target";
        }

        return null;
    }
}
