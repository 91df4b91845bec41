using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Broadcast.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

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

    /// <summary>Body bytes copied into the response pipe per step (see <see cref="WriteBodyAsync"/>).</summary>
    private const int BodyChunk = 256 * 1024;

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

    /// <summary>GET and HEAD <c>/live/{**path}</c>; <paramref name="key"/> is the path after <c>/live/</c> (null for <c>/live</c> itself).</summary>
    public async Task ServeLiveAsync(HttpContext context, string? key)
    {
        HttpResponse response = context.Response;
        IHeaderDictionary headers = response.Headers;
        headers.AccessControlAllowOrigin = AllowOriginAny;
        headers.AccessControlExposeHeaders = ExposeHeaders;

        string rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        string? rejection = OriginPath.ValidateRawTarget(rawTarget) ?? OriginPath.Validate(key);
        if (rejection is not null || key is null)
        {
            OriginLog.RejectedPath(_logger, OriginPath.ForLog(rawTarget), rejection ?? "no key");
            response.StatusCode = StatusCodes.Status400BadRequest;
            headers.CacheControl = ErrorCacheControl;
            return;
        }

        // What ingest nodes keep for each other (a broadcast's live state, a recording's journal) is not media.
        if (StoreKeys.IsInternal(key))
        {
            response.StatusCode = StatusCodes.Status404NotFound;
            headers.CacheControl = NotFoundCacheControl;
            return;
        }

        // Public streams pay one set lookup on a span (no allocation); private ones need a token.
        bool isPrivate = _access is not null && _access.IsPrivate(PlaybackGate.StreamOf(key));
        if (isPrivate && !PlaybackGate.Authorize(context, PlaybackGate.StreamOf(key), _access!))
        {
            if (_access!.IsReady) PlaybackGate.Forbid(response);
            else PlaybackGate.NotReady(response);
            return;
        }

        // Unless an edge checks tokens, whatever path answers below (object, range, 304, 404, LL part, growing LL-DASH
        // segment, error) goes out with a viewer-only Cache-Control: one hook for every path, not one per path.
        if (isPrivate && !_edgeValidatesTokens)
        {
            PlaybackGate.KeepViewerOnly(response);
        }

        StoredObject? stored;
        LowLatencyQuery lowLatency = default;
        CancellationToken aborted = context.RequestAborted; // read once: each read is a feature lookup and a lock in Kestrel
        try
        {
            // LL-HLS delivery directives: a blocking reload answers only once the playlist holds what was asked for. Only a
            // query that can name one is parsed: a player's CMCD or a playback token on every reload costs no query parse.
            if (context.Request.QueryString.Value is { } rawQuery && rawQuery.Contains("HLS", StringComparison.OrdinalIgnoreCase)
                && MediaObjectKinds.Classify(key) == MediaObjectKind.HlsPlaylist
                && !await BlockAsync(context, key, out lowLatency).ConfigureAwait(false))
            {
                return;
            }

            // A delta update the packager stored beside a rewind window's playlist, else the playlist. A preload-hinted part is
            // held open until it is written; a delta update made here replaces the playlist body.
            StoredObject? storedDelta = await _lowLatency.StoredDeltaAsync(key, lowLatency, aborted).ConfigureAwait(false);
            stored = storedDelta ?? await _store.GetAsync(key, aborted).ConfigureAwait(false);
            if (stored is null && LowLatencyGate.IsPartKey(key))
            {
                long waitStart = _time.GetTimestamp();
                stored = await _lowLatency.WaitForPartAsync(key, aborted).ConfigureAwait(false);
                long waited = (long)_time.GetElapsedTime(waitStart).TotalMilliseconds;
                if (waited >= SlowLowLatencyWaitMilliseconds) OriginLog.SlowHintedPart(_logger, key, waited,
                    stored is null ? " and was not stored (404)" : "");
            }
            else if (stored is null && HttpMethods.IsGet(context.Request.Method) && MediaObjectKinds.Classify(key) == MediaObjectKind.Segment
                && await _lowLatency.TryStreamGrowingSegmentAsync(context, key).ConfigureAwait(false))
            {
                return;
            }
            else if (stored is not null && lowLatency.Skip && storedDelta is null) stored = _lowLatency.DeltaOf(key, stored);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            OriginLog.StoreReadFailed(_logger, key, ex);
            // 503, not 500: the store is a dependency that comes back; a CDN may retry another origin.
            response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            headers.CacheControl = ErrorCacheControl;
            return;
        }

        if (stored is null)
        {
            // The next segment or a not-yet-started channel: it may exist within a second, so no CDN may keep this.
            response.StatusCode = StatusCodes.Status404NotFound;
            headers.CacheControl = NotFoundCacheControl;
            return;
        }

        MediaObjectKind kind = MediaObjectKinds.Classify(key);
        _audience.Served(context, key, kind);
        if (kind == MediaObjectKind.Other) _thumbnailLooks.Served(key);
        // Content steering: masters and MPDs list every pathway. A private stream's token, when this request brought one,
        // goes into each pathway's URIs (a cookie set here would not reach the other hosts): that copy is this viewer's alone.
        string? steeringToken = null;
        if (_steering is not null && Steering.SteeredManifests.Applies(kind, key))
        {
            if (isPrivate && context.Request.Query.TryGetValue(PlaybackGate.TokenParameter, out StringValues token)
                && token.Count == 1) steeringToken = token[0];
            stored = _steering.Steer(context.Request, key, kind, stored, steeringToken);
        }

        string etag = EntityTags.ToHeaderValue(stored.ETag);
        long length = stored.Data.Length;
        headers.ETag = etag;
        headers.LastModified = _lastModified.Format(stored.LastModified);
        headers.CacheControl = CacheControlFor(stored, kind);
        if (steeringToken is not null && _edgeValidatesTokens) PlaybackGate.KeepViewerOnly(response);
        headers.AcceptRanges = AcceptRangesBytes;
        headers.XContentTypeOptions = NoSniff;

        if (IsNotModified(context.Request.Headers, etag, stored.LastModified))
        {
            // 304 carries the validators and Cache-Control (RFC 9110 15.4.5) but no body or Content-Type.
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        headers.ContentType = string.IsNullOrEmpty(stored.ContentType) ? MediaObjectKinds.ContentTypeFor(key) : stored.ContentType;

        long offset = 0;
        long count = length;
        // Range is defined for GET only; a HEAD ignores it (RFC 9110 14.2).
        if (HttpMethods.IsGet(context.Request.Method) && RangeApplies(context.Request.Headers, etag, stored.LastModified, out string? rangeHeader))
        {
            switch (ByteRangeRequest.Resolve(rangeHeader, length, out offset, out count))
            {
                case RangeOutcome.Unsatisfiable:
                    response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                    headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes */{length}");
                    response.ContentLength = 0;
                    return;
                case RangeOutcome.Partial:
                    response.StatusCode = StatusCodes.Status206PartialContent;
                    headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + count - 1}/{length}");
                    break;
                default:
                    offset = 0;
                    count = length;
                    break;
            }
        }

        response.ContentLength = count;
        if (HttpMethods.IsHead(context.Request.Method) || count == 0)
        {
            return;
        }

        // The store's memory goes to Kestrel's output pipe with one copy and no intermediate array or stream.
        try
        {
            await WriteBodyAsync(response.BodyWriter, stored.Data.Slice((int)offset, (int)count), aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            // The viewer left mid-body; nothing to report.
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

    /// <summary>
    /// Copies a body into the response pipe in chunks of up to <see cref="BodyChunk"/> bytes. PipeWriter.WriteAsync
    /// fills Kestrel's 4 KiB pool blocks one by one (a 636 KB segment: ~155 GetSpan and block rents, then a
    /// 155-entry sendmsg); asking for a larger span gets one buffer per chunk. Each flush wakes the socket sender, so
    /// fewer, larger chunks mean fewer thread hops per response: with 256 KiB chunks a 2 s 720p segment goes out in
    /// three flushes instead of ten, which measured about a fifth less CPU per response (bench/README.md, origin).
    /// Each flush waits until Kestrel's response buffer (its default, 64 KiB) has drained, so one slow connection holds
    /// at most one chunk plus that buffer.
    /// </summary>
    private static async ValueTask WriteBodyAsync(PipeWriter writer, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        if (body.Length <= BodyChunk)
        {
            await writer.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            return;
        }
        while (!body.IsEmpty)
        {
            Memory<byte> target = writer.GetMemory(Math.Min(body.Length, BodyChunk));
            int n = Math.Min(target.Length, body.Length);
            body.Span[..n].CopyTo(target.Span);
            writer.Advance(n);
            body = body[n..];
            FlushResult flushed = await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (flushed.IsCanceled || flushed.IsCompleted) return;
        }
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

    /// <summary>
    /// RFC 9110 13.2.2 order: If-None-Match decides when present (weak comparison, 13.1.2); only without it does
    /// If-Modified-Since apply.
    /// </summary>
    private static bool IsNotModified(IHeaderDictionary request, string etag, DateTimeOffset lastModified)
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
    private static bool RangeApplies(IHeaderDictionary request, string etag, DateTimeOffset lastModified, out string? range)
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

    private static DateTimeOffset TruncateToSeconds(DateTimeOffset value) =>
        new(value.UtcTicks - (value.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
}
