using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Broadcast.Origin;

/// <summary>
/// A request's validators against the object it names (RFC 9110 section 13): whether it is answered 304, and whether its
/// Range applies. Reads headers only; the answer is <see cref="OriginRequestHandler"/>'s.
/// </summary>
internal static class ConditionalRequest
{
    /// <summary>
    /// RFC 9110 13.2.2 order: If-None-Match decides when present (weak comparison, 13.1.2); only without it does
    /// If-Modified-Since apply.
    /// </summary>
    public static bool IsNotModified(IHeaderDictionary request, string etag, DateTimeOffset lastModified)
    {
        StringValues ifNoneMatch = request.IfNoneMatch;
        if (!StringValues.IsNullOrEmpty(ifNoneMatch))
        {
            return EntityTags.IfNoneMatchMatches(ifNoneMatch, etag);
        }

        StringValues ifModifiedSince = request.IfModifiedSince;
        if (!StringValues.IsNullOrEmpty(ifModifiedSince)
            && HeaderUtilities.TryParseDate(ifModifiedSince.ToString(), out DateTimeOffset since))
        {
            return TruncateToSeconds(lastModified) <= since;
        }

        return false;
    }

    /// <summary>
    /// A Range applies unless If-Range names another version (RFC 9110 13.1.5): an entity-tag must match strongly,
    /// a date must equal Last-Modified exactly; otherwise the whole current object is sent.
    /// </summary>
    public static bool RangeApplies(IHeaderDictionary request, string etag, DateTimeOffset lastModified, out string? range)
    {
        StringValues rangeValues = request.Range;
        range = rangeValues.Count == 1 ? rangeValues[0] : null;
        if (string.IsNullOrEmpty(range))
        {
            // Absent, or sent twice (invalid): ignore.
            return false;
        }

        StringValues ifRange = request.IfRange;
        if (StringValues.IsNullOrEmpty(ifRange))
        {
            return true;
        }

        string value = ifRange.ToString().Trim();
        if (value.Length > 0 && (value[0] == '"' || value.StartsWith("W/", StringComparison.Ordinal)))
        {
            return EntityTags.StrongMatches(value, etag);
        }

        return HeaderUtilities.TryParseDate(value, out DateTimeOffset date) && date == TruncateToSeconds(lastModified);
    }

    // HTTP dates have whole seconds (RFC 9110 5.6.7): the stored time is compared as a client could have received it.
    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
