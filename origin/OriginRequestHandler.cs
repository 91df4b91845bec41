using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Broadcast.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Broadcast.Origin;

/// <summary>
/// Serves <c>/live/{key}</c> from the segment store with the headers a CDN and a browser player need, and
/// <c>/time</c> for DASH UTCTiming. One instance per application, built by
/// <see cref="OriginApplicationExtensions.UseOrigin"/>, so no service is resolved per request.
/// </summary>
internal sealed class OriginRequestHandler
{
    // Header values are static: assigning a cached StringValues allocates nothing.
    private static readonly StringValues AllowOriginAny = "*";
    private static readonly StringValues ExposeHeaders = "Content-Length, Content-Range, ETag, Date, Last-Modified, Accept-Ranges";
    private static readonly StringValues AllowMethods = "GET, HEAD, OPTIONS";
    // The CMCD headers (CTA-5004 §2.2, header mode) as well: a player on another origin that reports in headers asks first,
    // and without them its preflight would fail and it could not play at all.
    private static readonly StringValues AllowHeaders =
        "Range, If-None-Match, If-Modified-Since, If-Range, Accept, Accept-Encoding, Origin, Cache-Control, CMCD-Request, CMCD-Object, CMCD-Status, CMCD-Session";
    private static readonly StringValues PreflightMaxAge = "86400";
    private static readonly StringValues AcceptRangesBytes = "bytes";
    private static readonly StringValues NoSniff = "nosniff";
    private static readonly StringValues NotFoundCacheControl = MediaObjectKinds.NotFoundCacheControl;
    private static readonly StringValues TimeCacheControl = "no-cache, no-store";
    private static readonly StringValues TextPlain = "text/plain; charset=utf-8";
    private static readonly StringValues ErrorCacheControl = "no-store";

    private readonly ISegmentStore _store;
    private readonly OriginAudience _audience;
    private readonly ThumbnailLooks _thumbnailLooks;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _endedManifestCacheControl;
    private readonly IPlaybackAccess? _access;
    private readonly bool _edgeValidatesTokens;
    private readonly LowLatencyGate _lowLatency;
    private readonly Steering.SteeredManifests? _steering;
    private readonly HttpDateFormatter _lastModified = new();

    public OriginRequestHandler(ISegmentStore store, OriginAudience audience, ThumbnailLooks thumbnailLooks, TimeProvider time,
        IOptions<OriginOptions> options,
        ILogger<OriginRequestHandler> logger, LowLatencyGate lowLatency, IPlaybackAccess? access = null, Steering.SteeredManifests? steering = null)
    {
        _steering = steering;
        _lowLatency = lowLatency;
        _access = access;
        _edgeValidatesTokens = options.Value.EdgeValidatesPlaybackTokens;
        _store = store;
        _audience = audience;
        _thumbnailLooks = thumbnailLooks;
        _time = time;
        _logger = logger;
        _endedManifestCacheControl = "public, max-age=" + options.Value.EndedManifestMaxAgeSeconds.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// GET and HEAD <c>/live/{**path}</c>; <paramref name="key"/> is the path after <c>/live/</c> (null for <c>/live</c> itself).
    /// The steps in order; one that answers the request itself (an error, a refused wait, a streamed segment, a 304, a
    /// 416) ends it there.
    /// </summary>
    public async Task ServeLiveAsync(HttpContext context, string? key)
    {
        AllowAnyOrigin(context.Response.Headers);
        if (!TryResolveKey(context, key, out string? objectKey)) return;
        if (!TryAdmit(context, objectKey, out bool isPrivate)) return;
        // Read once: each read is a feature lookup and a lock in Kestrel.
        var request = new LiveRequest(context, objectKey, isPrivate, context.RequestAborted);
        if (await ChooseObjectAsync(request).ConfigureAwait(false) is not { } chosen) return;
        MediaObjectKind kind = MediaObjectKinds.Classify(objectKey);
        StoredObject stored = Present(request, kind, chosen, out string? steeringToken);
        if (!WriteObjectHeaders(request, kind, stored, steeringToken, out string etag)) return;
        if (!TrySelectRange(request, stored, etag, out long offset, out long count)) return;
        await WriteBodyAsync(request, stored.Data.Slice((int)offset, (int)count)).ConfigureAwait(false);
    }

    /// <summary>One live request past its checks: the object key, whether its stream is private, the viewer's abort.</summary>
    private readonly record struct LiveRequest(HttpContext Context, string Key, bool IsPrivate, CancellationToken Aborted);

    private static void AllowAnyOrigin(IHeaderDictionary headers)
    {
        headers.AccessControlAllowOrigin = AllowOriginAny;
        headers.AccessControlExposeHeaders = ExposeHeaders;
    }

    /// <summary>
    /// The object key from the path: 400 for a path the store must not see (the raw target checked too, before the
    /// router decoded it), 404 for what ingest nodes keep for each other (a broadcast's live state, a recording's
    /// journal), which is not media.
    /// </summary>
    private bool TryResolveKey(HttpContext context, string? key, [NotNullWhen(true)] out string? objectKey)
    {
        objectKey = null;
        HttpResponse response = context.Response;
        string rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        string? rejection = OriginPath.ValidateRawTarget(rawTarget) ?? OriginPath.Validate(key);
        if (rejection is not null || key is null)
        {
            OriginLog.RejectedPath(_logger, OriginPath.ForLog(rawTarget), rejection ?? "no key");
            response.StatusCode = StatusCodes.Status400BadRequest;
            response.Headers.CacheControl = ErrorCacheControl;
            return false;
        }

        if (StoreKeys.IsInternal(key))
        {
            NotFound(response);
            return false;
        }

        objectKey = key;
        return true;
    }

    /// <summary>
    /// A private stream needs a playback token: refused with the gate's answer (403, or 503 before the access list is
    /// loaded). Public streams pay one set lookup on a span (no allocation).
    /// </summary>
    private bool TryAdmit(HttpContext context, string key, out bool isPrivate)
    {
        HttpResponse response = context.Response;
        isPrivate = _access is not null && _access.IsPrivate(PlaybackGate.StreamOf(key));
        if (isPrivate && !PlaybackGate.Authorize(context, PlaybackGate.StreamOf(key), _access!))
        {
            if (_access!.IsReady) PlaybackGate.Forbid(response);
            else PlaybackGate.NotReady(response);
            return false;
        }

        // Unless an edge checks tokens, whatever path answers below (object, range, 304, 404, LL part, growing LL-DASH
        // segment, error) goes out with a viewer-only Cache-Control: one hook for every path, not one per path.
        if (isPrivate && !_edgeValidatesTokens)
        {
            PlaybackGate.KeepViewerOnly(response);
        }

        return true;
    }

    /// <summary>
    /// The object to send: the playlist once a blocking reload's directive is met, a delta update the packager stored
    /// beside a rewind window's playlist, the stored object, a preload-hinted part held open until it is written, or a
    /// delta update made here. Null when the response is decided: the directive refused, a growing LL-DASH segment
    /// streamed, the store failing (503), nothing there (404), the viewer gone.
    /// </summary>
    private async ValueTask<StoredObject?> ChooseObjectAsync(LiveRequest request)
    {
        HttpContext context = request.Context;
        string key = request.Key;
        StoredObject? stored;
        try
        {
            LowLatencyQuery lowLatency = default;
            if (MayBlock(context, key) && !await BlockAsync(context, key, out lowLatency).ConfigureAwait(false))
            {
                return null;
            }

            StoredObject? storedDelta = await _lowLatency.StoredDeltaAsync(key, lowLatency, request.Aborted).ConfigureAwait(false);
            stored = storedDelta ?? await _store.GetAsync(key, request.Aborted).ConfigureAwait(false);
            if (stored is null && LowLatencyGate.IsPartKey(key))
            {
                stored = await WaitForHintedPartAsync(key, request.Aborted).ConfigureAwait(false);
            }
            else if (stored is null && HttpMethods.IsGet(context.Request.Method) && MediaObjectKinds.Classify(key) == MediaObjectKind.Segment
                && await _lowLatency.TryStreamGrowingSegmentAsync(context, key).ConfigureAwait(false))
            {
                return null;
            }
            else if (stored is not null && lowLatency.Skip && storedDelta is null) stored = _lowLatency.DeltaOf(key, stored);
        }
        catch (OperationCanceledException) when (request.Aborted.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex)
        {
            OriginLog.StoreReadFailed(_logger, key, ex);
            // 503, not 500: the store is a dependency that comes back; a CDN may retry another origin.
            Refuse(context.Response, StatusCodes.Status503ServiceUnavailable);
            _audience.Failed(key, RequestFailure.Unavailable);
            return null;
        }

        // The next segment or a not-yet-started channel: it may exist within a second, so no CDN may keep this.
        if (stored is null)
        {
            NotFound(context.Response);
            _audience.Failed(key, RequestFailure.NotFound);
        }

        return stored;
    }

    /// <summary>
    /// LL-HLS delivery directives (a blocking reload answers only once the playlist holds what was asked for) are parsed
    /// only from a query that can name one: a player's CMCD or a playback token on every reload costs no query parse.
    /// </summary>
    private static bool MayBlock(HttpContext context, string key) =>
        context.Request.QueryString.Value is { } rawQuery && rawQuery.Contains("HLS", StringComparison.OrdinalIgnoreCase)
        && MediaObjectKinds.Classify(key) == MediaObjectKind.HlsPlaylist;

    /// <summary>A preload-hinted part not yet stored: waits for it (null if it never comes), and logs a slow wait.</summary>
    private async Task<StoredObject?> WaitForHintedPartAsync(string key, CancellationToken aborted)
    {
        long waitStart = _time.GetTimestamp();
        StoredObject? stored = await _lowLatency.WaitForPartAsync(key, aborted).ConfigureAwait(false);
        long waited = (long)_time.GetElapsedTime(waitStart).TotalMilliseconds;
        if (waited >= SlowLowLatencyWaitMilliseconds) OriginLog.SlowHintedPart(_logger, key, waited,
            stored is null ? " and was not stored (404)" : "");
        return stored;
    }

    /// <summary>
    /// What this viewer is sent of the object: counted for the audience (and the thumbnail looks), and for content
    /// steering a master or MPD listing every pathway. A private stream's token, when this request brought one, goes into
    /// each pathway's URIs (a cookie set here would not reach the other hosts): that copy is this viewer's alone.
    /// </summary>
    private StoredObject Present(LiveRequest request, MediaObjectKind kind, StoredObject stored, out string? steeringToken)
    {
        HttpContext context = request.Context;
        _audience.Served(context, request.Key, kind);
        if (kind == MediaObjectKind.Other) _thumbnailLooks.Served(request.Key);
        steeringToken = null;
        if (_steering is null || !Steering.SteeredManifests.Applies(kind, request.Key)) return stored;
        if (request.IsPrivate && context.Request.Query.TryGetValue(PlaybackGate.TokenParameter, out StringValues token)
            && token.Count == 1) steeringToken = token[0];
        return _steering.Steer(context.Request, request.Key, kind, stored, steeringToken);
    }

    /// <summary>
    /// The validators, caching and type of the object. False when the request's validators match: a 304, which carries
    /// the validators and Cache-Control (RFC 9110 15.4.5) but no body or Content-Type.
    /// </summary>
    private bool WriteObjectHeaders(LiveRequest request, MediaObjectKind kind, StoredObject stored, string? steeringToken, out string etag)
    {
        HttpResponse response = request.Context.Response;
        IHeaderDictionary headers = response.Headers;
        etag = EntityTags.ToHeaderValue(stored.ETag);
        headers.ETag = etag;
        headers.LastModified = _lastModified.Format(stored.LastModified);
        headers.CacheControl = CacheControlFor(stored, kind);
        if (steeringToken is not null && _edgeValidatesTokens) PlaybackGate.KeepViewerOnly(response);
        headers.AcceptRanges = AcceptRangesBytes;
        headers.XContentTypeOptions = NoSniff;

        if (ConditionalRequest.IsNotModified(request.Context.Request.Headers, etag, stored.LastModified))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return false;
        }

        headers.ContentType = string.IsNullOrEmpty(stored.ContentType) ? MediaObjectKinds.ContentTypeFor(request.Key) : stored.ContentType;
        return true;
    }

    /// <summary>
    /// The bytes to send and their Content-Length: all, or a GET's satisfiable Range (206). False when the range is
    /// unsatisfiable: answered 416. Range is defined for GET only; a HEAD ignores it (RFC 9110 14.2).
    /// </summary>
    private static bool TrySelectRange(LiveRequest request, StoredObject stored, string etag, out long offset, out long count)
    {
        HttpResponse response = request.Context.Response;
        HttpRequest http = request.Context.Request;
        long length = stored.Data.Length;
        offset = 0;
        count = length;
        if (HttpMethods.IsGet(http.Method) && ConditionalRequest.RangeApplies(http.Headers, etag, stored.LastModified, out string? rangeHeader))
        {
            switch (ByteRangeRequest.Resolve(rangeHeader, length, out offset, out count))
            {
                case RangeOutcome.Unsatisfiable:
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{length}");
                    response.ContentLength = 0;
                    return false;
                case RangeOutcome.Partial:
                    response.StatusCode = StatusCodes.Status206PartialContent;
                    response.Headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + count - 1}/{length}");
                    break;
                default:
                    offset = 0;
                    count = length;
                    break;
            }
        }

        response.ContentLength = count;
        return true;
    }

    /// <summary>
    /// The body, unless a HEAD or empty: the store's memory goes to Kestrel's output pipe with one copy and no
    /// intermediate array or stream. A viewer that left mid-body is nothing to report.
    /// </summary>
    private static async Task WriteBodyAsync(LiveRequest request, ReadOnlyMemory<byte> body)
    {
        if (HttpMethods.IsHead(request.Context.Request.Method) || body.IsEmpty)
        {
            return;
        }

        try
        {
            await ChunkedBody.WriteAsync(request.Context.Response.BodyWriter, body, request.Aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (request.Aborted.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Parses the LL-HLS directives and, for <c>_HLS_msn</c>, waits for the playlist. False when the response is
    /// already decided: 400 for a malformed or too-far directive, 503 when the part did not come in three target
    /// durations (RFC 8216bis 6.2.5.2). Error answers are never cached.
    /// </summary>
    private Task<bool> BlockAsync(HttpContext context, string key, out LowLatencyQuery query)
    {
        if (!LowLatencyQuery.TryParse(context.Request.Query, out query))
        {
            Refuse(context.Response, StatusCodes.Status400BadRequest);
            return Task.FromResult(false);
        }

        return query.Msn is long msn ? WaitAsync(context, key, msn, query.Part) : Task.FromResult(true);

        async Task<bool> WaitAsync(HttpContext context, string key, long msn, int? part)
        {
            long waitStart = _time.GetTimestamp();
            var (outcome, position) = await _lowLatency.WaitForPlaylistAsync(key, msn, part, context.RequestAborted).ConfigureAwait(false);
            long waited = (long)_time.GetElapsedTime(waitStart).TotalMilliseconds;
            switch (outcome)
            {
                case BlockOutcome.TooFarAhead:
                    // A player asking beyond the limits usually guessed from a playlist it thought old (hls.js's tune-in):
                    // its stall's log then names this refusal.
                    OriginLog.BlockingReloadTooFarAhead(_logger, key, msn, part, position.NextMsn, position.NextPart);
                    Refuse(context.Response, StatusCodes.Status400BadRequest);
                    return false;
                case BlockOutcome.TimedOut:
                    OriginLog.BlockingReloadTimedOut(_logger, key, msn, part, waited);
                    Refuse(context.Response, StatusCodes.Status503ServiceUnavailable);
                    _audience.Failed(key, RequestFailure.Unavailable);
                    return false;
                default:
                    if (waited >= SlowLowLatencyWaitMilliseconds) OriginLog.SlowBlockingReload(_logger, key, msn, part, waited);
                    return true;
            }
        }
    }

    /// <summary>
    /// A blocked LL-HLS request answered after this long is logged: the part it waits for is due within one Part Target
    /// (about 0.37 s) of the request, so a second means the packager or the store fell behind. A stalled player's log
    /// names the part it missed; this names the wait on the server's side.
    /// </summary>
    private const long SlowLowLatencyWaitMilliseconds = 1000;

    private static void Refuse(HttpResponse response, int status)
    {
        response.StatusCode = status;
        response.Headers.CacheControl = ErrorCacheControl;
    }

    private static void NotFound(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status404NotFound;
        response.Headers.CacheControl = NotFoundCacheControl;
    }

    /// <summary>OPTIONS preflight for /live and /time: 204 with what a browser player may send.</summary>
    public Task PreflightAsync(HttpContext context)
    {
        WritePreflight(context.Response, AllowMethods, AllowHeaders);
        return Task.CompletedTask;
    }

    /// <summary>A CORS preflight's answer (204, any origin, kept a day): the <paramref name="methods"/> and
    /// <paramref name="allowHeaders"/> a player on another origin may send. The one answer of every origin route's preflight.</summary>
    internal static void WritePreflight(HttpResponse response, StringValues methods, StringValues allowHeaders)
    {
        IHeaderDictionary headers = response.Headers;
        response.StatusCode = StatusCodes.Status204NoContent;
        headers.AccessControlAllowOrigin = AllowOriginAny;
        headers.AccessControlAllowMethods = methods;
        headers.AccessControlAllowHeaders = allowHeaders;
        headers.AccessControlMaxAge = PreflightMaxAge;
    }

    /// <summary>
    /// GET/HEAD /time: ISO 8601 UTC with milliseconds, the body DASH's urn:mpeg:dash:utc:http-iso:2014 expects
    /// (DASH-IF IOP 4.7). Formatted straight into the output pipe.
    /// </summary>
    public Task ServeTimeAsync(HttpContext context)
    {
        const int Length = 24; // 2026-11-21T05:45:12.345Z
        HttpResponse response = context.Response;
        IHeaderDictionary headers = response.Headers;
        headers.AccessControlAllowOrigin = AllowOriginAny;
        headers.AccessControlExposeHeaders = ExposeHeaders;
        headers.CacheControl = TimeCacheControl;
        headers.ContentType = TextPlain;
        response.ContentLength = Length;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return Task.CompletedTask;
        }

        DateTime now = _time.GetUtcNow().UtcDateTime;
        Span<byte> span = response.BodyWriter.GetSpan(Length);
        if (!now.TryFormat(span, out int written, "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fff'Z'", CultureInfo.InvariantCulture) || written != Length)
        {
            throw new InvalidOperationException("UTC time did not format to 24 bytes.");
        }

        response.BodyWriter.Advance(written);
        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    private string CacheControlFor(StoredObject stored, MediaObjectKind kind)
    {
        // The packager's own policy wins: it knows whether a manifest is live, DVR or finished.
        if (!string.IsNullOrEmpty(stored.CacheControl))
        {
            return stored.CacheControl;
        }

        return kind switch
        {
            MediaObjectKind.Segment => MediaObjectKinds.ImmutableCacheControl,
            MediaObjectKind.HlsPlaylist or MediaObjectKind.DashManifest =>
                MediaObjectKinds.HasEnded(kind, stored.Data.Span) ? _endedManifestCacheControl : MediaObjectKinds.LiveManifestCacheControl,
            // Unknown files may be rewritten in place: keep them as short as manifests.
            _ => MediaObjectKinds.LiveManifestCacheControl,
        };
    }
}
